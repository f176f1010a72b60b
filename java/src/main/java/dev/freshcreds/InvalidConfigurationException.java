package dev.freshcreds;

/**
 * An option given to the agent builder is invalid or unknown.
 */
public class InvalidConfigurationException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    public InvalidConfigurationException(String message) {
        super(message);
    }

    public InvalidConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
