package dev.freshcreds;

import dev.freshcreds.internal.MonotonicClock;
import dev.freshcreds.internal.NativeAgent;
import dev.freshcreds.internal.WallClock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Owns one native freshcreds agent: instance-metadata credentials, refreshed ahead of expiry by
 * native code.
 *
 * <p>{@link #currentSnapshot()} is the hot path: while the last snapshot is inside its validity period
 * (measured with a monotonic clock, and bounded by a wall-clock deadline as well, because the
 * monotonic clock stops while the machine is suspended) it returns it without calling native code
 * and without allocating. Otherwise it asks native code, which blocks only for the first load or inside the
 * mandatory refresh window. A daemon thread waits on native code for newer snapshots and publishes
 * them, so callers normally never block.
 *
 * <p>{@link Builder#build()} does not wait for credentials; the first {@link #currentSnapshot()} does.
 * After {@link #close()} every method throws {@link AgentClosedException}.
 *
 * <p>Thread-safe. One agent is meant to serve a whole application: share it between threads and
 * SDK clients (see {@code dev.freshcreds.sdkv1} and {@code dev.freshcreds.sdkv2}), and close it when
 * the application shuts down.
 *
 * <pre>{@code
 * try (FreshcredsAgent agent = FreshcredsAgent.builder().build()) {
 *     CredentialsSnapshot credentials = agent.currentSnapshot();
 *     // sign with credentials.accessKeyId(), secretAccessKey(), sessionToken()
 * }
 * }</pre>
 */
public final class FreshcredsAgent implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(FreshcredsAgent.class.getName());
    private static final AtomicInteger WATCHER_IDS = new AtomicInteger();
    private static final long AWAIT_TIMEOUT_MILLIS = 1000;
    private static final String CLOSED_MESSAGE = "this FreshcredsAgent was closed; build a new one";

    private final long handle;
    private final MonotonicClock clock;
    private final WallClock wallClock;
    private final String description;
    private final AtomicReference<CredentialsSnapshot> current = new AtomicReference<CredentialsSnapshot>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /**
     * Counts invalidations. A snapshot obtained from native code before an invalidation is never
     * installed as {@link #current} after it (see {@link #publish}), so a watcher or caller that raced
     * with {@link #invalidate} cannot put rejected credentials back.
     */
    private final AtomicLong invalidations = new AtomicLong();
    private final Thread watcher;

    private FreshcredsAgent(long handle, MonotonicClock clock, WallClock wallClock, String description) {
        this.handle = handle;
        this.clock = clock;
        this.wallClock = wallClock;
        this.description = description;
        this.watcher = new Thread(new Runnable() {
            @Override
            public void run() {
                watch();
            }
        }, "freshcreds-snapshot-watcher-" + WATCHER_IDS.incrementAndGet());
        this.watcher.setDaemon(true);
    }

    /**
     * Starts building an agent. With no options set, the agent follows the AWS SDKs' default
     * credential chain and IMDS settings, including their environment variables.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The credentials to sign with now. Does not call native code or allocate while the last
     * snapshot is valid; may block on the first call and inside the mandatory refresh window, for at
     * most about the load timeout (see {@link Builder#loadTimeout(Duration)}). Call it for each
     * request instead of keeping the result.
     *
     * @return the current snapshot, never null; the same object on every call while it stays valid
     * @throws CredentialsUnavailableException if credentials could not be fetched
     * @throws AgentClosedException            after {@link #close()}
     */
    public CredentialsSnapshot currentSnapshot() {
        if (closed.get()) {
            throw closedException(null);
        }
        CredentialsSnapshot snap = current.get();
        if (snap != null && usable(snap)) {
            return snap;
        }
        long epoch = invalidations.get();
        CredentialsSnapshot fresh;
        try {
            fresh = NativeAgent.getCredentials(handle);
        } catch (FreshcredsException e) {
            throw closedOr(e);
        }
        return publish(fresh, epoch);
    }

    /**
     * Forces native code to fetch new credentials now and returns them. Blocks until the fetch ends,
     * for at most about the load timeout. Rarely needed: the agent refreshes ahead of expiry by itself,
     * and {@link #invalidate(String)} is the way to report credentials AWS rejected.
     *
     * @return the snapshot after the refresh, never null
     * @throws CredentialsUnavailableException if the refresh failed
     * @throws AgentClosedException            after {@link #close()}
     */
    public CredentialsSnapshot refresh() {
        ensureOpen();
        long epoch = invalidations.get();
        CredentialsSnapshot fresh;
        try {
            fresh = NativeAgent.refresh(handle);
        } catch (FreshcredsException e) {
            throw closedOr(e);
        }
        return publish(fresh, epoch);
    }

    /**
     * Tells the agent a service rejected the credentials with this access key id; the next
     * {@link #currentSnapshot()} asks native code instead of using them, and the background refresher
     * starts fetching new ones at once. Native code ignores a key other than the one it holds, so
     * reporting an old key after a rotation costs nothing. Does not block. The SDK hooks call this for
     * you; call it yourself only when you sign requests without them.
     *
     * @param accessKeyId the access key id of the rejected credentials, e.g. read from the failed
     *                    request's {@code Authorization} header; not null
     * @throws InvalidConfigurationException if {@code accessKeyId} is null
     * @throws AgentClosedException          after {@link #close()}
     */
    public void invalidate(String accessKeyId) {
        ensureOpen();
        if (accessKeyId == null) {
            throw new InvalidConfigurationException("accessKeyId must not be null");
        }
        try {
            NativeAgent.invalidate(handle, accessKeyId);
        } catch (AgentClosedException e) {
            throw closedException(e);
        }
        invalidations.incrementAndGet();
        CredentialsSnapshot snap = current.get();
        if (snap != null && accessKeyId.equals(snap.accessKeyId())) {
            current.compareAndSet(snap, null);
        }
    }

    /**
     * A service rejected the credentials with this access key id (e.g. {@code ExpiredToken} after the
     * session was revoked): invalidates them and makes the next {@link #currentSnapshot()} fetch new
     * ones. The native invalidation also wakes the background refresher, which starts that fetch at
     * once; callers arriving meanwhile share it (single flight), so however many requests report the
     * same key, there is one refresh. Does not block. Currently the same as
     * {@link #invalidate(String)}, which wakes the refresher too.
     *
     * @param accessKeyId the access key id of the rejected credentials; not null
     * @throws InvalidConfigurationException if {@code accessKeyId} is null
     * @throws AgentClosedException          after {@link #close()}
     */
    public void invalidateAndRefresh(String accessKeyId) {
        invalidate(accessKeyId);
    }

    /**
     * Feeds one observation of AWS time to the clock-skew estimate: the {@code Date} header of a
     * service response, and when, on this host's wall clock, the request was sent and its response
     * received (all epoch milliseconds). Native code drops samples with a negative or overlong round
     * trip. The SDK hooks call this for every response; call it yourself only for requests sent
     * without them.
     *
     * @param serverDateEpochMillis       the response's {@code Date} header, epoch milliseconds
     * @param requestSentEpochMillis      when the request was sent, on this host's wall clock
     * @param responseReceivedEpochMillis when the response was received, on this host's wall clock
     * @throws InvalidConfigurationException if a time is before 1970
     * @throws AgentClosedException          after {@link #close()}
     */
    public void recordServerTime(long serverDateEpochMillis, long requestSentEpochMillis, long responseReceivedEpochMillis) {
        ensureOpen();
        try {
            NativeAgent.recordServerTime(handle, serverDateEpochMillis, requestSentEpochMillis, responseReceivedEpochMillis);
        } catch (FreshcredsException e) {
            throw closedOr(e);
        }
    }

    /**
     * The estimated clock offset, AWS time minus this host's wall clock, in milliseconds: the median of
     * recent samples from IMDS and from the SDK hooks' responses; 0 before any sample. Positive means
     * this host's clock is behind AWS.
     *
     * @return AWS time minus this host's wall clock, in milliseconds; 0 before any sample
     * @throws AgentClosedException after {@link #close()}
     */
    public long clockOffsetMillis() {
        ensureOpen();
        try {
            return NativeAgent.clockOffsetMillis(handle);
        } catch (FreshcredsException e) {
            throw closedOr(e);
        }
    }

    /**
     * The credential source that won the chain (by default in the SDKs' order, or the order given to
     * {@link Builder#source(String...)}). It is chosen by {@link Builder#build()} and does not change
     * during the agent's life.
     *
     * @return {@code environment}, {@code systemProperties}, {@code webIdentity}, {@code profile},
     *         {@code container} or {@code imds}
     * @throws AgentClosedException after {@link #close()}
     */
    public String source() {
        ensureOpen();
        try {
            return NativeAgent.sourceName(handle);
        } catch (FreshcredsException e) {
            throw closedOr(e);
        }
    }

    /**
     * Later sources in the chain that are configured too and so are shadowed by {@link #source()};
     * {@code imds} appears once a background check found an instance role. The AWS article's
     * pitfall: old keys in the environment or a file silently winning over the instance role.
     *
     * @return the shadowed sources' names (as {@link #source()} names them), never null; empty when
     *         none
     * @throws AgentClosedException after {@link #close()}
     */
    public java.util.List<String> shadowed() {
        ensureOpen();
        String names;
        try {
            names = NativeAgent.shadowedSources(handle);
        } catch (FreshcredsException e) {
            throw closedOr(e);
        }
        return names.isEmpty() ? java.util.Collections.<String>emptyList() : java.util.Arrays.asList(names.split(","));
    }

    /**
     * Agent statistics from native code as JSON, for logs and diagnostics: the source, refresh and
     * failure counters, IMDS request counts, the current generation, an abbreviated access key id,
     * the expiration, the last error and the clock-skew estimate. Contains no secrets.
     *
     * @return one JSON object
     * @throws AgentClosedException after {@link #close()}
     */
    public String statsJson() {
        ensureOpen();
        try {
            return NativeAgent.statsJson(handle);
        } catch (AgentClosedException e) {
            throw closedException(e);
        }
    }

    /**
     * Whether {@link #close()} has been called. A closed agent cannot be reopened.
     *
     * @return true once {@link #close()} has been called on any thread
     */
    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Closes the native agent and stops the watcher thread, waiting up to about 3 s for it. Calls
     * blocked in native code on other threads, and every later call, throw {@link AgentClosedException}.
     * Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            NativeAgent.close(handle);
        } catch (AgentClosedException e) {
            // already closed on the native side: fine
        } finally {
            current.set(null);
            if (Thread.currentThread() != watcher) {
                try {
                    watcher.join(TimeUnit.SECONDS.toMillis(2) + AWAIT_TIMEOUT_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public String toString() {
        return "FreshcredsAgent{" + description + (closed.get() ? ", closed" : "") + "}";
    }

    /** For tests: the native handle id. */
    long handleForTesting() {
        return handle;
    }

    /** For tests: the watcher thread. */
    Thread watcherForTesting() {
        return watcher;
    }

    /** Whether {@code snap} may be handed out without native code: on both clocks, see {@link CredentialsSnapshot}. */
    private boolean usable(CredentialsSnapshot snap) {
        return snap.isUsableAt(clock.nanoTime(), wallClock.currentTimeMillis());
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw closedException(null);
        }
    }

    /** After close, whatever native code threw is reported as AgentClosedException. */
    private FreshcredsException closedOr(FreshcredsException e) {
        if (e instanceof AgentClosedException || closed.get()) {
            return closedException(e);
        }
        return e;
    }

    private static AgentClosedException closedException(Throwable cause) {
        return cause == null ? new AgentClosedException(CLOSED_MESSAGE) : new AgentClosedException(CLOSED_MESSAGE, cause);
    }

    /**
     * Publishes {@code fresh} unless the published snapshot is of a newer generation, or of the same
     * generation and still usable (then the published object is kept, so callers see one stable
     * object per snapshot), or an invalidation happened since {@code epoch} was read (native code
     * handed {@code fresh} out before it; the caller may use it once, but it is not cached). Returns the
     * snapshot the caller should use.
     */
    private CredentialsSnapshot publish(CredentialsSnapshot fresh, long epoch) {
        if (fresh == null) {
            throw new FreshcredsException("native code returned no credentials");
        }
        while (true) {
            CredentialsSnapshot cur = current.get();
            if (cur != null && cur.generation() >= fresh.generation() && usable(cur)) {
                return cur;
            }
            if (cur != null && cur.generation() > fresh.generation()) {
                // a newer generation is out but due for native code again: use what native code just gave
                return fresh;
            }
            if (closed.get() || invalidations.get() != epoch) {
                return fresh;
            }
            if (current.compareAndSet(cur, fresh)) {
                if (invalidations.get() != epoch) {
                    // an invalidation raced with the install: take it back, native code decides again
                    current.compareAndSet(fresh, null);
                }
                return fresh;
            }
        }
    }

    private void watch() {
        long known = 0;
        int consecutiveErrors = 0;
        while (!closed.get()) {
            try {
                long epoch = invalidations.get();
                CredentialsSnapshot snap = NativeAgent.awaitSnapshot(handle, known, AWAIT_TIMEOUT_MILLIS);
                consecutiveErrors = 0;
                if (snap != null) {
                    if (snap.generation() > known) {
                        known = snap.generation();
                    }
                    publish(snap, epoch);
                }
            } catch (AgentClosedException e) {
                return;
            } catch (RuntimeException e) {
                consecutiveErrors++;
                LOG.log(consecutiveErrors == 1 ? Level.WARNING : Level.FINE,
                        "freshcreds snapshot watcher: " + e.getClass().getName() + ": " + e.getMessage());
                try {
                    Thread.sleep(Math.min(1000L * consecutiveErrors, 5000L));
                } catch (InterruptedException ie) {
                    if (closed.get()) {
                        return;
                    }
                }
            }
        }
    }

    /**
     * Builds a {@link FreshcredsAgent}. Options not set are left to native defaults, which follow the
     * AWS SDKs: where an option has an SDK environment variable (named below), that variable is used
     * when the option is not set.
     *
     * <p>Setters check what Java can (null, blank, negative) and throw
     * {@link InvalidConfigurationException} at once; ranges, the endpoint URL and source names are
     * checked by native code in {@link #build()}, which throws the same exception; the ranges of the
     * IMDS options only when IMDS is the source the agent uses. Not thread-safe.
     */
    public static final class Builder {
        private final Map<String, String> options = new LinkedHashMap<String, String>();
        private MonotonicClock clock = MonotonicClock.SYSTEM;
        private WallClock wallClock = WallClock.SYSTEM;

        Builder() {
        }

        /**
         * Base URL of the instance metadata service: an {@code http} URL with a host (IMDS does not
         * serve https). Default: {@code AWS_EC2_METADATA_SERVICE_ENDPOINT}, else
         * {@code http://169.254.169.254}; use {@code http://[fd00:ec2::254]} for IPv6.
         *
         * @param endpoint the base URL, not null or blank
         * @return this builder
         * @throws InvalidConfigurationException if {@code endpoint} is null or blank; a URL that is not
         *                                       plain http is refused by {@link #build()}
         */
        public Builder imdsEndpoint(String endpoint) {
            options.put("endpoint", requireNonBlank("imdsEndpoint", endpoint));
            return this;
        }

        /**
         * The instance profile role to take credentials for; by default the first role IMDS lists.
         * A role the instance does not have makes {@link FreshcredsAgent#currentSnapshot()} throw
         * {@link CredentialsUnavailableException}.
         *
         * @param roleName the role name, not null or blank
         * @return this builder
         * @throws InvalidConfigurationException if {@code roleName} is null or blank
         */
        public Builder roleName(String roleName) {
            options.put("roleName", requireNonBlank("roleName", roleName));
            return this;
        }

        /**
         * How long before expiry background refresh starts. By default it depends on the credentials'
         * lifetime: 5 minutes for credentials that live up to 20 minutes, 15 minutes up to 90 minutes,
         * 60 minutes beyond. A window shorter than 5 minutes is raised to 5 minutes.
         *
         * @param window the window, millisecond precision; not null or negative
         * @return this builder
         * @throws InvalidConfigurationException if {@code window} is null or negative
         */
        public Builder advisoryWindow(Duration window) {
            options.put("advisoryWindowMillis", Long.toString(nonNegativeMillis("advisoryWindow", window)));
            return this;
        }

        /**
         * Timeout of one HTTP attempt against IMDS, connect to last byte; also used for the container
         * credentials endpoint. From 1 ms to 1 hour. Default: {@code AWS_METADATA_SERVICE_TIMEOUT}
         * (seconds), else 1 s.
         *
         * @param timeout the timeout, millisecond precision
         * @return this builder
         * @throws InvalidConfigurationException if {@code timeout} is null or under 1 ms; over 1 hour
         *                                       is refused by {@link #build()}
         */
        public Builder attemptTimeout(Duration timeout) {
            long millis = nonNegativeMillis("attemptTimeout", timeout);
            if (millis == 0) {
                throw new InvalidConfigurationException("attemptTimeout must be positive, got " + timeout);
            }
            options.put("attemptTimeoutMillis", Long.toString(millis));
            return this;
        }

        /**
         * Attempts per IMDS request, the first one included, from 1 to 20. Default:
         * {@code AWS_METADATA_SERVICE_NUM_ATTEMPTS}, else 3.
         *
         * @param attempts the number of attempts
         * @return this builder
         * @throws InvalidConfigurationException if {@code attempts} is less than 1; more than 20 is
         *                                       refused by {@link #build()}
         */
        public Builder maxAttempts(int attempts) {
            if (attempts < 1) {
                throw new InvalidConfigurationException("maxAttempts must be at least 1, got " + attempts);
            }
            options.put("maxAttempts", Integer.toString(attempts));
            return this;
        }

        /**
         * The deadline for one whole fetch from any source, retries included (default 5 s, or IMDS's
         * own budget when {@code attemptTimeout × maxAttempts} is larger). A fetch past it counts as a
         * failed refresh: the credentials in hand keep being served and the agent retries later.
         *
         * @param timeout the deadline, millisecond precision
         * @return this builder
         * @throws InvalidConfigurationException if {@code timeout} is null or under 1 ms
         */
        public Builder loadTimeout(Duration timeout) {
            long millis = nonNegativeMillis("loadTimeout", timeout);
            if (millis == 0) {
                throw new InvalidConfigurationException("loadTimeout must be positive, got " + timeout);
            }
            options.put("loadTimeoutMillis", Long.toString(millis));
            return this;
        }

        /**
         * TTL requested for IMDSv2 session tokens, from 1 s to 6 hours (the default). The agent renews
         * a token when a tenth of its TTL, at most 5 minutes, is left.
         *
         * @param ttl the TTL; only whole seconds are sent, a fraction is dropped
         * @return this builder
         * @throws InvalidConfigurationException if {@code ttl} is null, zero or negative; under 1 s or
         *                                       over 6 hours is refused by {@link #build()}
         */
        public Builder tokenTtl(Duration ttl) {
            if (ttl == null) {
                throw new InvalidConfigurationException("tokenTtl must not be null");
            }
            if (ttl.isNegative() || ttl.isZero()) {
                throw new InvalidConfigurationException("tokenTtl must be positive, got " + ttl);
            }
            options.put("tokenTtlSeconds", Long.toString(ttl.getSeconds()));
            return this;
        }

        /**
         * Pins the credential source, or gives an order: {@code source("imds")},
         * {@code source("profile", "imds")}. By default the SDKs' chain is followed. Sources not
         * named are never used.
         *
         * @param sources one or more of {@code environment}, {@code systemProperties},
         *                {@code webIdentity}, {@code profile}, {@code container} and {@code imds}
         *                (case-insensitive), in the order to try them
         * @return this builder
         * @throws InvalidConfigurationException if no name is given or one is null or blank; an
         *                                       unknown name is refused by {@link #build()}
         */
        public Builder source(String... sources) {
            if (sources == null || sources.length == 0) {
                throw new InvalidConfigurationException("source needs at least one name, e.g. imds");
            }
            StringBuilder joined = new StringBuilder();
            for (String s : sources) {
                joined.append(joined.length() == 0 ? "" : ",").append(requireNonBlank("source", s));
            }
            options.put("source", joined.toString());
            return this;
        }

        /**
         * Refuse to use IMDS at all (native option {@code imdsDisabled}), including the background
         * check for an instance role that another source shadows. Default:
         * {@code AWS_EC2_METADATA_DISABLED=true}, else false. With IMDS disabled and no other source
         * configured, {@link #build()} throws {@link InvalidConfigurationException}.
         *
         * @param disabled true to never contact IMDS
         * @return this builder
         */
        public Builder imdsDisabled(boolean disabled) {
            options.put("imdsDisabled", Boolean.toString(disabled));
            return this;
        }

        /**
         * Tests and demos only: native code's clock runs {@code scale} times faster than real time,
         * starting at {@code originEpochMillis}, matching a simulator's compressed clock. Never use it
         * against real AWS: expiry would be judged on the wrong time.
         *
         * @param originEpochMillis the instant, epoch milliseconds and not negative, at which native
         *                          code's clock equals the wall clock
         * @param scale             how many times faster than real time native code's clock runs,
         *                          from 1 to 1,000,000
         * @return this builder
         * @throws InvalidConfigurationException if {@code scale} is not a positive finite number; a
         *                                       scale below 1 or above 1,000,000, or a negative origin,
         *                                       is refused by {@link #build()}
         */
        public Builder compressedClockForTesting(long originEpochMillis, double scale) {
            if (!(scale > 0) || Double.isInfinite(scale)) {
                throw new InvalidConfigurationException("clock scale must be a positive finite number, got " + scale);
            }
            options.put("clock.originEpochMillis", Long.toString(originEpochMillis));
            options.put("clock.scale", Double.toString(scale));
            return this;
        }

        /** Tests only: pass a raw option to native code. */
        Builder rawOption(String key, String value) {
            options.put(key, value);
            return this;
        }

        /**
         * Tests only: the monotonic clock used to measure snapshot validity. It must share
         * {@link System#nanoTime()}'s origin (snapshots are stamped with {@link MonotonicClock#SYSTEM}),
         * e.g. the system clock plus an offset that a test advances.
         */
        Builder clock(MonotonicClock clock) {
            if (clock == null) {
                throw new InvalidConfigurationException("clock must not be null");
            }
            this.clock = clock;
            return this;
        }

        /**
         * Tests only: the wall clock that bounds snapshot validity. It must share
         * {@link System#currentTimeMillis()}'s origin (snapshots are stamped with {@link WallClock#SYSTEM}),
         * e.g. the system clock plus an offset that a test advances to play a suspend.
         */
        Builder wallClock(WallClock wallClock) {
            if (wallClock == null) {
                throw new InvalidConfigurationException("wallClock must not be null");
            }
            this.wallClock = wallClock;
            return this;
        }

        /**
         * Loads the native library if needed and creates the agent. Does not wait for credentials.
         * Chooses the credential source now, reading the environment, the AWS config files and the
         * Java system properties {@code aws.accessKeyId}, {@code aws.secretAccessKey} (or
         * {@code aws.secretKey}) and {@code aws.sessionToken}.
         *
         * @return a running agent; close it when done, as it holds native resources and a daemon thread
         * @throws NativeLibraryUnavailableException if the native library cannot be loaded
         * @throws InvalidConfigurationException     if native code refuses an option, or no credential
         *                                           source is configured
         */
        public FreshcredsAgent build() {
            NativeLibraryLoader.ensureLoaded();
            // The SDKs' second link: Java system properties, which only Java can read.
            putSystemProperty("systemProperties.accessKeyId", "aws.accessKeyId");
            putSystemProperty("systemProperties.secretAccessKey", "aws.secretAccessKey", "aws.secretKey");
            putSystemProperty("systemProperties.sessionToken", "aws.sessionToken");
            List<String> flat = new ArrayList<String>(options.size() * 2);
            for (Map.Entry<String, String> e : options.entrySet()) {
                flat.add(e.getKey());
                flat.add(e.getValue());
            }
            long handle = NativeAgent.create(flat.toArray(new String[0]));
            String endpoint = options.get("endpoint");
            FreshcredsAgent agent = new FreshcredsAgent(handle, clock, wallClock,
                    "handle=" + handle + ", endpoint=" + (endpoint == null ? "default" : endpoint));
            agent.watcher.start();
            return agent;
        }

        private void putSystemProperty(String option, String... properties) {
            for (String property : properties) {
                String value = System.getProperty(property);
                if (value != null && !value.trim().isEmpty() && !options.containsKey(option)) {
                    options.put(option, value.trim());
                }
            }
        }

        private static String requireNonBlank(String name, String value) {
            if (value == null || value.trim().isEmpty()) {
                throw new InvalidConfigurationException(name + " must not be null or blank");
            }
            return value;
        }

        private static long nonNegativeMillis(String name, Duration d) {
            if (d == null) {
                throw new InvalidConfigurationException(name + " must not be null");
            }
            if (d.isNegative()) {
                throw new InvalidConfigurationException(name + " must not be negative, got " + d);
            }
            return d.toMillis();
        }
    }
}
