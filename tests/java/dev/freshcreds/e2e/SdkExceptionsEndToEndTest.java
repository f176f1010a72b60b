package dev.freshcreds.e2e;

import com.amazonaws.auth.AWSCredentialsProviderChain;
import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import dev.freshcreds.AgentClosedException;
import dev.freshcreds.CredentialsUnavailableException;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProviderChain;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sts.StsClient;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The providers fail the way the SDKs' own providers do: with the SDK's {@code SdkClientException}
 * (v1: {@code com.amazonaws.SdkClientException}, v2:
 * {@code software.amazon.awssdk.core.exception.SdkClientException}) whose cause is the freshcreds
 * exception. A real client call with IMDS unavailable is caught by {@code catch (SdkClientException e)},
 * and the SDKs' provider chains still move on past a failing freshcreds provider.
 */
public class SdkExceptionsEndToEndTest {
    /** The simulator's built-in static key pair. */
    private static final String STATIC_KEY_ID = "AKIASIMSTATIC0000001";
    private static final String STATIC_SECRET = "simStaticSecretKey0000000000000000000001";
    private static final String STATIC_ARN = "arn:aws:iam::123456789012:user/sim-static-user";

    private static SimulatorProcess sim;
    /** A loopback port nothing listens on: IMDS there is refused at once. */
    private static String closedImds;

    @BeforeClass
    public static void startSimulator() throws Exception {
        sim = SimulatorProcess.start();
        closedImds = "http://127.0.0.1:" + closedLoopbackPort();
    }

    @AfterClass
    public static void stopSimulator() {
        if (sim != null) {
            sim.close();
        }
    }

    private static int closedLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** A v2 provider whose only source, IMDS, is a closed loopback port: one quick attempt. */
    private static FreshcredsV2CredentialsProvider failingV2() {
        return FreshcredsV2CredentialsProvider.builder()
                .source("imds")
                .imdsEndpoint(closedImds)
                .maxAttempts(1)
                .attemptTimeout(Duration.ofMillis(500))
                .build();
    }

    /** The v1 counterpart of {@link #failingV2()}. */
    private static FreshcredsV1CredentialsProvider failingV1() {
        return FreshcredsV1CredentialsProvider.builder()
                .source("imds")
                .imdsEndpoint(closedImds)
                .maxAttempts(1)
                .attemptTimeout(Duration.ofMillis(500))
                .build();
    }

    private static void assertWraps(Throwable sdk, Class<? extends RuntimeException> causeType) {
        Throwable cause = sdk.getCause();
        assertNotNull("the freshcreds exception is kept as the cause: " + sdk, cause);
        assertTrue("cause is a " + causeType.getSimpleName() + ": " + cause, causeType.isInstance(cause));
        assertEquals("the message is the freshcreds message", cause.getMessage(), sdk.getMessage());
    }

    @Test(timeout = 60_000)
    public void v2ClientCallFailsWithSdkClientExceptionCausedByCredentialsUnavailable() {
        FreshcredsV2CredentialsProvider provider = failingV2();
        StsClient sts = StsClients.v2(sim, provider, provider.executionInterceptor());
        try {
            sts.getCallerIdentity();
            fail("GetCallerIdentity worked without credentials");
        } catch (SdkClientException e) {
            System.out.println("SdkExceptionsEndToEndTest v2 client: " + e);
            assertTrue("cause is CredentialsUnavailableException: " + e.getCause(),
                    e.getCause() instanceof CredentialsUnavailableException);
            assertTrue("the message names the endpoint: " + e.getMessage(), e.getMessage().contains(closedImds));
        } finally {
            sts.close(); // closes the provider, which owns its agent
        }
        assertTrue(provider.agent().isClosed());
    }

    @Test(timeout = 60_000)
    public void v1ClientCallFailsWithSdkClientExceptionCausedByCredentialsUnavailable() {
        FreshcredsV1CredentialsProvider provider = failingV1();
        AWSSecurityTokenService sts = StsClients.v1(sim, provider, provider.requestHandler());
        try {
            sts.getCallerIdentity(new GetCallerIdentityRequest());
            fail("GetCallerIdentity worked without credentials");
        } catch (com.amazonaws.SdkClientException e) {
            System.out.println("SdkExceptionsEndToEndTest v1 client: " + e);
            assertTrue("cause is CredentialsUnavailableException: " + e.getCause(),
                    e.getCause() instanceof CredentialsUnavailableException);
            assertTrue("the message names the endpoint: " + e.getMessage(), e.getMessage().contains(closedImds));
        } finally {
            sts.shutdown();
            provider.close();
        }
    }

    @Test(timeout = 60_000)
    public void v2ProviderMethodsWrapEveryFreshcredsFailure() {
        FreshcredsV2CredentialsProvider provider = failingV2();
        try {
            try {
                provider.resolveCredentials();
                fail("resolved");
            } catch (SdkClientException e) {
                assertWraps(e, CredentialsUnavailableException.class);
            }
            try {
                provider.refresh();
                fail("refreshed");
            } catch (SdkClientException e) {
                assertWraps(e, CredentialsUnavailableException.class);
            }
        } finally {
            provider.close();
        }
        try {
            provider.resolveCredentials();
            fail("resolved after close");
        } catch (SdkClientException e) {
            assertWraps(e, AgentClosedException.class);
        }
        try {
            provider.refresh();
            fail("refreshed after close");
        } catch (SdkClientException e) {
            assertWraps(e, AgentClosedException.class);
        }
    }

