package dev.freshcreds.e2e;

import com.amazonaws.AmazonServiceException;
import com.amazonaws.ClientConfiguration;
import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSSessionCredentials;
import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicSessionCredentials;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityResult;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import org.junit.Test;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Real AWS SDK for Java 1.x STS client → FreshcredsV1CredentialsProvider → simulator (IMDS + STS with
 * SigV4 verification), across at least three credential rotations in compressed time.
 */
public class SdkV1EndToEndTest extends SimulatorTestBase {
    static AWSSecurityTokenService stsClient(com.amazonaws.auth.AWSCredentialsProvider credentials) {
        return AWSSecurityTokenServiceClientBuilder.standard()
                .withEndpointConfiguration(new EndpointConfiguration(sim.baseUrl(), "us-east-1"))
                .withClientConfiguration(new ClientConfiguration().withMaxErrorRetry(0)) // every failure is visible
                .withCredentials(credentials)
                .build();
    }

    @Test(timeout = 120_000)
    public void freshcredsKeepsSigningAcrossRotationsWhileStaticCredentialsExpire() throws Exception {
        FreshcredsV1CredentialsProvider provider = FreshcredsV1CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        AWSSecurityTokenService fresh = stsClient(provider);
        try {
            // Static client with the very first credentials: works now, fails once they expire.
            AWSCredentials first = provider.getCredentials();
            assertTrue("IMDS role credentials carry a session token", first instanceof AWSSessionCredentials);
            AWSSessionCredentials firstSession = (AWSSessionCredentials) first;
            AWSSecurityTokenService stale = stsClient(new AWSStaticCredentialsProvider(new BasicSessionCredentials(
                    firstSession.getAWSAccessKeyId(), firstSession.getAWSSecretKey(), firstSession.getSessionToken())));
            GetCallerIdentityResult staleOk = stale.getCallerIdentity(new GetCallerIdentityRequest());
            assertNotNull(staleOk.getArn());

            long startGeneration = sim.stats().generation();
            long target = startGeneration + 3;
            long calls = 0;
            List<String> failures = new ArrayList<String>();
            Set<String> accessKeyIds = new LinkedHashSet<String>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (sim.stats().generation() < target || accessKeyIds.size() < 4) {
                if (System.nanoTime() > deadline) {
                    fail("no 3 rotations seen within 90 s; stats " + sim.stats() + "; simulator stderr: " + sim.stderrTail());
                }
                for (int i = 0; i < 10; i++) {
                    try {
                        GetCallerIdentityResult r = fresh.getCallerIdentity(new GetCallerIdentityRequest());
                        assertNotNull(r.getAccount());
                        calls++;
                    } catch (AmazonServiceException e) {
                        failures.add(e.getErrorCode() + ": " + e.getErrorMessage());
                    }
                    accessKeyIds.add(provider.getCredentials().getAWSAccessKeyId());
                    Thread.sleep(20);
                }
            }
            SimulatorProcess.Stats stats = sim.stats();
            assertEquals("freshcreds client failures: " + failures, 0, failures.size());
            assertEquals("simulator saw ExpiredToken while only freshcreds signed: " + stats, 0, stats.stsExpiredToken());
            assertEquals("simulator saw other STS failures: " + stats, 0, stats.stsOtherFailures());
            assertTrue("calls made: " + calls, calls > 50);
            assertTrue("distinct access key ids used: " + accessKeyIds, accessKeyIds.size() >= 4);

            // By now the first credentials are past their expiration (they live 6 real seconds).
            try {
                stale.getCallerIdentity(new GetCallerIdentityRequest());
                fail("static credentials from generation " + startGeneration + " still worked after 3 rotations");
            } catch (AmazonServiceException e) {
                assertEquals("ExpiredToken", e.getErrorCode());
            }
            assertEquals(1, sim.stats().stsExpiredToken());

            // The freshcreds client still works after all that.
            assertNotNull(fresh.getCallerIdentity(new GetCallerIdentityRequest()).getArn());
        } finally {
            fresh.shutdown();
            provider.close();
        }
    }

    @Test(timeout = 60_000)
    public void providerReturnsTheSameObjectWhileTheSnapshotIsUnchanged() {
        FreshcredsV1CredentialsProvider provider = FreshcredsV1CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        try {
            AWSCredentials a = provider.getCredentials();
            AWSCredentials b = provider.getCredentials();
            if (a.getAWSAccessKeyId().equals(b.getAWSAccessKeyId())) {
                assertTrue("same snapshot → same credentials object", a == b);
            }
            assertTrue(provider.toString().indexOf(a.getAWSSecretKey()) < 0);
        } finally {
            provider.close();
        }
    }
}
