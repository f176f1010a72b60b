package dev.freshcreds.sdkv1;

import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.auth.BasicSessionCredentials;
import dev.freshcreds.AgentClosedException;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.internal.CredentialsSnapshot;

import java.io.Closeable;
import java.time.Duration;

/**
 * AWS SDK for Java 1.x credentials provider backed by a {@link FreshcredsAgent}.
 *
 * <p>{@link #getCredentials()} returns the same {@code AWSCredentials} object for as long as the
 * agent hands out the same snapshot, so the per-request path allocates nothing.
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

    /** A provider over an agent the caller owns; {@link #close()} does not close the agent. */
    public static FreshcredsV1CredentialsProvider create(FreshcredsAgent agent) {
        return new FreshcredsV1CredentialsProvider(agent, false);
    }

    /** Builds a provider that owns its own agent and closes it on {@link #close()}. */
    public static Builder builder() {
        return new Builder();
    }

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

    /** Forces the agent to fetch new credentials now. */
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
     */
    public FreshcredsRequestHandler requestHandler() {
        return FreshcredsRequestHandler.create(agent);
    }

    /** The agent behind this provider. */
    public FreshcredsAgent agent() {
        return agent;
    }

    /** Closes the agent if this provider owns it (built with {@link #builder()}). Idempotent. */
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

    /** Mirrors {@link FreshcredsAgent.Builder}; the built provider owns its agent. */
    public static final class Builder {
        private final FreshcredsAgent.Builder agentBuilder = FreshcredsAgent.builder();

        private Builder() {
        }

        public Builder imdsEndpoint(String endpoint) {
            agentBuilder.imdsEndpoint(endpoint);
            return this;
        }

        public Builder roleName(String roleName) {
            agentBuilder.roleName(roleName);
            return this;
        }

        public Builder advisoryWindow(Duration window) {
            agentBuilder.advisoryWindow(window);
            return this;
        }

        public Builder attemptTimeout(Duration timeout) {
            agentBuilder.attemptTimeout(timeout);
            return this;
        }

        public Builder maxAttempts(int attempts) {
            agentBuilder.maxAttempts(attempts);
            return this;
        }

        public Builder tokenTtl(Duration ttl) {
            agentBuilder.tokenTtl(ttl);
            return this;
        }

        public Builder imdsDisabled(boolean disabled) {
            agentBuilder.imdsDisabled(disabled);
            return this;
        }

        public Builder compressedClockForTesting(long originEpochMillis, double scale) {
            agentBuilder.compressedClockForTesting(originEpochMillis, scale);
            return this;
        }

        public FreshcredsV1CredentialsProvider build() {
            return new FreshcredsV1CredentialsProvider(agentBuilder.build(), true);
        }
    }
}
