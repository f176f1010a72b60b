package dev.freshcreds;

import dev.freshcreds.internal.MonotonicClock;
import dev.freshcreds.internal.WallClock;

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
    /** The MBean registered for this agent ({@link AgentOptions#jmxName}), or null. */
    private volatile FreshcredsJmx.Registration jmx;

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
     * Creates the agent for a new native handle, starts its watcher thread and, when
     * {@code jmxName} is not null, registers its MBean (closing the agent if that fails).
     */
    static FreshcredsAgent start(long handle, MonotonicClock clock, WallClock wallClock, String description, String jmxName) {
        FreshcredsAgent agent = new FreshcredsAgent(handle, clock, wallClock, description);
        agent.watcher.start();
        if (jmxName != null) {
            try {
                agent.jmx = FreshcredsJmx.register(agent, jmxName);
            } catch (RuntimeException e) {
                agent.close();
                throw e;
            }
        }
        return agent;
    }

    /**
     * Starts building an agent. With no options set, the agent follows the AWS SDKs' default
     * credential chain and IMDS and profile settings, resolved as the SDK does: Java system property,
     * then environment variable, then profile key (see {@link AgentOptions}).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The credentials to sign with now. Does not call native code or allocate while the last
     * snapshot is valid; may block on the first call and inside the mandatory refresh window, for at
     * most about the load timeout (see {@link AgentOptions#loadTimeout(java.time.Duration)}). Call it for each
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
     * {@link AgentOptions#source(String...)}). It is chosen by {@link Builder#build()} and does not change
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
        FreshcredsJmx.Registration registration = jmx;
        if (registration != null) {
            registration.close();
        }
        try {
            NativeAgent.close(handle);
        } catch (AgentClosedException e) {
            // already closed on the native side: fine
        } finally {
            current.set(null);
            NativeLogForwarder.drain();
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
                CredentialsSnapshot snap;
                try {
                    snap = NativeAgent.awaitSnapshot(handle, known, AWAIT_TIMEOUT_MILLIS);
                } finally {
                    // at least once a second: native log events to the application's logging
                    NativeLogForwarder.drain();
                }
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
     * Builds a {@link FreshcredsAgent}: the options are those of {@link AgentOptions} (shared with the
     * SDK credentials providers' builders). Not thread-safe.
     */
    public static final class Builder extends AgentOptions<Builder> {
        Builder() {
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
            return buildAgent();
        }
    }
}
