package dev.freshcreds.sdkv2;

import dev.freshcreds.AgentClosedException;
import dev.freshcreds.AgentOptions;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.SdkChainOrder;
import dev.freshcreds.FreshcredsException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.utils.SdkAutoCloseable;

import java.time.Instant;

/**
 * AWS SDK for Java 2.x credentials provider ({@link AwsCredentialsProvider}, and
 * {@link SdkAutoCloseable} so that a client closes it) backed by a {@link FreshcredsAgent}.
 *
 * <pre>{@code
 * FreshcredsV2CredentialsProvider credentials = FreshcredsV2CredentialsProvider.builder().build();
 * S3Client s3 = S3Client.builder()
 *         .credentialsProvider(credentials)
 *         .overrideConfiguration(c -> c.addExecutionInterceptor(credentials.executionInterceptor()))
 *         .build();
 * }</pre>
 *
 * <p>{@link #resolveCredentials()} returns the same {@code AwsCredentials} object for as long as the
 * agent hands out the same snapshot, so the per-request path allocates nothing. Thread-safe.
 *
 * <p>A provider from {@link #builder()} owns its agent and closes it in {@link #close()}, which the
 * SDK calls when the client is closed; one from {@link #create(FreshcredsAgent)} uses an agent the
 * caller owns and closes, which many providers and clients may share.
 *
 * <p><b>Chain order.</b> {@link #builder()} follows SDK v2's {@code DefaultCredentialsProvider}: Java
 * system properties, environment variables, web identity, profile, container, instance role (IMDS),
 * that is {@code source("systemProperties", "environment", "webIdentity", "profile", "container",
 * "imds")}, so that with both system properties and environment variables set it picks what SDK v2
 * would. {@link Builder#source(String...)} replaces that order. An agent from
 * {@link FreshcredsAgent#builder()} keeps freshcreds' own default, SDK v1's order (environment
 * variables before system properties); a provider from {@link #create(FreshcredsAgent)} uses the
 * order its agent was built with.
 *
 * <p><b>Errors.</b> Like the SDK's own providers, {@link #resolveCredentials()} and {@link #refresh()}
 * fail with the SDK's {@link SdkClientException}: its message is the freshcreds message and its
 * {@linkplain Throwable#getCause() cause} the {@link FreshcredsException} (e.g. a
 * {@link dev.freshcreds.CredentialsUnavailableException}). A client call without credentials throws
 * that exception, and {@code AwsCredentialsProviderChain} moves on to its next provider. Building a
 * provider ({@link Builder#build()}) reports a bad option or a missing native library with the
 * freshcreds types, as {@link FreshcredsAgent.Builder#build()} does; the agent's own methods keep
 * them too.
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
     *
     * @param agent the agent to take credentials from; not null
     * @return a new provider
     * @throws NullPointerException if {@code agent} is null
     */
    public static FreshcredsV2CredentialsProvider create(FreshcredsAgent agent) {
        return new FreshcredsV2CredentialsProvider(agent, false);
    }

    /**
     * Builds a provider that owns its own agent and closes it on {@link #close()}. Give such a
     * provider to one client only: closing that client closes the agent.
     *
     * @return a new builder with the agent's defaults except the chain order, which is SDK v2's
     *         (see {@link Builder}); it takes every option of {@link FreshcredsAgent#builder()}
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The agent's current credentials (see {@link FreshcredsAgent#currentSnapshot()}): no native call
     * and no allocation while they stay valid; may block on the first call and inside the mandatory
     * refresh window.
     *
     * @return {@code AwsSessionCredentials}, with the expiration when there is one, when there is a
     *         session token, else {@code AwsBasicCredentials}; the same object while the agent's
     *         snapshot is the same
     * @throws SdkClientException if credentials could not be fetched (cause:
     *                            {@link dev.freshcreds.CredentialsUnavailableException}), after
     *                            {@link #close()} of a provider that owns its agent or once the agent
     *                            is closed (cause: {@link AgentClosedException}), or on any other
     *                            freshcreds failure (cause: that {@link FreshcredsException})
     */
    @Override
    public AwsCredentials resolveCredentials() {
        try {
            return resolve();
        } catch (FreshcredsException e) {
            throw sdkClientException(e);
        }
    }

    private AwsCredentials resolve() {
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

    /**
     * Forces the agent to fetch new credentials now, blocking until the fetch ends (see
     * {@link FreshcredsAgent#refresh()}). Not needed for normal operation: the agent refreshes ahead
     * of expiry by itself.
     *
     * @throws SdkClientException if the refresh failed (cause:
     *                            {@link dev.freshcreds.CredentialsUnavailableException}), after
     *                            {@link #close()} of a provider that owns its agent or once the agent
     *                            is closed (cause: {@link AgentClosedException}), or on any other
     *                            freshcreds failure (cause: that {@link FreshcredsException})
     */
    public void refresh() {
        try {
            if (closed) {
                throw new AgentClosedException("this FreshcredsV2CredentialsProvider was closed; build a new one");
            }
            agent.refresh();
        } catch (FreshcredsException e) {
            throw sdkClientException(e);
        }
    }

    /** What the SDK's own providers throw: the freshcreds message, the freshcreds exception as cause. */
    private static SdkClientException sdkClientException(FreshcredsException e) {
        return SdkClientException.builder().message(e.getMessage()).cause(e).build();
    }

    /**
     * The SDK hook for clients using this provider: skew-corrected signing, clock-skew sampling and
     * invalidation of rejected credentials. Install it with
     * {@code .overrideConfiguration(c -> c.addExecutionInterceptor(provider.executionInterceptor()))};
     * see {@link FreshcredsExecutionInterceptor} (and its builder for options).
     *
     * @return a new interceptor with the default options over this provider's agent
     */
    public FreshcredsExecutionInterceptor executionInterceptor() {
        return FreshcredsExecutionInterceptor.create(agent);
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
        agent.close();
    }

    @Override
    public String toString() {
        return "FreshcredsV2CredentialsProvider{" + agent + "}";
    }

    /**
     * Builds a provider that owns its agent. Every option of the agent is here, as on
     * {@link FreshcredsAgent.Builder} (both extend {@link AgentOptions}), e.g.
     * {@code builder().source("imds").loadTimeout(Duration.ofSeconds(10)).build()}. Not thread-safe.
     *
     * <p>One default differs from {@link FreshcredsAgent#builder()}: the sources are tried in SDK v2's
     * order ({@code DefaultCredentialsProvider}: system properties, environment, web identity,
     * profile, container, IMDS) rather than SDK v1's (environment first). {@link #source(String...)}
     * replaces it.
     */
    public static final class Builder extends AgentOptions<Builder> {
        private Builder() {
            chainOrder(SdkChainOrder.SDK_V2);
        }

        /**
         * Builds the agent and a provider that owns it.
         *
         * @return a new provider; its {@link FreshcredsV2CredentialsProvider#close()} closes the agent
         * @throws dev.freshcreds.NativeLibraryUnavailableException if the native library cannot be loaded
         * @throws dev.freshcreds.InvalidConfigurationException     if native code refuses an option, or no
         *                                                          credential source is configured
         */
        public FreshcredsV2CredentialsProvider build() {
            return new FreshcredsV2CredentialsProvider(buildAgent(), true);
        }
    }
}
