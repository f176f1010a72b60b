package dev.freshcreds;

/**
 * Credentials could not be fetched from the credential source (the instance metadata service or
 * whichever source the agent uses) or could not be parsed: the source did not answer within the
 * attempts and the load timeout, has no credentials (e.g. no instance role attached, or the
 * configured role does not exist), or answered with something unusable.
 *
 * <p>Thrown by {@link FreshcredsAgent#currentSnapshot()} and {@link FreshcredsAgent#refresh()}.
 * Often transient: the agent keeps retrying in the background, so a later call may succeed. The
 * message says which source failed and what to check.
 */
public class CredentialsUnavailableException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception with a message and no cause.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     */
    public CredentialsUnavailableException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a message and the failure that caused it.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     * @param cause   the underlying failure, or null when there is none
     */
    public CredentialsUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
