package dev.freshcreds.sdkv2;

import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.InvalidConfigurationException;
import dev.freshcreds.internal.SdkHookSupport;
import dev.freshcreds.internal.WallClock;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * AWS SDK for Java 2.x execution interceptor that keeps a client working through a wrong host clock
 * and revoked sessions. Install it next to the freshcreds credentials provider:
 *
 * <pre>{@code
 * S3Client s3 = S3Client.builder()
 *         .credentialsProvider(credentials)
 *         .overrideConfiguration(c -> c.addExecutionInterceptor(credentials.executionInterceptor()))
 *         .build();
 * }</pre>
 *
 * <ul>
 * <li><b>Signs with AWS's time.</b> In {@code beforeExecution} it sets the signing clock of the
 * request's auth scheme ({@code AwsSignerExecutionAttribute.SIGNING_CLOCK}, deprecated but public, which the SDK maps onto
 * the {@code HttpSigner.SIGNING_CLOCK} signer property of the selected auth scheme option). The SDK's
 * {@code SigningStage} first puts its own clock ({@code Clock.systemUTC()} offset by the client's
 * skew adjustment) into the sign request and then every signer property of the auth scheme option, so
 * this clock wins. It reads the agent's estimate each time the signer asks it, i.e. at each attempt's
 * signing, and shifts the host clock only when the estimate reaches the threshold (60 s by default).
 * (Setting {@code SdkExecutionAttribute.TIME_OFFSET} would do nothing: {@code SigningStage}
 * overwrites it with the client's own offset before signing.)</li>
 * <li><b>Measures the clock skew</b> on every attempt: the send time in {@code beforeTransmission}
 * (after signing), the response's {@code Date} header and the receive time in
 * {@code afterTransmission}, errors included.</li>
 * <li><b>Replaces rejected credentials</b>: when a call fails with {@code ExpiredToken},
 * {@code ExpiredTokenException}, {@code InvalidToken} or {@code RequestExpired} (not
 * {@code AccessDenied}) it invalidates the access key id that signed it (from the signed request's
 * {@code Authorization} header) and the agent fetches new credentials at once, so the next call signs
 * with them. SDK v2 resolves the credentials once per call, so a retry inside the same call still
 * carries the rejected ones.</li>
 * </ul>
 *
 * <p>The signing clock applies to the SDK's auth-scheme signing path (the default since 2.21); a
 * client configured with a legacy {@code Signer} override signs without it.
 *
 * <p>Thread-safe: one interceptor may serve several clients. It never throws into an SDK call; once
 * its agent is closed it does nothing, and the credentials provider reports the closed agent.
 */
public final class FreshcredsExecutionInterceptor implements ExecutionInterceptor {
    private static final ExecutionAttribute<Long> SENT_AT = new ExecutionAttribute<Long>("FreshcredsSentAtEpochMillis");
    private static final ExecutionAttribute<String> SIGNED_BY = new ExecutionAttribute<String>("FreshcredsSigningAccessKeyId");

    private final FreshcredsAgent agent;
    private final SdkHookSupport support;
    private final Clock signingClock;

    private FreshcredsExecutionInterceptor(FreshcredsAgent agent, SdkHookSupport support) {
        this.agent = agent;
        this.support = support;
        this.signingClock = new CorrectedClock(support);
    }

    /**
     * An interceptor for this agent with the defaults: signing-time correction on, 60 s threshold.
     *
     * @param agent the agent whose credentials the client signs with (use the same one as the
     *              client's credentials provider); not closed by the interceptor
     * @return a new interceptor
     * @throws NullPointerException if {@code agent} is null
     */
    public static FreshcredsExecutionInterceptor create(FreshcredsAgent agent) {
        return builder(agent).build();
    }

    /**
     * Starts building an interceptor with options other than the defaults.
     *
     * @param agent the agent whose credentials the client signs with; not closed by the interceptor
     * @return a new builder
     * @throws NullPointerException if {@code agent} is null
     */
    public static Builder builder(FreshcredsAgent agent) {
        return new Builder(agent);
    }

    @Override
    @SuppressWarnings("deprecation")
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes executionAttributes) {
        if (support.correctsSigningTime()) {
            executionAttributes.putAttribute(software.amazon.awssdk.auth.signer.AwsSignerExecutionAttribute.SIGNING_CLOCK,
                    signingClock);
        }
    }

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes executionAttributes) {
        String key = SdkHookSupport.accessKeyIdFromAuthorization(
                context.httpRequest().firstMatchingHeader("Authorization").orElse(null));
        if (key != null) {
            executionAttributes.putAttribute(SIGNED_BY, key);
        }
        executionAttributes.putAttribute(SENT_AT, support.now());
    }

    @Override
    public void afterTransmission(Context.AfterTransmission context, ExecutionAttributes executionAttributes) {
        long received = support.now();
        Long sent = executionAttributes.getAttribute(SENT_AT);
        if (sent != null) {
            support.observeDate(context.httpResponse().firstMatchingHeader("Date").orElse(null), sent, received);
        }
    }

    @Override
    public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes executionAttributes) {
        Throwable failure = unwrap(context.exception());
        if (!(failure instanceof AwsServiceException)) {
            return;
        }
        AwsErrorDetails details = ((AwsServiceException) failure).awsErrorDetails();
        String code = details == null ? null : details.errorCode();
        if (!SdkHookSupport.rejectsCredentials(code)) {
            return;
        }
        String key = executionAttributes.getAttribute(SIGNED_BY);
        if (key == null) {
            Optional<String> auth = context.httpRequest().flatMap(r -> r.firstMatchingHeader("Authorization"));
            key = SdkHookSupport.accessKeyIdFromAuthorization(auth.orElse(null));
        }
        support.onServiceError(code, key);
    }

    /**
     * The clock this interceptor gives the signer (when signing-time correction is on): this host's
     * wall clock plus the agent's skew estimate when the estimate reaches the threshold, read anew at
     * every {@link Clock#instant()}.
     *
     * @return a UTC clock, the same object on every call; {@link Clock#withZone(ZoneId)} accepts only
     *         UTC and throws {@link UnsupportedOperationException} for any other zone
     */
    public Clock signingClock() {
        return signingClock;
    }

    /**
     * The agent behind this interceptor.
     *
     * @return the agent given to {@link #create(FreshcredsAgent)} or {@link #builder(FreshcredsAgent)}
     */
    public FreshcredsAgent agent() {
        return agent;
    }

    @Override
    public String toString() {
        return "FreshcredsExecutionInterceptor{" + support + "}";
    }

    private static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        for (int i = 0; i < 8 && cur != null; i++) {
            if ((cur instanceof CompletionException || cur instanceof ExecutionException) && cur.getCause() != null) {
                cur = cur.getCause();
            } else {
                break;
            }
        }
        return cur;
    }

    /**
     * This host's wall clock plus the agent's skew estimate (when it reaches the threshold), read at
     * every {@link #instant()}.
     */
    static final class CorrectedClock extends Clock {
        private final SdkHookSupport support;

        CorrectedClock(SdkHookSupport support) {
            this.support = support;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            if (ZoneOffset.UTC.equals(zone)) {
                return this;
            }
            throw new UnsupportedOperationException("the freshcreds signing clock is UTC only");
        }

        @Override
        public long millis() {
            return support.now() + support.signingOffsetMillis();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        @Override
        public String toString() {
            return "FreshcredsSigningClock{" + support + "}";
        }
    }

    /**
     * Options of a {@link FreshcredsExecutionInterceptor}, the same ones as {@code dev.freshcreds.sdkv1.FreshcredsRequestHandler.Builder}.
     * Not thread-safe.
     */
    public static final class Builder {
        private final FreshcredsAgent agent;
        private final SdkHookSupport.Options options = new SdkHookSupport.Options(InvalidConfigurationException::new);

        private Builder(FreshcredsAgent agent) {
            if (agent == null) {
                throw new NullPointerException("agent");
            }
            this.agent = agent;
        }

        /**
         * Sign with the estimated AWS time when the host clock is off (default true). When off, the
         * interceptor still measures the clock skew and still replaces rejected credentials.
         *
         * @param enabled false to leave the signing clock to the SDK
         * @return this builder
         */
        public Builder signingTimeCorrection(boolean enabled) {
            options.signingTimeCorrection(enabled);
            return this;
        }

        /**
         * Correct the signing time only when the estimated offset, either way, is at least this large
         * (default 60 s); below it the signing clock is this host's clock unchanged.
         *
         * @param threshold the threshold, millisecond precision; zero corrects any offset. Not null or
         *                  negative, which {@link #build()} checks
         * @return this builder
         */
        public Builder skewThreshold(Duration threshold) {
            options.skewThreshold(threshold);
            return this;
        }

        /** Tests only: the wall clock used to time requests and as the base of the signing clock. */
        Builder wallClock(WallClock clock) {
            options.wallClock(clock);
            return this;
        }

        /**
         * Creates the interceptor.
         *
         * @return a new interceptor
         * @throws dev.freshcreds.InvalidConfigurationException if the skew threshold is null or
         *                                                      negative
         */
        public FreshcredsExecutionInterceptor build() {
            SdkHookSupport.Agent hooked = SdkHookSupport.Agent.of(agent::clockOffsetMillis, agent::recordServerTime,
                    () -> agent.currentSnapshot().accessKeyId(), agent::invalidate);
            return new FreshcredsExecutionInterceptor(agent, new SdkHookSupport(hooked, options));
        }
    }
}
