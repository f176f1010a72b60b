package dev.freshcreds;

import dev.freshcreds.internal.MonotonicClock;
import dev.freshcreds.internal.WallClock;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The options of a {@link FreshcredsAgent}, as builder methods. {@link FreshcredsAgent.Builder} and
 * the builders of the SDK credentials providers ({@code FreshcredsV1CredentialsProvider.builder()},
 * {@code FreshcredsV2CredentialsProvider.builder()}) extend this class, so every option is set the
 * same way on each of them:
 *
 * <pre>{@code
 * FreshcredsV2CredentialsProvider credentials = FreshcredsV2CredentialsProvider.builder()
 *         .source("imds")
 *         .loadTimeout(Duration.ofSeconds(10))
 *         .build();
 * }</pre>
 *
 * <p>Options not set are resolved as the AWS SDK for Java resolves them: where an option is an SDK
 * setting, its Java system property, then its environment variable, then its key in the selected
 * profile of the shared config file (all named below) are used, in that order, before the default.
 * The system properties are read when the agent is built.
 *
 * <p>Setters only refuse null, with {@link InvalidConfigurationException} at once, and pass every
 * value through. Native code checks the values when the agent is built (the builders' {@code build()})
 * and throws the same exception, naming the option and what it accepts: ranges, the endpoint URL, the
 * role and source names; the IMDS options ({@code imdsEndpoint}, {@code roleName},
 * {@code attemptTimeout}, {@code maxAttempts}, {@code tokenTtl}) only when IMDS is the source the
 * agent uses. Not thread-safe.
 *
 * @param <B> the builder type every setter returns, for chaining
 */
public abstract class AgentOptions<B extends AgentOptions<B>> {
    /**
     * The AWS SDK for Java's system properties of the settings native code resolves (the
     * {@code Fallback}s of its options table; SDK v2's {@code aws.*} names and SDK v1's own
     * {@code com.amazonaws.sdk.*} ones): each is passed as {@code systemProperties.<name>}, without
     * an {@code aws.} prefix. Native code decides which wins.
     */
    private static final String[] SETTING_PROPERTIES = {
        "aws.ec2MetadataServiceEndpoint",
        "com.amazonaws.sdk.ec2MetadataServiceEndpointOverride",
        "aws.ec2MetadataServiceEndpointMode",
        "aws.ec2MetadataServiceTimeout",
        "aws.disableEc2Metadata",
        "com.amazonaws.sdk.disableEc2Metadata",
        "aws.profile",
        "aws.configFile",
        "aws.sharedCredentialsFile",
    };

    private final Map<String, String> options = new LinkedHashMap<String, String>();
    private MonotonicClock clock = MonotonicClock.SYSTEM;
    private WallClock wallClock = WallClock.SYSTEM;
    private String jmxName;

    /** For the builders that extend this class: no option set. */
    protected AgentOptions() {
    }

    /**
     * Base URL of the instance metadata service: an {@code http} URL with a host (IMDS does not serve
     * https). When not set: the system property {@code aws.ec2MetadataServiceEndpoint} (SDK v1:
     * {@code com.amazonaws.sdk.ec2MetadataServiceEndpointOverride}), else
     * {@code AWS_EC2_METADATA_SERVICE_ENDPOINT}, else the profile key
     * {@code ec2_metadata_service_endpoint}, else {@code http://169.254.169.254}, or
     * {@code http://[fd00:ec2::254]} in IPv6 mode (see {@link #imdsEndpointMode(String)}). An endpoint
     * set in any of these places wins over an endpoint mode set in any of them, as in the SDKs.
     *
     * @param endpoint the base URL, not null; anything but a plain http URL is refused when the agent
     *                 is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code endpoint} is null
     */
    public final B imdsEndpoint(String endpoint) {
        return put("endpoint", requireNonNull("imdsEndpoint", endpoint));
    }

    /**
     * Which default instance metadata endpoint to use when no endpoint is set anywhere:
     * {@code "IPv4"} ({@code http://169.254.169.254}) or {@code "IPv6"} ({@code http://[fd00:ec2::254]}).
     * When not set: the system property {@code aws.ec2MetadataServiceEndpointMode}, else
     * {@code AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE}, else the profile key
     * {@code ec2_metadata_service_endpoint_mode}, else IPv4.
     *
     * @param mode {@code "IPv4"} or {@code "IPv6"} (any case), not null; anything else is refused when
     *             the agent is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code mode} is null
     */
    public final B imdsEndpointMode(String mode) {
        return put("endpointMode", requireNonNull("imdsEndpointMode", mode));
    }

    /**
     * The profile of the shared config and credentials files to use, for credentials (the
     * {@code profile} source) and for the instance metadata settings' profile keys. When not set:
     * the system property {@code aws.profile}, else {@code AWS_PROFILE}, else {@code default}.
     *
     * @param profileName the profile's name, not null
     * @return this builder
     * @throws InvalidConfigurationException if {@code profileName} is null
     */
    public final B profileName(String profileName) {
        return put("profileName", requireNonNull("profileName", profileName));
    }

    /**
     * The shared config file. When not set: the system property {@code aws.configFile}, else
     * {@code AWS_CONFIG_FILE}, else {@code ~/.aws/config}, where {@code ~} is {@code HOME}, else
     * {@code USERPROFILE}, else the system property {@code user.home}.
     *
     * @param file the file, not null; a missing file is no profile
     * @return this builder
     * @throws InvalidConfigurationException if {@code file} is null
     */
    public final B profileFile(Path file) {
        return put("configFile", requireNonNull("profileFile", file).toString());
    }

    /**
     * The shared credentials file. When not set: the system property {@code aws.sharedCredentialsFile},
     * else {@code AWS_SHARED_CREDENTIALS_FILE}, else {@code ~/.aws/credentials} ({@code ~} as for
     * {@link #profileFile(Path)}).
     *
     * @param file the file, not null; a missing file is no profile
     * @return this builder
     * @throws InvalidConfigurationException if {@code file} is null
     */
    public final B credentialsFile(Path file) {
        return put("credentialsFile", requireNonNull("credentialsFile", file).toString());
    }

    /**
     * The instance profile role to take credentials for; by default the first role IMDS lists. A
     * role the instance does not have makes {@link FreshcredsAgent#currentSnapshot()} throw
     * {@link CredentialsUnavailableException}.
     *
     * @param roleName the role name, not null; a blank name, or one with a slash or whitespace, is
     *                 refused when the agent is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code roleName} is null
     */
    public final B roleName(String roleName) {
        return put("roleName", requireNonNull("roleName", roleName));
    }

    /**
     * How long before expiry background refresh starts. By default it depends on the credentials'
     * lifetime: 5 minutes for credentials that live up to 20 minutes, 15 minutes up to 90 minutes, 60
     * minutes beyond. A window shorter than 5 minutes is raised to 5 minutes.
     *
     * @param window the window, millisecond precision, not null; negative is refused when the agent
     *               is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code window} is null
     */
    public final B advisoryWindow(Duration window) {
        return put("advisoryWindowMillis", Long.toString(millis("advisoryWindow", window)));
    }

    /**
     * Timeout of one HTTP attempt against IMDS, connect to last byte; also used for the container
     * credentials endpoint. From 1 ms to 1 hour. When not set, for IMDS: the system property
     * {@code aws.ec2MetadataServiceTimeout}, else {@code AWS_METADATA_SERVICE_TIMEOUT}, else the profile
     * key {@code metadata_service_timeout} (all in seconds, fractions allowed), else 1 s.
     *
     * @param timeout the timeout, millisecond precision, not null; under 1 ms or over 1 hour is
     *                refused when the agent is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code timeout} is null
     */
    public final B attemptTimeout(Duration timeout) {
        return put("attemptTimeoutMillis", Long.toString(millis("attemptTimeout", timeout)));
    }

    /**
     * Attempts per IMDS request, the first one included, from 1 to 20. When not set:
     * {@code AWS_METADATA_SERVICE_NUM_ATTEMPTS}, else the profile key
     * {@code metadata_service_num_attempts}, else 3 (the SDK has no system property for it).
     *
     * @param attempts the number of attempts; outside 1 to 20 is refused when the agent is built
     * @return this builder
     */
    public final B maxAttempts(int attempts) {
        return put("maxAttempts", Integer.toString(attempts));
    }

    /**
     * The deadline for one whole fetch from any source, retries included (default 5 s, or IMDS's own
     * budget when {@code attemptTimeout × maxAttempts} is larger). A fetch past it counts as a failed
     * refresh: the credentials in hand keep being served and the agent retries later.
     *
     * @param timeout the deadline, millisecond precision, not null; under 1 ms is refused when the
     *                agent is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code timeout} is null
     */
    public final B loadTimeout(Duration timeout) {
        return put("loadTimeoutMillis", Long.toString(millis("loadTimeout", timeout)));
    }

    /**
     * TTL requested for IMDSv2 session tokens, from 1 s to 6 hours (the default). The agent renews a
     * token when a tenth of its TTL, at most 5 minutes, is left.
     *
     * @param ttl the TTL, not null; only whole seconds are sent, a fraction is dropped; under 1 s or
     *            over 6 hours is refused when the agent is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code ttl} is null
     */
    public final B tokenTtl(Duration ttl) {
        return put("tokenTtlSeconds", Long.toString(requireNonNull("tokenTtl", ttl).getSeconds()));
    }

    /**
     * Pins the credential source, or gives an order: {@code source("imds")},
     * {@code source("profile", "imds")}. By default SDK v1's order is followed (environment before
     * system properties); the SDK v2 provider's builder sets SDK v2's order (system properties
     * first); {@link #chainOrder(SdkChainOrder)} chooses either. Sources not named are never used.
     *
     * @param sources one or more of {@code environment}, {@code systemProperties},
     *                {@code webIdentity}, {@code profile}, {@code container} and {@code imds}
     *                (case-insensitive), in the order to try them; none, or an unknown name, is
     *                refused when the agent is built
     * @return this builder
     * @throws InvalidConfigurationException if {@code sources} or one of its names is null
     */
    public final B source(String... sources) {
        requireNonNull("source", sources);
        StringBuilder joined = new StringBuilder();
        for (String s : sources) {
            joined.append(joined.length() == 0 ? "" : ",").append(requireNonNull("source", s));
        }
        return put("source", joined.toString());
    }

    /**
     * Tries every source in the default order of one AWS SDK for Java, so that with keys in both
     * the environment and the system properties the agent picks what that SDK would:
     * {@code FreshcredsAgent.builder().chainOrder(SdkChainOrder.SDK_V2)} for an agent that SDK v2
     * clients share. Replaces an earlier {@link #source(String...)}, as a later one replaces it.
     *
     * @param order the SDK whose order to copy
     * @return this builder
     * @throws InvalidConfigurationException if {@code order} is null
     */
    public final B chainOrder(SdkChainOrder order) {
        return source(requireNonNull("chainOrder", order).sources());
    }

    /**
     * Refuse to use IMDS at all (native option {@code imdsDisabled}), including the background check
     * for an instance role that another source shadows. When not set: the system property
     * {@code aws.disableEc2Metadata} (SDK v1: {@code com.amazonaws.sdk.disableEc2Metadata}), else
     * {@code AWS_EC2_METADATA_DISABLED} ({@code true}, any case,
     * disables), else false. With IMDS disabled and no other source configured, building the agent
     * throws {@link InvalidConfigurationException}.
     *
     * @param disabled true to never contact IMDS
     * @return this builder
     */
    public final B imdsDisabled(boolean disabled) {
        return put("imdsDisabled", Boolean.toString(disabled));
    }

    /**
     * Tests and demos only: native code's clock runs {@code scale} times faster than real time,
     * starting at {@code originEpochMillis}, matching a simulator's compressed clock. Never use it
     * against real AWS: expiry would be judged on the wrong time.
     *
     * @param originEpochMillis the instant, epoch milliseconds and not negative, at which native
     *                          code's clock equals the wall clock
     * @param scale             how many times faster than real time native code's clock runs, from 1
     *                          to 1,000,000
     * @return this builder; a scale outside 1 to 1,000,000 (or not a number), or a negative origin,
     *         is refused when the agent is built
     */
    public final B compressedClockForTesting(long originEpochMillis, double scale) {
        put("clock.originEpochMillis", Long.toString(originEpochMillis));
        return put("clock.scale", Double.toString(scale));
    }

    /** Tests only: pass a raw option to native code. */
    final B rawOption(String key, String value) {
        return put(key, value);
    }

    /**
     * Tests only: the monotonic clock used to measure snapshot validity. It must share
     * {@link System#nanoTime()}'s origin (snapshots are stamped with {@link MonotonicClock#SYSTEM}),
     * e.g. the system clock plus an offset that a test advances.
     */
    final B clock(MonotonicClock clock) {
        this.clock = requireNonNull("clock", clock);
        return self();
    }

    /**
     * Tests only: the wall clock that bounds snapshot validity. It must share
     * {@link System#currentTimeMillis()}'s origin (snapshots are stamped with {@link WallClock#SYSTEM}),
     * e.g. the system clock plus an offset that a test advances to play a suspend.
     */
    final B wallClock(WallClock wallClock) {
        this.wallClock = requireNonNull("wallClock", wallClock);
        return self();
    }

    /**
     * Registers the agent's JMX MBean ({@link FreshcredsMXBean}) as
     * {@code dev.freshcreds:type=Agent,name=<name>} in the platform MBean server when the agent is
     * built, and unregisters it when the agent is closed. Default: no MBean.
     *
     * @param name the MBean's name, unique among this JVM's agents
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     */
    public final B jmxName(String name) {
        if (name == null) {
            throw new NullPointerException("name");
        }
        this.jmxName = name;
        return self();
    }

    /**
     * The options as native code takes them ({@code key, value, ...}): this builder's, then the
     * system properties and {@code user.home} that native code resolves settings from.
     */
    final String[] nativeOptions() {
        Map<String, String> withProperties = new LinkedHashMap<String, String>(options);
        // The SDKs' second link: Java system properties, which only Java can read.
        putSystemProperty(withProperties, "systemProperties.accessKeyId", "aws.accessKeyId");
        putSystemProperty(withProperties, "systemProperties.secretAccessKey", "aws.secretAccessKey", "aws.secretKey");
        putSystemProperty(withProperties, "systemProperties.sessionToken", "aws.sessionToken");
        // The SDK settings' system properties: passed as they are, native code decides what wins.
        for (String property : SETTING_PROPERTIES) {
            String name = property.startsWith("aws.") ? property.substring("aws.".length()) : property;
            putSystemProperty(withProperties, "systemProperties." + name, property);
        }
        // The home directory when HOME and USERPROFILE are unset (native code never uses the
        // working directory instead).
        putSystemProperty(withProperties, "homeDirectory", "user.home");
        List<String> flat = new ArrayList<String>(withProperties.size() * 2);
        for (Map.Entry<String, String> e : withProperties.entrySet()) {
            flat.add(e.getKey());
            flat.add(e.getValue());
        }
        return flat.toArray(new String[0]);
    }

    /**
     * Loads the native library if needed and creates an agent with these options, for the builders
     * that extend this class. Does not wait for credentials. Chooses the credential source now,
     * reading the environment, the AWS config files and the Java system properties
     * {@code aws.accessKeyId}, {@code aws.secretAccessKey} (or {@code aws.secretKey}) and
     * {@code aws.sessionToken}; reads the SDK settings' system properties (named on each option) and
     * {@code user.home} and passes them on, for native code to resolve each setting in the SDKs' order.
     *
     * @return a running agent; its owner closes it, as it holds native resources and a daemon thread
     * @throws NativeLibraryUnavailableException if the native library cannot be loaded
     * @throws InvalidConfigurationException     if native code refuses an option, or no credential
     *                                           source is configured
     */
    protected final FreshcredsAgent buildAgent() {
        NativeLibraryLoader.ensureLoaded();
        String[] flat = nativeOptions();
        NativeLogForwarder.updateLevel();
        long handle;
        try {
            handle = NativeAgent.create(flat);
        } finally {
            NativeLogForwarder.drain();
        }
        String endpoint = options.get("endpoint");
        return FreshcredsAgent.start(handle, clock, wallClock,
                "handle=" + handle + ", endpoint=" + (endpoint == null ? "default" : endpoint), jmxName);
    }

    /** Sets an option by its native key, for the doctor's {@code --option key=value}. */
    final B nativeOption(String key, String value) {
        return put(requireNonNull("option key", key), requireNonNull("option value", value));
    }

    private B put(String key, String value) {
        options.put(key, value);
        return self();
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    private static void putSystemProperty(Map<String, String> options, String option, String... properties) {
        for (String property : properties) {
            String value = System.getProperty(property);
            if (value != null && !value.trim().isEmpty() && !options.containsKey(option)) {
                options.put(option, value.trim());
            }
        }
    }

    private static <T> T requireNonNull(String name, T value) {
        if (value == null) {
            throw new InvalidConfigurationException(name + " must not be null");
        }
        return value;
    }

    /** The duration in milliseconds, saturating (a negative one stays negative, for native code to refuse). */
    private static long millis(String name, Duration d) {
        requireNonNull(name, d);
        try {
            return d.toMillis();
        } catch (ArithmeticException e) {
            return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}
