package dev.freshcreds;

import dev.freshcreds.internal.CredentialsSnapshot;
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
 * <p>{@link #build()} does not wait for credentials; the first {@link #currentSnapshot()} does.
 * After {@link #close()} every method throws {@link AgentClosedException}.
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

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The credentials to sign with now. Does not call native code or allocate while the last
     * snapshot is valid; may block on the first call and inside the mandatory refresh window.
     *
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
     * Forces native code to fetch new credentials now and returns them.
     *
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
     * {@link #currentSnapshot()} asks native code instead of using them. Native code ignores a key
     * other than the one it holds, so reporting an old key after a rotation costs nothing.
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
     * same key, there is one refresh. Does not block.
     *
     * @throws AgentClosedException after {@link #close()}
     */
    public void invalidateAndRefresh(String accessKeyId) {
        invalidate(accessKeyId);
    }

    /**
     * Feeds one observation of AWS time to the clock-skew estimate: the {@code Date} header of a
     * service response, and when, on this host's wall clock, the request was sent and its response
     * received (all epoch milliseconds). Native code drops samples with a negative or overlong round
     * trip.
     *
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
     * The credential source that won the default chain (in the SDKs' order): {@code environment},
     * {@code systemProperties}, {@code profile}, {@code container} or {@code imds}.
     *
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

    /** Agent statistics from native code as JSON; contains no secrets. */
    public String statsJson() {
        ensureOpen();
        try {
            return NativeAgent.statsJson(handle);
        } catch (AgentClosedException e) {
            throw closedException(e);
        }
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Closes the native agent and stops the watcher thread. Idempotent. */
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

    /** Builds a {@link FreshcredsAgent}. Options not set are left to native defaults. */
    public static final class Builder {
        private final Map<String, String> options = new LinkedHashMap<String, String>();
        private MonotonicClock clock = MonotonicClock.SYSTEM;
        private WallClock wallClock = WallClock.SYSTEM;

        Builder() {
        }

        /** Base URL of the instance metadata service, e.g. {@code http://169.254.169.254}. */
        public Builder imdsEndpoint(String endpoint) {
            options.put("endpoint", requireNonBlank("imdsEndpoint", endpoint));
            return this;
        }

        /** The instance profile role; by default the first role IMDS lists. */
        public Builder roleName(String roleName) {
            options.put("roleName", requireNonBlank("roleName", roleName));
            return this;
        }

        /** How long before expiry background refresh starts. */
        public Builder advisoryWindow(Duration window) {
            options.put("advisoryWindowMillis", Long.toString(nonNegativeMillis("advisoryWindow", window)));
            return this;
        }

        /** Timeout of one HTTP attempt against IMDS. */
        public Builder attemptTimeout(Duration timeout) {
            long millis = nonNegativeMillis("attemptTimeout", timeout);
            if (millis == 0) {
                throw new InvalidConfigurationException("attemptTimeout must be positive, got " + timeout);
            }
            options.put("attemptTimeoutMillis", Long.toString(millis));
            return this;
        }

        /** Attempts per fetch, at least 1. */
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
         */
        public Builder loadTimeout(Duration timeout) {
            long millis = nonNegativeMillis("loadTimeout", timeout);
            if (millis == 0) {
                throw new InvalidConfigurationException("loadTimeout must be positive, got " + timeout);
            }
            options.put("loadTimeoutMillis", Long.toString(millis));
            return this;
        }

        /** TTL requested for IMDSv2 session tokens (whole seconds). */
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
         * {@code source("profile", "imds")}. By default the SDKs' chain is followed.
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

        /** Refuse to use IMDS at all (native option {@code imdsDisabled}). */
        public Builder imdsDisabled(boolean disabled) {
            options.put("imdsDisabled", Boolean.toString(disabled));
            return this;
        }

        /**
         * Tests and demos only: native code's clock runs {@code scale} times faster than real time,
         * starting at {@code originEpochMillis}, matching a simulator's compressed clock.
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
         *
         * @throws NativeLibraryUnavailableException if the native library cannot be loaded
         * @throws InvalidConfigurationException     if native code refuses an option
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
