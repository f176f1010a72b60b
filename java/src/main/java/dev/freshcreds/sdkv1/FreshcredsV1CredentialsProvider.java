package dev.freshcreds.sdkv1;

import com.amazonaws.SdkClientException;
import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.auth.BasicSessionCredentials;
import dev.freshcreds.AgentClosedException;
import dev.freshcreds.AgentOptions;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.SdkChainOrder;
import dev.freshcreds.FreshcredsException;

import java.io.Closeable;

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
 *
 * <p><b>Chain order.</b> {@link #builder()} follows SDK v1's {@code DefaultAWSCredentialsProviderChain}:
 * environment variables, Java system properties, web identity, profile, then container credentials or
 * the instance role ({@code EC2ContainerCredentialsProviderWrapper}), that is
 * {@code source("environment", "systemProperties", "webIdentity", "profile", "container", "imds")}.
 * This is also {@link FreshcredsAgent#builder()}'s default. {@link Builder#source(String...)} replaces
 * it; a provider from {@link #create(FreshcredsAgent)} uses the order its agent was built with.
 *
 * <p><b>Errors.</b> Like the SDK's own providers, {@link #getCredentials()} and {@link #refresh()} fail
 * with the SDK's {@link SdkClientException}: its message is the freshcreds message and its
 * {@linkplain Throwable#getCause() cause} the {@link FreshcredsException} (e.g. a
 * {@link dev.freshcreds.CredentialsUnavailableException}). A client call without credentials throws
 * that exception, and {@code AWSCredentialsProviderChain} moves on to its next provider. Building a
 * provider ({@link Builder#build()}) reports a bad option or a missing native library with the
 * freshcreds types, as {@link FreshcredsAgent.Builder#build()} does; the agent's own methods keep
 * them too.
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
     * @return a new builder with the agent's defaults, the chain order set to SDK v1's (see
     *         {@link Builder}); it takes every option of {@link FreshcredsAgent#builder()}
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
     * @throws SdkClientException if credentials could not be fetched (cause:
     *                            {@link dev.freshcreds.CredentialsUnavailableException}), after
     *                            {@link #close()} or once the agent is closed (cause:
     *                            {@link AgentClosedException}), or on any other freshcreds failure
     *                            (cause: that {@link FreshcredsException})
     */
    @Override
    public AWSCredentials getCredentials() {
        try {
            return resolve();
        } catch (FreshcredsException e) {
            throw sdkClientException(e);
        }
    }

    private AWSCredentials resolve() {
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
     * @throws SdkClientException if the refresh failed (cause:
     *                            {@link dev.freshcreds.CredentialsUnavailableException}), after
     *                            {@link #close()} or once the agent is closed (cause:
     *                            {@link AgentClosedException}), or on any other freshcreds failure
     *                            (cause: that {@link FreshcredsException})
     */
    @Override
    public void refresh() {
        try {
            if (closed) {
                throw new AgentClosedException("this FreshcredsV1CredentialsProvider was closed; build a new one");
            }
            agent.refresh();
        } catch (FreshcredsException e) {
            throw sdkClientException(e);
        }
    }

    /** What the SDK's own providers throw: the freshcreds message, the freshcreds exception as cause. */
    private static SdkClientException sdkClientException(FreshcredsException e) {
        return new SdkClientException(e.getMessage(), e);
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
     * {@link SdkClientException} caused by {@link AgentClosedException}. Idempotent.
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
     * Builds a provider that owns its agent. Every option of the agent is here, as on
     * {@link FreshcredsAgent.Builder} (both extend {@link AgentOptions}), e.g.
     * {@code builder().source("imds").loadTimeout(Duration.ofSeconds(10)).build()}. Not thread-safe.
     *
     * <p>The sources are tried in SDK v1's order ({@code DefaultAWSCredentialsProviderChain}:
     * environment, system properties, web identity, profile, container, IMDS), the same as
     * {@link FreshcredsAgent#builder()}'s default; {@link #source(String...)} replaces it.
     */
    public static final class Builder extends AgentOptions<Builder> {
        private Builder() {
            // Set, not left to the agent's default, so that this provider keeps SDK v1's order
            // whatever the agent's default becomes.
            chainOrder(SdkChainOrder.SDK_V1);
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
            return new FreshcredsV1CredentialsProvider(buildAgent(), true);
        }
    }
}
