package dev.freshcreds;

/**
 * An option given to the agent builder is invalid or unknown, or an argument is out of range.
 *
 * <p>Builder methods throw it at once for what Java can check (null, blank, negative);
 * {@link FreshcredsAgent.Builder#build()} throws it for what native code checks (ranges, the endpoint
 * URL, source names) and when no credential source is configured. A few agent methods throw it for an
 * invalid argument. Retrying does not help: fix the configuration or the call.
 */
public class InvalidConfigurationException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception with a message and no cause.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     */
    public InvalidConfigurationException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a message and the failure that caused it.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     * @param cause   the underlying failure, or null when there is none
     */
    public InvalidConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
