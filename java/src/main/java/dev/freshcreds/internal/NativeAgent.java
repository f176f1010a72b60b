package dev.freshcreds.internal;

import dev.freshcreds.CredentialsSnapshot;

/**
 * The JNI entry points of {@code libfreshcreds_jni}. Internal: applications use the API's
 * {@code FreshcredsAgent}.
 *
 * <p>This class has no static initializer and must only be used after the API's
 * {@code NativeLibraryLoader} has loaded the library. Handles are ids into a native registry, never
 * pointers: a closed, unknown or concurrently closed handle makes every method throw the API's
 * {@code AgentClosedException}, never crash.
 *
 * <p>The signatures below are the JNI contract of DEVELOPERS.md; native symbols are
 * {@code Java_dev_freshcreds_internal_NativeAgent_<method>}. They return the API's
 * {@code CredentialsSnapshot}, which native code constructs: that is the one reference from this
 * package to the API package, fixed by the contract; nothing else here may depend on the API.
 */
public final class NativeAgent {
    private NativeAgent() {
    }

    /** The crate version, e.g. "0.1.0". */
    public static native String nativeVersion();

    /** Creates an agent from {@code key, value, key, value, ...}; unknown keys are refused. */
    public static native long create(String[] options);

    /** The current credentials; may block on the first load or inside the mandatory refresh window. */
    public static native CredentialsSnapshot getCredentials(long handle);

    /** Waits until a snapshot newer than {@code knownGeneration} exists; null on timeout. */
    public static native CredentialsSnapshot awaitSnapshot(long handle, long knownGeneration, long timeoutMillis);

    /** Forces a refresh and returns the result. */
    public static native CredentialsSnapshot refresh(long handle);

    /** Marks the credentials with this access key id as rejected. */
    public static native void invalidate(long handle, String accessKeyId);

    /**
     * Feeds one observation of AWS time: the {@code Date} header of a service response, and when (this
     * host's wall clock) the request was sent and the response received. All epoch milliseconds.
     */
    public static native void recordServerTime(long handle, long serverDateEpochMillis, long requestSentEpochMillis,
                                               long responseReceivedEpochMillis);

    /**
     * The estimated offset, AWS time minus this host's wall clock, in milliseconds (median of recent
     * samples, round-trip aware); 0 before any sample.
     */
    public static native long clockOffsetMillis(long handle);

    /** The credential source that won the chain: environment, systemProperties, profile, container or imds. */
    public static native String sourceName(long handle);

    /** Later configured sources the winner shadows, comma-separated; empty when none. */
    public static native String shadowedSources(long handle);

    /** Agent statistics as JSON; contains no secrets. */
    public static native String statsJson(long handle);

    /** Closes the handle; wakes {@link #awaitSnapshot} with AgentClosedException. */
    public static native void close(long handle);
}
