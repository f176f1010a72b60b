package dev.freshcreds;

/**
 * The agent (or its native handle) was closed, or the handle is unknown. Build a new agent.
 */
public class AgentClosedException extends FreshcredsException {
    private static final long serialVersionUID = 1L;

    public AgentClosedException(String message) {
        super(message);
    }

    public AgentClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
