package dev.freshcreds.sdkv1;

import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.auth.BasicSessionCredentials;
import dev.freshcreds.AgentClosedException;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.CredentialsSnapshot;

import java.io.Closeable;
import java.time.Duration;

/**
 * AWS SDK for Java 1.x credentials provider ({@link AWSCredentialsProvider}) backed by a
 * {@link FreshcredsAgent}.
 *
 * <pre>{@code
 * FreshcredsV1CredentialsProvider credentials = FreshcredsV1CredentialsProvider.builder().build();
 * AmazonSQS sqs = AmazonSQSClientBuilder.standard()
 *         .withCredentials(credentials)
 *         .withRequestHandlers(credentials.requestHandler())
 *         .build();
 * }</pre>
 *
 * <p>{@link #getCredentials()} returns the same {@code AWSCredentials} object for as long as the
 * agent hands out the same snapshot, so the per-request path allocates nothing. Thread-safe.
 *
 * <p>A provider from {@link #builder()} owns its agent and closes it in {@link #close()}; one from
 * {@link #create(FreshcredsAgent)} uses an agent the caller owns, which many providers and clients
 * may share. Close the provider, or the agent you own, when the application is done with it.
 */
public final class FreshcredsV1CredentialsProvider implements AWSCredentialsProvider, Closeable {

    /** The SDK credentials built for one snapshot; published through one volatile field. */
    private static final class Cached {
        final CredentialsSnapshot snapshot;
        final AWSCredentials credentials;

        Cached(CredentialsSnapshot snapshot, AWSCredentials credentials) {
            this.snapshot = snapshot;
            this.credentials = credentials;
        }
    }

    private final FreshcredsAgent agent;
    private final boolean ownsAgent;
    private volatile Cached cached;
    private volatile boolean closed;

    private FreshcredsV1CredentialsProvider(FreshcredsAgent agent, boolean ownsAgent) {
        if (agent == null) {
            throw new NullPointerException("agent");
        }
        this.agent = agent;
        this.ownsAgent = ownsAgent;
    }

    /**
     * A provider over an agent the caller owns; {@link #close()} does not close the agent.
     *
     * @param agent the agent to take credentials from; not null
     * @return a new provider
     * @throws NullPointerException if {@code agent} is null
     */
    public static FreshcredsV1CredentialsProvider create(FreshcredsAgent agent) {
        return new FreshcredsV1CredentialsProvider(agent, false);
    }

    /**
     * Builds a provider that owns its own agent and closes it on {@link #close()}.
     *
     * @return a new builder with the agent's defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The agent's current credentials (see {@link FreshcredsAgent#currentSnapshot()}): no native call
     * and no allocation while they stay valid; may block on the first call and inside the mandatory
     * refresh window.
     *
     * @return {@code BasicSessionCredentials} when there is a session token, else
     *         {@code BasicAWSCredentials}; the same object while the agent's snapshot is the same
     * @throws dev.freshcreds.CredentialsUnavailableException if credentials could not be fetched
     * @throws AgentClosedException                          after {@link #close()}, or once the agent
     *                                                       is closed
     */
    @Override
    public AWSCredentials getCredentials() {
        if (closed) {
            throw new AgentClosedException("this FreshcredsV1CredentialsProvider was closed; build a new one");
        }
        CredentialsSnapshot snap = agent.currentSnapshot();
        Cached c = cached;
        if (c != null && c.snapshot == snap) {
            return c.credentials;
        }
        AWSCredentials creds = snap.sessionToken() != null
                ? new BasicSessionCredentials(snap.accessKeyId(), snap.secretAccessKey(), snap.sessionToken())
                : new BasicAWSCredentials(snap.accessKeyId(), snap.secretAccessKey());
        cached = new Cached(snap, creds);
        return creds;
    }

    /**
     * Forces the agent to fetch new credentials now, blocking until the fetch ends (see
     * {@link FreshcredsAgent#refresh()}). Not needed for normal operation: the agent refreshes ahead
     * of expiry by itself.
     *
     * @throws dev.freshcreds.CredentialsUnavailableException if the refresh failed
     * @throws AgentClosedException                          after {@link #close()}, or once the agent
     *                                                       is closed
     */
    @Override
    public void refresh() {
        if (closed) {
            throw new AgentClosedException("this FreshcredsV1CredentialsProvider was closed; build a new one");
        }
        agent.refresh();
    }

    /**
     * The SDK hook for clients using this provider: skew-corrected signing, clock-skew sampling and
     * invalidation of rejected credentials. Install it with
     * {@code .withRequestHandlers(provider.requestHandler())}; see {@link FreshcredsRequestHandler}
     * (and its builder for options).
     *
     * @return a new handler with the default options over this provider's agent
     */
    public FreshcredsRequestHandler requestHandler() {
        return FreshcredsRequestHandler.create(agent);
    }

