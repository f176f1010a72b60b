package dev.freshcreds;

/**
 * The native library {@code libfreshcreds_jni} could not be loaded, or its version does not
 * match this jar. The message lists every attempt that was made and how to fix it.
 */
public class NativeLibraryUnavailableException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    public NativeLibraryUnavailableException(String message) {
        super(message);
    }

    public NativeLibraryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
