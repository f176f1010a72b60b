package dev.freshcreds.sdkv1;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.Request;
import com.amazonaws.Response;
import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.handlers.HandlerAfterAttemptContext;
import com.amazonaws.handlers.HandlerBeforeAttemptContext;
import com.amazonaws.handlers.HandlerContextKey;
import com.amazonaws.handlers.RequestHandler2;
import com.amazonaws.http.HttpResponse;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.InvalidConfigurationException;
import dev.freshcreds.internal.SdkHookSupport;
import dev.freshcreds.internal.WallClock;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * AWS SDK for Java 1.x request handler that keeps a client working through a wrong host clock and
 * revoked sessions. Install it next to the freshcreds credentials provider:
 *
 * <pre>{@code
 * AmazonSQS sqs = AmazonSQSClientBuilder.standard()
 *         .withCredentials(credentials)
 *         .withRequestHandlers(credentials.requestHandler())
 *         .build();
 * }</pre>
 *
 * <p>On every attempt (retries included) it
 * <ul>
 * <li><b>measures the clock skew</b>: the response's {@code Date} header (from the response, or from
 * the {@link AmazonServiceException}'s headers on an error) and the attempt's send and receive times
 * go to {@link FreshcredsAgent#recordServerTime};</li>
 * <li><b>signs with AWS's time</b>: before the attempt is signed, when the agent's estimated offset
 * reaches the threshold (60 s by default), it sets the request's time offset, which
 * {@code AWS4Signer} subtracts from the current time ({@code signing time = now - timeOffset * 1000},
 * so the offset is this host's clock minus AWS's, in seconds);</li>
 * <li><b>replaces rejected credentials</b>: on {@code ExpiredToken}, {@code ExpiredTokenException},
 * {@code InvalidToken} or {@code RequestExpired} (not {@code AccessDenied}) it invalidates the access
 * key id that signed the attempt, read from its {@code Authorization} header, and the agent fetches
 * new credentials at once; with SDK retries on, the retry already signs with them.</li>
 * </ul>
 *
 * <p>Why per-request and not {@code SDKGlobalTime}: in SDK 1.12 {@code SDKGlobalTime} is read only
 * when an {@code AmazonHttpClient} is constructed, so changing it does nothing for clients already
 * built; and if the client's own offset is non-zero (the SDK's {@code ClockSkewAdjuster} set it after
 * a skew error, or {@code SDKGlobalTime} was non-zero when the client was built), the SDK copies it onto
 * the request after this handler ran and it wins. That offset came from a server {@code Date} too.
 *
 * <p>Thread-safe: one handler may serve several clients. It never throws into an SDK call; once its
 * agent is closed it does nothing, and the credentials provider reports the closed agent.
 */
public final class FreshcredsRequestHandler extends RequestHandler2 {
    private static final HandlerContextKey<Long> SENT_AT = new HandlerContextKey<Long>("freshcreds.SentAtEpochMillis");
    private static final HandlerContextKey<Integer> ORIGINAL_TIME_OFFSET =
            new HandlerContextKey<Integer>("freshcreds.OriginalTimeOffset");

    private final FreshcredsAgent agent;
    private final SdkHookSupport support;

    private FreshcredsRequestHandler(FreshcredsAgent agent, SdkHookSupport support) {
        this.agent = agent;
        this.support = support;
    }

    /**
     * A handler for this agent with the defaults: signing-time correction on, 60 s threshold.
     *
     * @param agent the agent whose credentials the client signs with (use the same one as the
     *              client's credentials provider); not closed by the handler
     * @return a new handler
     * @throws NullPointerException if {@code agent} is null
     */
    public static FreshcredsRequestHandler create(FreshcredsAgent agent) {
        return builder(agent).build();
    }

    /**
     * Starts building a handler with options other than the defaults.
     *
     * @param agent the agent whose credentials the client signs with; not closed by the handler
     * @return a new builder
     * @throws NullPointerException if {@code agent} is null
     */
    public static Builder builder(FreshcredsAgent agent) {
        return new Builder(agent);
    }

    @Override
    public void beforeAttempt(HandlerBeforeAttemptContext context) {
        Request<?> request = context.getRequest();
        if (request == null) {
            return;
        }
        if (support.correctsSigningTime()) {
            Integer original = request.getHandlerContext(ORIGINAL_TIME_OFFSET);
            if (original == null) {
                original = request.getTimeOffset();
                request.addHandlerContext(ORIGINAL_TIME_OFFSET, original);
            }
            long offset = support.signingOffsetMillis();
            request.setTimeOffset(offset != 0 ? SdkHookSupport.v1TimeOffsetSeconds(offset) : original);
        }
        request.addHandlerContext(SENT_AT, support.now());
    }

