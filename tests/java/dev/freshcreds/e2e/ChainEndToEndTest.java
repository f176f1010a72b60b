package dev.freshcreds.e2e;

import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;
import software.amazon.awssdk.services.sts.StsClient;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The chain's second link, Java system properties, end to end: they win over the instance role,
 * the agent says so (source, shadowed), and the real SDK v1 and v2 clients sign with them.
 */
public class ChainEndToEndTest extends SimulatorTestBase {
    /** The simulator's built-in static key pair. */
    private static final String STATIC_KEY_ID = "AKIASIMSTATIC0000001";
    private static final String STATIC_SECRET = "simStaticSecretKey0000000000000000000001";

    @Test(timeout = 60_000)
    public void systemPropertiesWinAndTheInstanceRoleTheyShadowIsReported() throws Exception {
        System.setProperty("aws.accessKeyId", STATIC_KEY_ID);
        System.setProperty("aws.secretKey", STATIC_SECRET);
        FreshcredsAgent agent;
        try {
            agent = FreshcredsAgent.builder()
                    .imdsEndpoint(sim.baseUrl())
                    .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                    .build();
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretKey");
        }
        FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
        FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
        AWSSecurityTokenService v1 = StsClients.v1(sim, v1Provider, v1Provider.requestHandler());
        StsClient v2 = StsClients.v2(sim, v2Provider, v2Provider.executionInterceptor());
        try {
            assertEquals("systemProperties", agent.source());
            assertEquals(STATIC_KEY_ID, v1Provider.getCredentials().getAWSAccessKeyId());
            assertEquals(STATIC_KEY_ID, v2Provider.resolveCredentials().accessKeyId());
            assertEquals("arn:aws:iam::123456789012:user/sim-static-user", v1.getCallerIdentity(new GetCallerIdentityRequest()).getArn());
            assertEquals("arn:aws:iam::123456789012:user/sim-static-user", v2.getCallerIdentity().arn());

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!agent.shadowed().contains("imds")) {
                assertTrue("the instance role on the simulator is reported as shadowed: " + agent.shadowed(), System.nanoTime() < deadline);
                Thread.sleep(20);
            }
            assertEquals(Arrays.asList("imds"), agent.shadowed());
            assertEquals("the shadow check never fetches the role's credentials", 0, sim.stats().credentialGets());
        } finally {
            v1.shutdown();
            v2.close();
            agent.close();
        }
    }

    @Test(timeout = 60_000)
    public void aPinnedSourceIgnoresSystemProperties() throws Exception {
        System.setProperty("aws.accessKeyId", STATIC_KEY_ID);
        System.setProperty("aws.secretKey", STATIC_SECRET);
        FreshcredsAgent agent;
        try {
            agent = FreshcredsAgent.builder()
                    .source("imds")
                    .imdsEndpoint(sim.baseUrl())
                    .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                    .build();
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretKey");
        }
        try {
            assertEquals("imds", agent.source());
            assertTrue(agent.currentSnapshot().accessKeyId().startsWith("ASIA"));
            assertTrue(agent.shadowed().isEmpty());
        } finally {
            agent.close();
        }
    }
}
