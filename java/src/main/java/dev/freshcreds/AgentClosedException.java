package dev.freshcreds;

/**
 * The agent (or its native handle) was closed, or the handle is unknown. Build a new agent.
 *
 * <p>Thrown by every {@link FreshcredsAgent} method once {@link FreshcredsAgent#close()} has been
 * called, including calls that were blocked in native code when it ran, and by the SDK credentials
 * providers once they or their agent are closed. Retrying with the same agent never helps.
 */
public class AgentClosedException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception with a message and no cause.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     */
    public AgentClosedException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a message and the failure that caused it.
     *
     * @param message what went wrong and, where possible, how to fix it; never a secret
     * @param cause   the underlying failure, or null when there is none
     */
    public AgentClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