    @Test(timeout = 60_000)
    public void v1ProviderMethodsWrapEveryFreshcredsFailure() {
        FreshcredsV1CredentialsProvider provider = failingV1();
        try {
            try {
                provider.getCredentials();
                fail("resolved");
            } catch (com.amazonaws.SdkClientException e) {
                assertWraps(e, CredentialsUnavailableException.class);
            }
            try {
                provider.refresh();
                fail("refreshed");
            } catch (com.amazonaws.SdkClientException e) {
                assertWraps(e, CredentialsUnavailableException.class);
            }
        } finally {
            provider.close();
        }
        try {
            provider.getCredentials();
            fail("resolved after close");
        } catch (com.amazonaws.SdkClientException e) {
            assertWraps(e, AgentClosedException.class);
        }
        try {
            provider.refresh();
            fail("refreshed after close");
        } catch (com.amazonaws.SdkClientException e) {
            assertWraps(e, AgentClosedException.class);
        }
    }

    /** The agent's own API keeps the freshcreds types; only the SDK providers translate. */
    @Test(timeout = 60_000)
    public void theAgentItselfKeepsTheFreshcredsTypes() {
        FreshcredsAgent agent = FreshcredsAgent.builder()
                .source("imds")
                .imdsEndpoint(closedImds)
                .maxAttempts(1)
                .attemptTimeout(Duration.ofMillis(500))
                .build();
        try {
            agent.currentSnapshot();
            fail("resolved");
        } catch (CredentialsUnavailableException expected) {
            // the agent's API is unchanged
        } finally {
            agent.close();
        }
        // a provider over a closed agent the caller owned
        FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.create(agent);
        FreshcredsV1CredentialsProvider v1 = FreshcredsV1CredentialsProvider.create(agent);
        try {
            v2.resolveCredentials();
            fail("resolved from a closed agent");
        } catch (SdkClientException e) {
            assertWraps(e, AgentClosedException.class);
        }
        try {
            v1.getCredentials();
            fail("resolved from a closed agent");
        } catch (com.amazonaws.SdkClientException e) {
            assertWraps(e, AgentClosedException.class);
        }
    }

    /** SDK v2's AwsCredentialsProviderChain catches RuntimeException from a provider and moves on. */
    @Test(timeout = 60_000)
    public void v2ChainFallsThroughAFailingFreshcredsProviderToStaticCredentials() {
        FreshcredsV2CredentialsProvider freshcreds = failingV2();
        AwsCredentialsProviderChain chain = AwsCredentialsProviderChain.builder()
                .reuseLastProviderEnabled(false)
                .credentialsProviders(freshcreds,
                        StaticCredentialsProvider.create(AwsBasicCredentials.create(STATIC_KEY_ID, STATIC_SECRET)))
                .build();
        StsClient sts = StsClients.v2(sim, chain, null);
        try {
            assertEquals(STATIC_KEY_ID, chain.resolveCredentials().accessKeyId());
            assertEquals("the call is signed with the static keys", STATIC_ARN, sts.getCallerIdentity().arn());
        } finally {
            sts.close(); // closes the chain, which closes the freshcreds provider
        }
        assertTrue("the chain closed the provider, which closed its agent", freshcreds.agent().isClosed());
    }

    /** SDK v1's AWSCredentialsProviderChain catches Exception from a provider and moves on. */
    @Test(timeout = 60_000)
    public void v1ChainFallsThroughAFailingFreshcredsProviderToStaticCredentials() {
        FreshcredsV1CredentialsProvider freshcreds = failingV1();
        AWSCredentialsProviderChain chain = new AWSCredentialsProviderChain(freshcreds,
                new AWSStaticCredentialsProvider(new BasicAWSCredentials(STATIC_KEY_ID, STATIC_SECRET)));
        chain.setReuseLastProvider(false);
        AWSSecurityTokenService sts = StsClients.v1(sim, chain, null);
        try {
            assertEquals(STATIC_KEY_ID, chain.getCredentials().getAWSAccessKeyId());
            assertEquals("the call is signed with the static keys", STATIC_ARN,
                    sts.getCallerIdentity(new GetCallerIdentityRequest()).getArn());
        } finally {
            sts.shutdown();
            freshcreds.close();
        }
    }

    /** When every link fails, each SDK's chain error carries the freshcreds message among its own. */
    @Test(timeout = 60_000)
    public void chainsOfOnlyFreshcredsReportItsMessage() {
        FreshcredsV2CredentialsProvider v2 = failingV2();
        FreshcredsV1CredentialsProvider v1 = failingV1();
        try {
            try {
                AwsCredentialsProviderChain.of(v2).resolveCredentials();
                fail("resolved");
            } catch (SdkClientException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(closedImds));
            }
            try {
                new AWSCredentialsProviderChain(v1).getCredentials();
                fail("resolved");
            } catch (com.amazonaws.SdkClientException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(closedImds));
            }
        } finally {
            v1.close();
            v2.close();
        }
    }

    /** Sanity: a working provider is untouched by the translation (same object while fresh). */
    @Test(timeout = 60_000)
    public void workingProvidersStillResolve() {
        FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.builder()
                .source("imds")
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        try {
            assertSame(v2.resolveCredentials(), v2.resolveCredentials());
        } finally {
            v2.close();
        }
    }
}
