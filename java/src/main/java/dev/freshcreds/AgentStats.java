package dev.freshcreds;

import dev.freshcreds.internal.StatsJson;
import dev.freshcreds.internal.WallClock;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A typed, immutable reading of an agent's statistics ({@link FreshcredsAgent#statsJson()}), taken at
 * one instant: the credential source, refresh and failure counters, IMDS request counts, the current
 * generation, the expiration, the last error, the clock-skew estimate, and a {@link #state()} summing
 * them up. {@link FreshcredsJmx} and {@code dev.freshcreds.micrometer.FreshcredsMeterBinder} publish
 * the same numbers.
 *
 * <p>Holds no secret: of the credentials, only the abbreviated access key id
 * ({@code ASIA…WXYZ}) and the expiration. Thread-safe.
 *
 * <pre>{@code
 * AgentStats stats = AgentStats.of(agent);
 * if (stats.state() != AgentStats.State.OK) {
 *     log.warn("freshcreds: " + stats.state() + ", last error: " + stats.lastError());
 * }
 * }</pre>
 */
public final class AgentStats {
    /**
     * The agent's health in one word. {@link #code()} gives it as a number for metrics systems that
     * only take numbers: the higher, the worse, except {@link #CLOSED}.
     */
    public enum State {
        /** Valid credentials, and the last attempt to fetch credentials succeeded. Code 0. */
        OK(0),
        /**
         * No credentials yet and no failed attempt: the agent was just built and has not loaded
         * credentials (the first {@link FreshcredsAgent#currentSnapshot()} does). Code 1.
         */
        STARTING(1),
        /**
         * The last attempt to refresh failed ({@link AgentStats#lastError()} says why), but the
         * credentials in hand are still valid and are being served while the agent retries. Requests
         * still work; they stop working at the expiration unless a retry succeeds first. Code 2.
         */
        SERVING_STALE(2),
        /**
         * No valid credentials: none could be loaded, or those in hand have expired (on AWS's clock,
         * as estimated). Requests signed now fail. Code 3.
         */
        FAILING(3),
        /** The agent was closed; it serves nothing any more. Code 4. */
        CLOSED(4);

        private final int code;

        State(int code) {
            this.code = code;
        }

        /**
         * This state as a number, for gauges: 0 {@code OK}, 1 {@code STARTING}, 2
         * {@code SERVING_STALE}, 3 {@code FAILING}, 4 {@code CLOSED}.
         *
         * @return the state's code, from 0 to 4
         */
        public int code() {
            return code;
        }
    }

    private final long capturedAtEpochMillis;
    private final String source;
    private final List<String> shadowed;
    private final long generation;
    private final long refreshes;
    private final long failures;
    private final long sourceCalls;
    private final long rateLimited;
    private final long refresherRestarts;
    private final long imdsTokenRequests;
    private final long imdsMetadataRequests;
    private final long imdsRetries;
    private final String abbreviatedAccessKeyId;
    private final Instant expiration;
    private final long advisoryWindowSeconds;
    private final String lastError;
    private final long clockOffsetMillis;
    private final long clockSamples;
    private final long clockRejectedSamples;
    private final long clockLastChangedEpochMillis;
    private final boolean closed;

    private AgentStats(long capturedAtEpochMillis, Map<String, Object> json) {
        this.capturedAtEpochMillis = capturedAtEpochMillis;
        this.source = string(json, "source");
        this.shadowed = strings(json, "shadowed");
        this.generation = count(json, "generation");
        this.refreshes = count(json, "refreshes");
        this.failures = count(json, "failures");
        this.sourceCalls = count(json, "sourceCalls");
        this.rateLimited = count(json, "rateLimited");
        this.refresherRestarts = count(json, "refresherRestarts");
        this.imdsTokenRequests = count(json, "imdsTokenRequests");
        this.imdsMetadataRequests = count(json, "imdsMetadataRequests");
        this.imdsRetries = count(json, "imdsRetries");
        this.abbreviatedAccessKeyId = string(json, "accessKeyId");
        this.expiration = instant(json, "expiration");
        this.advisoryWindowSeconds = optionalCount(json, "advisoryWindowSeconds");
        this.lastError = string(json, "lastError");
        Map<String, Object> skew = object(json, "clockSkew");
        this.clockOffsetMillis = number(skew, "offsetMillis", 0);
        this.clockSamples = count(skew, "samples");
        this.clockRejectedSamples = count(skew, "rejectedSamples");
        this.clockLastChangedEpochMillis = optionalCount(skew, "lastChangedEpochMillis");
        Object closedValue = json.get("closed");
        if (closedValue != null && !(closedValue instanceof Boolean)) {
            throw wrongType("closed", "a boolean", closedValue);
        }
        this.closed = Boolean.TRUE.equals(closedValue);
    }

    /** A copy of {@code from}, read again at {@code capturedAtEpochMillis}, closed. */
    private AgentStats(AgentStats from, long capturedAtEpochMillis) {
        this.capturedAtEpochMillis = capturedAtEpochMillis;
        this.source = from.source;
        this.shadowed = from.shadowed;
        this.generation = from.generation;
        this.refreshes = from.refreshes;
        this.failures = from.failures;
        this.sourceCalls = from.sourceCalls;
        this.rateLimited = from.rateLimited;
        this.refresherRestarts = from.refresherRestarts;
        this.imdsTokenRequests = from.imdsTokenRequests;
        this.imdsMetadataRequests = from.imdsMetadataRequests;
        this.imdsRetries = from.imdsRetries;
        this.abbreviatedAccessKeyId = from.abbreviatedAccessKeyId;
        this.expiration = from.expiration;
        this.advisoryWindowSeconds = from.advisoryWindowSeconds;
        this.lastError = from.lastError;
        this.clockOffsetMillis = from.clockOffsetMillis;
        this.clockSamples = from.clockSamples;
        this.clockRejectedSamples = from.clockRejectedSamples;
        this.clockLastChangedEpochMillis = from.clockLastChangedEpochMillis;
        this.closed = true;
    }

    /**
     * Reads the agent's statistics now. After the agent is closed, returns statistics in state
     * {@link State#CLOSED} with every counter at zero; pollers that should keep the last counters
     * use {@link #of(FreshcredsAgent, AgentStats)}.
     *
     * @param agent the agent, not null
     * @return its statistics, never null
     * @throws InvalidConfigurationException if {@code agent} is null
     * @throws FreshcredsException           if native code's statistics cannot be read (a bug: the jar
     *                                       and the native library disagree)
     */
    public static AgentStats of(FreshcredsAgent agent) {
        return of(agent, null);
    }

    /**
     * Reads the agent's statistics now, falling back to the last reading once the agent is closed:
     * then the result is {@code previous} in state {@link State#CLOSED}, its counters as they were,
     * so a metrics system never sees a counter go back to zero. Meant for pollers (JMX, metrics) that
     * keep the last result and pass it in each time.
     *
     * @param agent    the agent, not null
     * @param previous the last result of this method for the same agent, or null when there is none
     *                 (then a closed agent gives zeros)
     * @return its statistics, never null
     * @throws InvalidConfigurationException if {@code agent} is null
     * @throws FreshcredsException           if native code's statistics cannot be read (a bug: the jar
     *                                       and the native library disagree)
     */
    public static AgentStats of(FreshcredsAgent agent, AgentStats previous) {
        if (agent == null) {
            throw new InvalidConfigurationException("agent must not be null");
        }
        long now = WallClock.SYSTEM.currentTimeMillis();
        if (!agent.isClosed()) {
            String json;
            try {
                json = agent.statsJson();
            } catch (AgentClosedException e) {
                json = null; // closed meanwhile
            }
            if (json != null) {
                try {
                    return parse(json, now);
                } catch (IllegalArgumentException e) {
                    throw new FreshcredsException("freshcreds: cannot read the native library's statistics ("
                            + e.getMessage() + "); the jar and the native library must be of the same version", e);
                }
            }
        }
        if (previous != null) {
            return new AgentStats(previous, now);
        }
        return new AgentStats(now, Collections.<String, Object>singletonMap("closed", Boolean.TRUE));
    }

    /**
     * Reads a statistics document as {@link FreshcredsAgent#statsJson()} returns it, e.g. one found in
     * a log, as of the given instant ({@link #secondsToExpiry()} and {@link #state()} depend on it).
     * Members this version does not know are ignored; missing ones read as zero, empty or null.
     *
     * @param statsJson      the JSON object, not null
     * @param nowEpochMillis the instant the statistics are taken to be read at, epoch milliseconds on
     *                       this host's clock
     * @return the statistics, never null
     * @throws IllegalArgumentException if {@code statsJson} is null, not a JSON object, or has a member of
     *                                  the wrong type (the message quotes no value)
     */
    public static AgentStats parse(String statsJson, long nowEpochMillis) {
        return new AgentStats(nowEpochMillis, StatsJson.parseObject(statsJson));
    }

    /**
     * When these statistics were read, on this host's clock.
     *
     * @return epoch milliseconds
     */
    public long capturedAtEpochMillis() {
        return capturedAtEpochMillis;
    }

    /**
     * The credential source in use ({@link FreshcredsAgent#source()}).
     *
     * @return {@code environment}, {@code systemProperties}, {@code webIdentity}, {@code profile},
     *         {@code container} or {@code imds}; null only for a closed agent never read before
     */
    public String source() {
        return source;
    }

    /**
     * Later sources in the chain that are configured too ({@link FreshcredsAgent#shadowed()}).
     *
     * @return their names, unmodifiable, never null; empty when none
     */
    public List<String> shadowed() {
        return shadowed;
    }

    /**
     * How many times new credentials were loaded: 1 after the first load, one more per rotation.
     *
     * @return the current credentials' generation; 0 before the first load
     */
    public long generation() {
        return generation;
    }

    /**
     * Successful fetches that brought new credentials (the first load included).
     *
     * @return the count since the agent was built
     */
    public long refreshes() {
        return refreshes;
    }

    /**
     * Failed fetches from the credential source, the first load's included.
     *
     * @return the count since the agent was built
     */
    public long failures() {
        return failures;
    }

    /**
     * Fetches from the credential source, successful or not.
     *
     * @return the count since the agent was built
     */
    public long sourceCalls() {
        return sourceCalls;
    }

    /**
     * Fetches the agent held back because the source had been asked too often.
     *
     * @return the count since the agent was built
     */
    public long rateLimited() {
        return rateLimited;
    }

    /**
     * How often the background refresher had to be restarted after an internal error (a bug; it
     * should stay 0).
     *
     * @return the count since the agent was built
     */
    public long refresherRestarts() {
        return refresherRestarts;
    }

    /**
     * IMDSv2 session token requests ({@code PUT /latest/api/token}), retries included.
     *
     * @return the count since the agent was built; 0 when IMDS is not used
     */
    public long imdsTokenRequests() {
        return imdsTokenRequests;
    }

    /**
     * IMDS metadata requests (role name and credentials), retries included.
     *
     * @return the count since the agent was built; 0 when IMDS is not used
     */
    public long imdsMetadataRequests() {
        return imdsMetadataRequests;
    }

    /**
     * IMDS requests that were retries of a failed one (also counted in the two counts above).
     *
     * @return the count since the agent was built; 0 when IMDS is not used
     */
    public long imdsRetries() {
        return imdsRetries;
    }

    /**
     * The current credentials' access key id, abbreviated to its first and last four characters
     * ({@code ASIA…WXYZ}), as in the logs. Never the whole key, never a secret.
     *
     * @return the abbreviated key id, or null when no credentials are loaded
     */
    public String abbreviatedAccessKeyId() {
        return abbreviatedAccessKeyId;
    }

    /**
     * When the current credentials expire, on AWS's clock.
     *
     * @return the expiration, or null when no credentials are loaded or they do not expire
     */
    public Instant expiration() {
        return expiration;
    }

    /**
     * How long before the expiration the background refresh of the current credentials starts.
     *
     * @return seconds, or -1 when no credentials are loaded or they do not expire
     */
    public long advisoryWindowSeconds() {
        return advisoryWindowSeconds;
    }

    /**
     * Why the last fetch failed; cleared by the next successful one. Never contains a secret.
     *
     * @return the error message, or null when the last fetch succeeded or none failed yet
     */
    public String lastError() {
        return lastError;
    }

    /**
     * The estimated clock offset, AWS time minus this host's wall clock
     * ({@link FreshcredsAgent#clockOffsetMillis()}).
     *
     * @return milliseconds, positive when this host's clock is behind AWS; 0 before any sample
     */
    public long clockOffsetMillis() {
        return clockOffsetMillis;
    }

    /**
     * How many recent samples the clock offset estimate is the median of.
     *
     * @return the number of samples held
     */
    public long clockSamples() {
        return clockSamples;
    }

    /**
     * Clock samples dropped for a negative or overlong round trip.
     *
     * @return the count since the agent was built
     */
    public long clockRejectedSamples() {
        return clockRejectedSamples;
    }

    /**
     * When the clock offset estimate last changed.
     *
     * @return epoch milliseconds, or -1 when it never did
     */
    public long clockLastChangedEpochMillis() {
        return clockLastChangedEpochMillis;
    }

    /**
     * Whether the agent was closed.
     *
     * @return true once the agent is closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Seconds from {@link #capturedAtEpochMillis()} until {@link #expiration()}, on AWS's clock as
     * estimated (this host's clock plus {@link #clockOffsetMillis()}), rounded down.
     *
     * @return the seconds left, 0 once expired; -1 when there are no credentials, they do not
     *         expire, or the agent is closed
     */
    public long secondsToExpiry() {
        if (closed || abbreviatedAccessKeyId == null || expiration == null) {
            return -1;
        }
        long left = expiration.toEpochMilli() - awsNowMillis();
        return left <= 0 ? 0 : left / 1000;
    }

    /**
     * The agent's health at {@link #capturedAtEpochMillis()}:
     * {@link State#CLOSED} once closed; else {@link State#FAILING} without valid credentials (none
     * loaded after a failure, or expired on AWS's clock as estimated); else {@link State#STARTING} when
     * none were loaded yet and nothing failed; else {@link State#SERVING_STALE} when the last fetch
     * failed; else {@link State#OK}.
     *
     * @return the state, never null
     */
    public State state() {
        if (closed) {
            return State.CLOSED;
        }
        if (abbreviatedAccessKeyId == null) {
            return lastError != null || failures > 0 ? State.FAILING : State.STARTING;
        }
        if (expiration != null && expiration.toEpochMilli() <= awsNowMillis()) {
            return State.FAILING;
        }
        return lastError != null ? State.SERVING_STALE : State.OK;
    }

    /** This host's clock at capture, corrected by the clock offset, saturating. */
    private long awsNowMillis() {
        long sum = capturedAtEpochMillis + clockOffsetMillis;
        // overflow only when both have the same sign and the sum's sign differs
        if (((capturedAtEpochMillis ^ sum) & (clockOffsetMillis ^ sum)) < 0) {
            return clockOffsetMillis < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return sum;
    }

    /**
     * Every value, for logs; no secret (the access key id abbreviated).
     *
     * @return a one-line description
     */
    @Override
    public String toString() {
        return "AgentStats{state=" + state()
                + ", source=" + source
                + ", shadowed=" + shadowed
                + ", generation=" + generation
                + ", refreshes=" + refreshes
                + ", failures=" + failures
                + ", sourceCalls=" + sourceCalls
                + ", rateLimited=" + rateLimited
                + ", refresherRestarts=" + refresherRestarts
                + ", imdsTokenRequests=" + imdsTokenRequests
                + ", imdsMetadataRequests=" + imdsMetadataRequests
                + ", imdsRetries=" + imdsRetries
                + ", accessKeyId=" + abbreviatedAccessKeyId
                + ", expiration=" + expiration
                + ", secondsToExpiry=" + secondsToExpiry()
                + ", advisoryWindowSeconds=" + advisoryWindowSeconds
                + ", lastError=" + lastError
                + ", clockOffsetMillis=" + clockOffsetMillis
                + ", clockSamples=" + clockSamples
                + ", clockRejectedSamples=" + clockRejectedSamples
                + ", clockLastChangedEpochMillis=" + clockLastChangedEpochMillis
                + ", capturedAt=" + Instant.ofEpochMilli(capturedAtEpochMillis)
                + "}";
    }

    // ---------------------------------------------------------------- reading members

    private static String string(Map<String, Object> json, String key) {
        Object v = json.get(key);
        if (v == null || v instanceof String) {
            return (String) v;
        }
        throw wrongType(key, "a string", v);
    }

    private static List<String> strings(Map<String, Object> json, String key) {
        Object v = json.get(key);
        if (v == null) {
            return Collections.emptyList();
        }
        if (!(v instanceof List)) {
            throw wrongType(key, "an array", v);
        }
        List<String> out = new ArrayList<String>();
        for (Object item : (List<?>) v) {
            if (!(item instanceof String)) {
                throw wrongType(key + "[]", "a string", item);
            }
            out.add((String) item);
        }
        return Collections.unmodifiableList(out);
    }

    private static long number(Map<String, Object> json, String key, long absent) {
        Object v = json.get(key);
        if (v == null) {
            return absent;
        }
        if (!(v instanceof Long)) {
            throw wrongType(key, "an integer", v);
        }
        return (Long) v;
    }

    /** A non-negative integer; 0 when absent or null. */
    private static long count(Map<String, Object> json, String key) {
        long n = number(json, key, 0);
        if (n < 0) {
            throw new IllegalArgumentException("statistics member " + key + " is negative");
        }
        return n;
    }

    /** A non-negative integer; -1 when absent or null. */
    private static long optionalCount(Map<String, Object> json, String key) {
        return json.get(key) == null ? -1 : count(json, key);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Map<String, Object> json, String key) {
        Object v = json.get(key);
        if (v == null) {
            return Collections.emptyMap();
        }
        if (!(v instanceof Map)) {
            throw wrongType(key, "an object", v);
        }
        return (Map<String, Object>) v;
    }

    private static Instant instant(Map<String, Object> json, String key) {
        String s = string(json, key);
        if (s == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("statistics member " + key + " is not an RFC 3339 time");
        }
    }

    private static IllegalArgumentException wrongType(String key, String expected, Object got) {
        return new IllegalArgumentException("statistics member " + key + " should be " + expected + ", is "
                + StatsJson.typeName(got));
    }
}
