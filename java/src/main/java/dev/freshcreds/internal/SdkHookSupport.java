package dev.freshcreds.internal;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What the SDK v1 request handler and the SDK v2 execution interceptor share: their options
 * ({@link Options}), which error codes mean "these credentials were rejected", reading the signing
 * access key id and the {@code Date} header, and the signing-time correction policy. SDK-independent;
 * the hooks only adapt the SDKs' types.
 *
 * <p>This package does not depend on the API packages: the hooks hand their agent over as an
 * {@link Agent} (see {@link Agent#of}), and configuration errors are reported with the exception type
 * the hooks' builders give {@link Options}.
 *
 * <p>Nothing here throws into an SDK call: when the agent is closed or native code refuses a sample,
 * the hook does nothing (the credentials provider reports a closed agent on its own).
 */
public final class SdkHookSupport {
    private static final Logger LOG = Logger.getLogger(SdkHookSupport.class.getName());

    /** Signing-time correction starts when the estimated offset reaches this, by default. */
    public static final Duration DEFAULT_SKEW_THRESHOLD = Duration.ofSeconds(60);

    /**
     * AWS error codes that mean the credentials themselves were rejected (expired, revoked, or not
     * valid at the request's time), after which new credentials must be fetched. {@code AccessDenied}
     * and its relatives are not here: they are about permissions, and new credentials of the same role
     * would be denied just the same.
     */
    public static final Set<String> CREDENTIAL_REJECTION_CODES = Collections.unmodifiableSet(new HashSet<String>(
            Arrays.asList("ExpiredToken", "ExpiredTokenException", "InvalidToken", "RequestExpired")));

    /**
     * The agent operations the hooks use. Any of them may throw a {@link RuntimeException} (a closed
     * agent, a refused sample): the hooks catch it and go on.
     */
    public interface Agent {
        /** AWS time minus this host's wall clock, in milliseconds; 0 before any sample. */
        long clockOffsetMillis();

        /** Feeds one observation of AWS time to the skew estimate (all epoch milliseconds). */
        void recordServerTime(long serverDateEpochMillis, long requestSentEpochMillis, long responseReceivedEpochMillis);

        /** The access key id of the credentials the agent hands out now (may fetch them). */
        String currentAccessKeyId();

        /** Reports the credentials with this access key id as rejected; new ones are fetched. */
        void invalidate(String accessKeyId);

        /**
         * An agent made of these operations, e.g. {@code Agent.of(agent::clockOffsetMillis,
         * agent::recordServerTime, () -> agent.currentSnapshot().accessKeyId(), agent::invalidate)}.
         */
        static Agent of(final LongSupplier clockOffsetMillis, final ServerTimeRecorder recordServerTime,
                        final Supplier<String> currentAccessKeyId, final Consumer<String> invalidate) {
            if (clockOffsetMillis == null || recordServerTime == null || currentAccessKeyId == null || invalidate == null) {
                throw new NullPointerException("agent operation");
            }
            return new Agent() {
                @Override
                public long clockOffsetMillis() {
                    return clockOffsetMillis.getAsLong();
                }

                @Override
                public void recordServerTime(long serverDate, long sent, long received) {
                    recordServerTime.record(serverDate, sent, received);
                }

                @Override
                public String currentAccessKeyId() {
                    return currentAccessKeyId.get();
                }

                @Override
                public void invalidate(String accessKeyId) {
                    invalidate.accept(accessKeyId);
                }
            };
        }
    }

    /** {@link Agent#recordServerTime} as a functional interface. */
    public interface ServerTimeRecorder {
        /** See {@link Agent#recordServerTime}. */
        void record(long serverDateEpochMillis, long requestSentEpochMillis, long responseReceivedEpochMillis);
    }

    /**
     * The options of both SDK hooks' builders: signing-time correction (default on), the skew
     * threshold (default {@link #DEFAULT_SKEW_THRESHOLD}) and, for tests, the wall clock. Mutable and
     * not thread-safe, like the builders that hold it; {@link SdkHookSupport} copies the values.
     */
    public static final class Options {
        private final Function<String, ? extends RuntimeException> configurationError;
        private boolean signingTimeCorrection = true;
        private Duration skewThreshold = DEFAULT_SKEW_THRESHOLD;
        private WallClock wallClock = WallClock.SYSTEM;

        /**
         * @param configurationError makes the exception for an invalid option from its message (the
         *                           API's {@code InvalidConfigurationException}, which this package
         *                           cannot name)
         */
        public Options(Function<String, ? extends RuntimeException> configurationError) {
            if (configurationError == null) {
                throw new NullPointerException("configurationError");
            }
            this.configurationError = configurationError;
        }

        /** Sign with the estimated AWS time when the offset reaches the threshold. */
        public Options signingTimeCorrection(boolean enabled) {
            this.signingTimeCorrection = enabled;
            return this;
        }

        /** The correction threshold; null or negative is refused by {@link SdkHookSupport}'s constructor. */
        public Options skewThreshold(Duration threshold) {
            this.skewThreshold = threshold;
            return this;
        }

        /** Tests only: the wall clock used to time requests and as the base of the signing clock. */
        public Options wallClock(WallClock clock) {
            if (clock == null) {
                throw new NullPointerException("clock");
            }
            this.wallClock = clock;
            return this;
        }

        public boolean signingTimeCorrection() {
            return signingTimeCorrection;
        }

        public Duration skewThreshold() {
            return skewThreshold;
        }

        public WallClock wallClock() {
            return wallClock;
        }
    }

    private final Agent agent;
    private final WallClock wallClock;
    private final boolean correctSigningTime;
    private final long thresholdMillis;

    /**
     * @throws NullPointerException if {@code agent} or {@code options} is null
     * @throws RuntimeException     the options' configuration error if the skew threshold is null or
     *                              negative
     */
    public SdkHookSupport(Agent agent, Options options) {
        if (agent == null) {
            throw new NullPointerException("agent");
        }
        Duration threshold = options.skewThreshold();
        if (threshold == null || threshold.isNegative()) {
            throw options.configurationError.apply(
                    "the clock skew threshold must be zero or positive, got " + threshold);
        }
        this.agent = agent;
        this.wallClock = options.wallClock();
        this.correctSigningTime = options.signingTimeCorrection();
        this.thresholdMillis = threshold.toMillis();
    }

    public WallClock wallClock() {
        return wallClock;
    }

    public boolean correctsSigningTime() {
        return correctSigningTime;
    }

    public long thresholdMillis() {
        return thresholdMillis;
    }

    /** This host's wall clock now, epoch milliseconds. */
    public long now() {
        return wallClock.currentTimeMillis();
    }

    /**
     * How far to move the signing time, in milliseconds (AWS time minus this host's clock): the
     * agent's estimate when correction is on and the estimate's magnitude reaches the threshold,
     * otherwise 0.
     */
    public long signingOffsetMillis() {
        if (!correctSigningTime) {
            return 0;
        }
        long offset;
        try {
            offset = agent.clockOffsetMillis();
        } catch (RuntimeException e) {
            return 0;
        }
        return Math.abs(offset) >= thresholdMillis ? offset : 0;
    }

    /**
     * Feeds a response's {@code Date} header to the skew estimate. Does nothing when the header is
     * missing or unparseable, or the send time is unknown.
     */
    public void observeDate(String dateHeader, long sentEpochMillis, long receivedEpochMillis) {
        if (dateHeader == null || sentEpochMillis <= 0 || receivedEpochMillis <= 0) {
            return;
        }
        long serverDate = parseHttpDate(dateHeader);
        if (serverDate == Long.MIN_VALUE || serverDate <= 0) {
            return;
        }
        try {
            agent.recordServerTime(serverDate, sentEpochMillis, receivedEpochMillis);
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "freshcreds: Date sample not recorded: {0}", e.toString());
        }
    }

    /**
     * Handles an AWS error code. When it is one of {@link #CREDENTIAL_REJECTION_CODES}, invalidates the
     * credentials that signed the request and has new ones fetched; returns whether it did.
     *
     * @param signingAccessKeyId the access key id that signed the failed request, or null when the hook
     *                           could not tell; then the agent's current key is taken, which after a
     *                           rotation may cost one unnecessary refresh but never keeps rejected
     *                           credentials in use
     */
    public boolean onServiceError(String errorCode, String signingAccessKeyId) {
        if (!rejectsCredentials(errorCode)) {
            return false;
        }
        try {
            String key = signingAccessKeyId;
            if (key == null) {
                key = agent.currentAccessKeyId();
            }
            agent.invalidate(key);
            LOG.log(Level.INFO, "freshcreds: AWS rejected the credentials with access key id {0} ({1}); "
                    + "invalidated them and fetching new ones", new Object[] {abbreviate(key), errorCode});
            return true;
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "freshcreds: could not invalidate after " + errorCode + ": " + e);
            return false;
        }
    }

    /** True for the error codes after which the credentials must be replaced (not for {@code AccessDenied}). */
    public static boolean rejectsCredentials(String errorCode) {
        return errorCode != null && CREDENTIAL_REJECTION_CODES.contains(errorCode);
    }

    /**
     * The access key id in a SigV4 {@code Authorization} header
     * ({@code AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...}), or null.
     */
    public static String accessKeyIdFromAuthorization(String authorization) {
        if (authorization == null) {
            return null;
        }
        int at = authorization.indexOf("Credential=");
        if (at < 0) {
            return null;
        }
        int start = at + "Credential=".length();
        int end = authorization.indexOf('/', start);
        if (end <= start) {
            return null;
        }
        String key = authorization.substring(start, end).trim();
        return key.isEmpty() ? null : key;
    }

    /** An HTTP-date ({@code Sun, 06 Nov 1994 08:49:37 GMT}) in epoch milliseconds, or {@link Long#MIN_VALUE}. */
    public static long parseHttpDate(String value) {
        if (value == null) {
            return Long.MIN_VALUE;
        }
        try {
            return ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
        } catch (DateTimeParseException e) {
            return Long.MIN_VALUE;
        }
    }

    /** The SDK v1 {@code Request#setTimeOffset} value for an offset (AWS minus host, ms): host minus AWS, in whole seconds. */
    public static int v1TimeOffsetSeconds(long offsetMillis) {
        long seconds = -Math.round(offsetMillis / 1000.0);
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, seconds));
    }

    static String abbreviate(String accessKeyId) {
        if (accessKeyId == null) {
            return "null";
        }
        if (accessKeyId.length() <= 8) {
            return accessKeyId.substring(0, Math.min(4, accessKeyId.length())) + "…";
        }
        return accessKeyId.substring(0, 4) + "…" + accessKeyId.substring(accessKeyId.length() - 4);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "signing time correction %s (threshold %d ms)",
                correctSigningTime ? "on" : "off", thresholdMillis);
    }
}
