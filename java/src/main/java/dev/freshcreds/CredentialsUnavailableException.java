package dev.freshcreds;

/**
 * Credentials could not be fetched from the instance metadata service or could not be parsed.
 */
public class CredentialsUnavailableException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    public CredentialsUnavailableException(String message) {
        super(message);
    }

    public CredentialsUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
