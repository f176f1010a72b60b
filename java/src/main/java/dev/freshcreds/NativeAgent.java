package dev.freshcreds;

/**
 * The JNI entry points of {@code libfreshcreds_jni}: package-private, so only this package's
 * {@link FreshcredsAgent} and {@link NativeLibraryLoader} call them, and they are neither API nor
 * visible to applications (JNI ignores Java access).
 *
 * <p>This class has no static initializer and must only be used after {@link NativeLibraryLoader}
 * has loaded the library. Handles are ids into a native registry, never pointers: a closed, unknown
 * or concurrently closed handle makes every method throw {@link AgentClosedException}, never crash.
 *
 * <p>The signatures below are the JNI contract of DEVELOPERS.md; native symbols are
 * {@code Java_dev_freshcreds_NativeAgent_<method>}. A test in freshcreds-jni
 * ({@code tests/native_contract.rs}) fails when they and the Rust side disagree.
 */
final class NativeAgent {
    private NativeAgent() {
    }

    /** The crate version, e.g. "0.1.0". */
    static native String nativeVersion();

    /** Creates an agent from {@code key, value, key, value, ...}; unknown keys are refused. */
    static native long create(String[] options);

    /** The current credentials; may block on the first load or inside the mandatory refresh window. */
    static native CredentialsSnapshot getCredentials(long handle);

    /** Waits until a snapshot newer than {@code knownGeneration} exists; null on timeout. */
    static native CredentialsSnapshot awaitSnapshot(long handle, long knownGeneration, long timeoutMillis);

    /** Forces a refresh and returns the result. */
    static native CredentialsSnapshot refresh(long handle);

    /** Marks the credentials with this access key id as rejected. */
    static native void invalidate(long handle, String accessKeyId);

    /**
     * Feeds one observation of AWS time: the {@code Date} header of a service response, and when (this
     * host's wall clock) the request was sent and the response received. All epoch milliseconds.
     */
    static native void recordServerTime(long handle, long serverDateEpochMillis, long requestSentEpochMillis,
                                               long responseReceivedEpochMillis);

    /**
     * The estimated offset, AWS time minus this host's wall clock, in milliseconds (median of recent
     * samples, round-trip aware); 0 before any sample.
     */
    static native long clockOffsetMillis(long handle);

    /** The credential source that won the chain: environment, systemProperties, profile, container or imds. */
    static native String sourceName(long handle);

    /** Later configured sources the winner shadows, comma-separated; empty when none. */
    static native String shadowedSources(long handle);

    /**
     * Runs the doctor's checks with these agent options ({@code key, value, ...}, as for
     * {@link #create}) and doctor settings ({@code json}, {@code callSts}, {@code stsEndpoint},
     * {@code root}, {@code http.proxyHost}, ...); returns {@code {exit code, report}}.
     */
    static native String[] doctor(String[] options, String[] settings);

    /**
     * Sets the most verbose native log level recorded for Java: 0 off, 1 error, 2 warn, 3 info, 4 debug,
     * 5 trace. Process-wide, no handle.
     */
    static native void setLogLevel(int level);

    /**
     * Takes up to {@code max} queued native log events, oldest first, flattened as
     * {@code level, target, message} triples (level: ERROR, WARN, INFO, DEBUG or TRACE). Process-wide.
     */
    static native String[] drainLogEvents(int max);

    /** How many native log events were formatted for Java since the library was loaded; for tests. */
    static native long formattedLogEvents();

    /** Agent statistics as JSON; contains no secrets. */
    static native String statsJson(long handle);

    /** Closes the handle; wakes {@link #awaitSnapshot} with AgentClosedException. */
    static native void close(long handle);
}
