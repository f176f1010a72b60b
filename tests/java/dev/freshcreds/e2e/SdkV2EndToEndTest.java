package dev.freshcreds.e2e;

import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;
import software.amazon.awssdk.services.sts.model.StsException;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Real AWS SDK for Java 2.x STS client → FreshcredsV2CredentialsProvider → simulator, across at least
 * three credential rotations in compressed time.
 */
public class SdkV2EndToEndTest extends SimulatorTestBase {
    static StsClient stsClient(AwsCredentialsProvider credentials) {
        return StsClient.builder()
                .endpointOverride(URI.create(sim.baseUrl()))
                .region(Region.US_EAST_1)
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry())) // every failure is visible
                .credentialsProvider(credentials)
                .build();
    }

    @Test(timeout = 120_000)
    public void freshcredsKeepsSigningAcrossRotationsWhileStaticCredentialsExpire() throws Exception {
        FreshcredsV2CredentialsProvider provider = FreshcredsV2CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        StsClient fresh = stsClient(provider);
        try {
            AwsCredentials first = provider.resolveCredentials();
            assertTrue("IMDS role credentials carry a session token", first instanceof AwsSessionCredentials);
            AwsSessionCredentials firstSession = (AwsSessionCredentials) first;
            assertTrue("expiration is passed on", firstSession.expirationTime().isPresent());
            StsClient stale = stsClient(StaticCredentialsProvider.create(AwsSessionCredentials.create(
                    firstSession.accessKeyId(), firstSession.secretAccessKey(), firstSession.sessionToken())));
            try {
                assertNotNull(stale.getCallerIdentity().arn());

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
                            GetCallerIdentityResponse r = fresh.getCallerIdentity();
                            assertNotNull(r.account());
                            calls++;
                        } catch (StsException e) {
                            failures.add(e.awsErrorDetails().errorCode() + ": " + e.awsErrorDetails().errorMessage());
                        }
                        accessKeyIds.add(provider.resolveCredentials().accessKeyId());
                        Thread.sleep(20);
                    }
                }
                SimulatorProcess.Stats stats = sim.stats();
                assertEquals("freshcreds client failures: " + failures, 0, failures.size());
                assertEquals("simulator saw ExpiredToken while only freshcreds signed: " + stats, 0, stats.stsExpiredToken());
                assertEquals("simulator saw other STS failures: " + stats, 0, stats.stsOtherFailures());
                assertTrue("calls made: " + calls, calls > 50);
                assertTrue("distinct access key ids used: " + accessKeyIds, accessKeyIds.size() >= 4);

                try {
                    stale.getCallerIdentity();
                    fail("static credentials from generation " + startGeneration + " still worked after 3 rotations");
                } catch (StsException e) {
                    assertEquals("ExpiredToken", e.awsErrorDetails().errorCode());
                }
                assertEquals(1, sim.stats().stsExpiredToken());

                assertNotNull(fresh.getCallerIdentity().arn());
            } finally {
                stale.close();
            }
        } finally {
            fresh.close();
            provider.close();
        }
    }

    @Test(timeout = 60_000)
    public void providerReturnsTheSameObjectWhileTheSnapshotIsUnchanged() {
        FreshcredsV2CredentialsProvider provider = FreshcredsV2CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        try {
            AwsCredentials a = provider.resolveCredentials();
            AwsCredentials b = provider.resolveCredentials();
            if (a.accessKeyId().equals(b.accessKeyId())) {
                assertSame("same snapshot → same credentials object", a, b);
            }
            assertTrue(provider.toString().indexOf(a.secretAccessKey()) < 0);
        } finally {
            provider.close();
        }
    }
}
