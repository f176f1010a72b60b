package dev.freshcreds.sdkv2;

import dev.freshcreds.AgentClosedException;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.internal.CredentialsSnapshot;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.utils.SdkAutoCloseable;

import java.time.Duration;
import java.time.Instant;

/**
 * AWS SDK for Java 2.x credentials provider backed by a {@link FreshcredsAgent}.
 *
 * <p>{@link #resolveCredentials()} returns the same {@code AwsCredentials} object for as long as the
 * agent hands out the same snapshot, so the per-request path allocates nothing.
 */
public final class FreshcredsV2CredentialsProvider implements AwsCredentialsProvider, SdkAutoCloseable {

    /** The SDK credentials built for one snapshot; published through one volatile field. */
    private static final class Cached {
        final CredentialsSnapshot snapshot;
        final AwsCredentials credentials;

        Cached(CredentialsSnapshot snapshot, AwsCredentials credentials) {
            this.snapshot = snapshot;
            this.credentials = credentials;
        }
    }

    private final FreshcredsAgent agent;
    private final boolean ownsAgent;
    private volatile Cached cached;
    private volatile boolean closed;

    private FreshcredsV2CredentialsProvider(FreshcredsAgent agent, boolean ownsAgent) {
        if (agent == null) {
            throw new NullPointerException("agent");
        }
        this.agent = agent;
        this.ownsAgent = ownsAgent;
    }

    /**
     * A provider over an agent the caller owns. SDK v2 closes a client's credentials provider when
     * the client is closed, so {@link #close()} on this provider does nothing: one agent can serve
     * many clients, and closing one client leaves the others working. Close the agent yourself.
     */
    public static FreshcredsV2CredentialsProvider create(FreshcredsAgent agent) {
        return new FreshcredsV2CredentialsProvider(agent, false);
    }

    /** Builds a provider that owns its own agent and closes it on {@link #close()}. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public AwsCredentials resolveCredentials() {
        if (closed) {
            throw new AgentClosedException("this FreshcredsV2CredentialsProvider was closed; build a new one");
        }
        CredentialsSnapshot snap = agent.currentSnapshot();
        Cached c = cached;
        if (c != null && c.snapshot == snap) {
            return c.credentials;
        }
        AwsCredentials creds;
        if (snap.sessionToken() != null) {
            AwsSessionCredentials.Builder b = AwsSessionCredentials.builder()
                    .accessKeyId(snap.accessKeyId())
                    .secretAccessKey(snap.secretAccessKey())
                    .sessionToken(snap.sessionToken());
            if (snap.hasExpiration()) {
                b.expirationTime(Instant.ofEpochMilli(snap.expirationEpochMillis()));
            }
            creds = b.build();
        } else {
            creds = AwsBasicCredentials.create(snap.accessKeyId(), snap.secretAccessKey());
        }
        cached = new Cached(snap, creds);
        return creds;
    }

    /** Forces the agent to fetch new credentials now. */
    public void refresh() {
        if (closed) {
            throw new AgentClosedException("this FreshcredsV2CredentialsProvider was closed; build a new one");
        }
        agent.refresh();
    }

    /**
     * The SDK hook for clients using this provider: skew-corrected signing, clock-skew sampling and
     * invalidation of rejected credentials. Install it with
     * {@code .overrideConfiguration(c -> c.addExecutionInterceptor(provider.executionInterceptor()))};
     * see {@link FreshcredsExecutionInterceptor} (and its builder for options).
     */
    public FreshcredsExecutionInterceptor executionInterceptor() {
        return FreshcredsExecutionInterceptor.create(agent);
    }

    /** The agent behind this provider. */
    public FreshcredsAgent agent() {
        return agent;
    }

    /**
     * Closes the agent if this provider owns it (built with {@link #builder()}); a provider made
     * with {@link #create(FreshcredsAgent)} stays usable (see there). Idempotent.
     */
    @Override
    public void close() {
        if (!ownsAgent) {
            return;
        }
        closed = true;
        cached = null;
        if (ownsAgent) {
            agent.close();
        }
    }

    @Override
    public String toString() {
        return "FreshcredsV2CredentialsProvider{" + agent + "}";
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

        public FreshcredsV2CredentialsProvider build() {
            return new FreshcredsV2CredentialsProvider(agentBuilder.build(), true);
        }
    }
}