    /**
     * The agent behind this provider, e.g. for {@link FreshcredsAgent#statsJson()}.
     *
     * @return the agent, never null; do not close it when this provider owns it (use {@link #close()})
     */
    public FreshcredsAgent agent() {
        return agent;
    }

    /**
     * Closes the agent if this provider owns it (built with {@link #builder()}). Either way, later
     * {@link #getCredentials()} and {@link #refresh()} calls on this provider throw
     * {@link AgentClosedException}. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        cached = null;
        if (ownsAgent) {
            agent.close();
        }
    }

    @Override
    public String toString() {
        return "FreshcredsV1CredentialsProvider{" + agent + "}";
    }

    /**
     * Mirrors {@link FreshcredsAgent.Builder}, except {@code source} and {@code loadTimeout} (for
     * those, build the agent and use {@link #create(FreshcredsAgent)}); the built provider owns its
     * agent. Not thread-safe.
     */
    public static final class Builder {
        private final FreshcredsAgent.Builder agentBuilder = FreshcredsAgent.builder();

        private Builder() {
        }

        /**
         * See {@link FreshcredsAgent.Builder#imdsEndpoint(String)}.
         *
         * @param endpoint IMDS base URL, e.g. {@code http://169.254.169.254}; not null or blank
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code endpoint} is null or blank
         */
        public Builder imdsEndpoint(String endpoint) {
            agentBuilder.imdsEndpoint(endpoint);
            return this;
        }

        /**
         * See {@link FreshcredsAgent.Builder#roleName(String)}.
         *
         * @param roleName the instance profile role; by default the first role IMDS lists
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code roleName} is null or blank
         */
        public Builder roleName(String roleName) {
            agentBuilder.roleName(roleName);
            return this;
        }

        /**
         * See {@link FreshcredsAgent.Builder#advisoryWindow(Duration)}.
         *
         * @param window how long before expiry background refresh starts; at least 5 minutes apply
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code window} is null or negative
         */
        public Builder advisoryWindow(Duration window) {
            agentBuilder.advisoryWindow(window);
            return this;
        }

        /**
         * See {@link FreshcredsAgent.Builder#attemptTimeout(Duration)}.
         *
         * @param timeout timeout of one HTTP attempt, 1 ms to 1 hour (default 1 s)
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code timeout} is null or under 1 ms
         */
        public Builder attemptTimeout(Duration timeout) {
            agentBuilder.attemptTimeout(timeout);
            return this;
        }

        /**
         * See {@link FreshcredsAgent.Builder#maxAttempts(int)}.
         *
         * @param attempts attempts per IMDS request, 1 to 20 (default 3)
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code attempts} is less than 1
         */
        public Builder maxAttempts(int attempts) {
            agentBuilder.maxAttempts(attempts);
            return this;
        }

        /**
         * See {@link FreshcredsAgent.Builder#tokenTtl(Duration)}.
         *
         * @param ttl IMDSv2 session token TTL in whole seconds, 1 s to 6 hours (the default)
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code ttl} is null, zero or negative
         */
        public Builder tokenTtl(Duration ttl) {
            agentBuilder.tokenTtl(ttl);
            return this;
        }

        /**
         * See {@link FreshcredsAgent.Builder#imdsDisabled(boolean)}.
         *
         * @param disabled true to never contact IMDS
         * @return this builder
         */
        public Builder imdsDisabled(boolean disabled) {
            agentBuilder.imdsDisabled(disabled);
            return this;
        }

        /**
         * Tests and demos only; see {@link FreshcredsAgent.Builder#compressedClockForTesting(long, double)}.
         *
         * @param originEpochMillis the instant, epoch milliseconds, at which native code's clock equals
         *                          the wall clock
         * @param scale             how many times faster than real time native code's clock runs,
         *                          from 1 to 1,000,000
         * @return this builder
         * @throws dev.freshcreds.InvalidConfigurationException if {@code scale} is not a positive finite
         *                                                      number
         */
        public Builder compressedClockForTesting(long originEpochMillis, double scale) {
            agentBuilder.compressedClockForTesting(originEpochMillis, scale);
            return this;
        }

        /**
         * Builds the agent and a provider that owns it.
         *
         * @return a new provider; its {@link FreshcredsV1CredentialsProvider#close()} closes the agent
         * @throws dev.freshcreds.NativeLibraryUnavailableException if the native library cannot be loaded
         * @throws dev.freshcreds.InvalidConfigurationException     if native code refuses an option, or no
         *                                                          credential source is configured
         */
        public FreshcredsV1CredentialsProvider build() {
            return new FreshcredsV1CredentialsProvider(agentBuilder.build(), true);
        }
    }
}
