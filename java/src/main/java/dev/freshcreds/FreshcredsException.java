package dev.freshcreds;

/**
 * Base class of every exception freshcreds throws. It is unchecked so that an AWS SDK credentials
 * provider chain can catch it and move on to the next provider.
 *
 * <p>Native code throws this class itself for errors that have no more specific type, including a
 * caught panic. No message of any freshcreds exception ever contains a secret access key or a
 * session token.
 */
public class FreshcredsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception with a message and no cause.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     */
    public FreshcredsException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a message and the failure that caused it.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     * @param cause   the underlying failure, or null when there is none
     */
    public FreshcredsException(String message, Throwable cause) {
        super(message, cause);
    }
}
