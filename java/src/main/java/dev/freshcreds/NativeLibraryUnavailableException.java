package dev.freshcreds;

/**
 * The native library {@code libfreshcreds_jni} could not be loaded, or its version does not
 * match this jar. The message lists every attempt that was made and how to fix it.
 *
 * <p>Thrown by {@link FreshcredsAgent.Builder#build()} and {@link NativeLibraryLoader#ensureLoaded()}.
 * The failure is remembered, so every later attempt in the same JVM throws it again; fix the
 * deployment (see {@link NativeLibraryLoader}) and restart.
 */
public class NativeLibraryUnavailableException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception with a message and no cause.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     */
    public NativeLibraryUnavailableException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a message and the failure that caused it.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     * @param cause   the underlying failure, or null when there is none
     */
    public NativeLibraryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
