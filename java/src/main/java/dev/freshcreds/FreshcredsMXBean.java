package dev.freshcreds;

/**
 * The JMX view of one agent, registered by {@link FreshcredsJmx#register(FreshcredsAgent, String)}
 * as {@code dev.freshcreds:type=Agent,name=<name>}. Read-only attributes, each read from the agent
 * when asked (see {@link AgentStats} for what they mean); every type is an open type, so any JMX
 * client (JConsole, VisualVM, a Prometheus JMX exporter) shows them without freshcreds on its class
 * path. Numeric exporters take {@code StateCode} rather than {@code State}.
 *
 * <p>After the agent is closed the attributes keep their last values and {@code State} is
 * {@code CLOSED}. No attribute holds a secret: of the credentials, only the abbreviated access key
 * id and the expiration.
 */
public interface FreshcredsMXBean {
    /**
     * Attribute {@code Source}: the credential source in use.
     *
     * @return e.g. {@code imds}; see {@link AgentStats#source()}
     */
    String getSource();

    /**
     * Attribute {@code Shadowed}: later sources in the chain that are configured too.
     *
     * @return their names; empty when none
     */
    String[] getShadowed();

    /**
     * Attribute {@code State}: the agent's health.
     *
     * @return {@code OK}, {@code STARTING}, {@code SERVING_STALE}, {@code FAILING} or {@code CLOSED};
     *         see {@link AgentStats.State}
     */
    String getState();

    /**
     * Attribute {@code StateCode}: {@code State} as a number, for exporters that take numbers only.
     *
     * @return 0 {@code OK}, 1 {@code STARTING}, 2 {@code SERVING_STALE}, 3 {@code FAILING},
     *         4 {@code CLOSED}
     */
    int getStateCode();

    /**
     * Attribute {@code AccessKeyId}: the current access key id, abbreviated ({@code ASIA…WXYZ}).
     *
     * @return the abbreviated key id, or null when no credentials are loaded
     */
    String getAccessKeyId();

    /**
     * Attribute {@code Expiration}: when the current credentials expire, RFC 3339 in UTC.
     *
     * @return e.g. {@code 2030-01-01T12:00:00Z}, or null when there are no credentials or they do not
     *         expire
     */
    String getExpiration();

    /**
     * Attribute {@code ExpirationEpochMillis}: {@code Expiration} in epoch milliseconds.
     *
     * @return epoch milliseconds, or -1 when there are no credentials or they do not expire
     */
    long getExpirationEpochMillis();

    /**
     * Attribute {@code SecondsToExpiry}: seconds until the expiration on AWS's clock as estimated.
     *
     * @return the seconds left, 0 once expired; -1 when there are no credentials, they do not expire,
     *         or the agent is closed
     */
    long getSecondsToExpiry();

    /**
     * Attribute {@code Generation}: how many times new credentials were loaded.
     *
     * @return the current credentials' generation; 0 before the first load
     */
    long getGeneration();

    /**
     * Attribute {@code Refreshes}: successful fetches that brought new credentials.
     *
     * @return the count since the agent was built
     */
    long getRefreshes();

    /**
     * Attribute {@code Failures}: failed fetches from the credential source.
     *
     * @return the count since the agent was built
     */
    long getFailures();

    /**
     * Attribute {@code SourceCalls}: fetches from the credential source, successful or not.
     *
     * @return the count since the agent was built
     */
    long getSourceCalls();

    /**
     * Attribute {@code LastError}: why the last fetch failed; cleared by the next successful one.
     *
     * @return the error message, or null when the last fetch succeeded or none failed yet
     */
    String getLastError();

    /**
     * Attribute {@code ImdsTokenRequests}: IMDSv2 session token requests, retries included.
     *
     * @return the count since the agent was built
     */
    long getImdsTokenRequests();

    /**
     * Attribute {@code ImdsMetadataRequests}: IMDS role-name and credentials requests, retries
     * included.
     *
     * @return the count since the agent was built
     */
    long getImdsMetadataRequests();

    /**
     * Attribute {@code ImdsRetries}: IMDS requests that retried a failed one.
     *
     * @return the count since the agent was built
     */
    long getImdsRetries();

    /**
     * Attribute {@code ClockOffsetMillis}: AWS time minus this host's wall clock, as estimated.
     *
     * @return milliseconds, positive when this host's clock is behind AWS; 0 before any sample
     */
    long getClockOffsetMillis();

    /**
     * Attribute {@code RefresherRestarts}: restarts of the background refresher after an internal
     * error (should stay 0).
     *
     * @return the count since the agent was built
     */
    long getRefresherRestarts();
}