    @Override
    public void afterAttempt(HandlerAfterAttemptContext context) {
        long received = support.now();
        Request<?> request = context.getRequest();
        Exception exception = context.getException();
        AmazonServiceException serviceError =
                exception instanceof AmazonServiceException ? (AmazonServiceException) exception : null;

        Long sent = request == null ? null : request.getHandlerContext(SENT_AT);
        if (sent != null) {
            String date = null;
            if (serviceError != null) {
                date = header(serviceError.getHttpHeaders(), "Date");
            }
            if (date == null) {
                date = dateOf(context.getResponse());
            }
            support.observeDate(date, sent, received);
        }

        if (serviceError != null && SdkHookSupport.rejectsCredentials(serviceError.getErrorCode())) {
            support.onServiceError(serviceError.getErrorCode(), signingAccessKeyId(request));
        }
    }

    /**
     * The agent behind this handler.
     *
     * @return the agent given to {@link #create(FreshcredsAgent)} or {@link #builder(FreshcredsAgent)}
     */
    public FreshcredsAgent agent() {
        return agent;
    }

    @Override
    public String toString() {
        return "FreshcredsRequestHandler{" + support + "}";
    }

    /**
     * The access key id that signed the request: from its {@code Authorization} header (the signer
     * put it there for this very attempt), else the credentials the SDK resolved for the execution
     * ({@link HandlerContextKey#AWS_CREDENTIALS}), else null (the agent's current key is then used).
     */
    static String signingAccessKeyId(Request<?> request) {
        if (request == null) {
            return null;
        }
        String fromHeader = SdkHookSupport.accessKeyIdFromAuthorization(header(request.getHeaders(), "Authorization"));
        if (fromHeader != null) {
            return fromHeader;
        }
        AWSCredentials credentials = request.getHandlerContext(HandlerContextKey.AWS_CREDENTIALS);
        return credentials == null ? null : credentials.getAWSAccessKeyId();
    }

    private static String dateOf(Response<?> response) {
        if (response == null) {
            return null;
        }
        HttpResponse http = response.getHttpResponse();
        if (http == null) {
            return null;
        }
        Map<String, List<String>> headers = http.getAllHeaders();
        if (headers == null) {
            return null;
        }
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if ("Date".equalsIgnoreCase(e.getKey()) && e.getValue() != null && !e.getValue().isEmpty()) {
                return e.getValue().get(0);
            }
        }
        return null;
    }

    private static String header(Map<String, String> headers, String name) {
        if (headers == null) {
            return null;
        }
        String value = headers.get(name);
        if (value != null) {
            return value;
        }
        for (Map.Entry<String, String> e : headers.entrySet()) {
            if (name.equalsIgnoreCase(e.getKey())) {
                return e.getValue();
            }
        }
        return null;
    }

    /**
     * Options of a {@link FreshcredsRequestHandler}, the same ones as {@code dev.freshcreds.sdkv2.FreshcredsExecutionInterceptor.Builder}.
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
         * handler still measures the clock skew and still replaces rejected credentials.
         *
         * @param enabled false to leave the request's time offset as the SDK set it
         * @return this builder
         */
        public Builder signingTimeCorrection(boolean enabled) {
            options.signingTimeCorrection(enabled);
            return this;
        }

        /**
         * Correct the signing time only when the estimated offset, either way, is at least this large
         * (default 60 s); smaller offsets are left to the SDK.
         *
         * @param threshold the threshold, millisecond precision; zero corrects any offset. Not null or
         *                  negative, which {@link #build()} checks
         * @return this builder
         */
        public Builder skewThreshold(Duration threshold) {
            options.skewThreshold(threshold);
            return this;
        }

        /** Tests only: the wall clock used to time requests. */
        Builder wallClock(WallClock clock) {
            options.wallClock(clock);
            return this;
        }

        /**
         * Creates the handler.
         *
         * @return a new handler
         * @throws dev.freshcreds.InvalidConfigurationException if the skew threshold is null or
         *                                                      negative
         */
        public FreshcredsRequestHandler build() {
            SdkHookSupport.Agent hooked = SdkHookSupport.Agent.of(agent::clockOffsetMillis, agent::recordServerTime,
                    () -> agent.currentSnapshot().accessKeyId(), agent::invalidate);
            return new FreshcredsRequestHandler(agent, new SdkHookSupport(hooked, options));
        }
    }
}
