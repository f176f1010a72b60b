package dev.freshcreds.e2e;

import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import dev.freshcreds.CredentialsUnavailableException;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import software.amazon.awssdk.services.sts.StsClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * IMDS in trouble while the real SDK clients keep calling STS: throttled (every IMDS request gets
 * 429), serving credentials that have already expired, and a token PUT that never returns (the hop
 * limit 1 symptom inside containers). Each test runs against its own simulator process.
 */
public class ImdsTroubleScenarioTest {
    /** The cache's refresh backoff after a failed refresh: 300-600 s on the agent's (compressed) clock. */
    private static final double MIN_REFRESH_BACKOFF_SIM_SECONDS = 300;
    /** The agent's default attempts per IMDS call. */
    private static final int DEFAULT_MAX_ATTEMPTS = 3;

    private SimulatorProcess sim;

    @Before
    public void startSimulator() throws Exception {
        sim = SimulatorProcess.start(); // 600x: 1 h credentials, one real second is ten minutes
    }

    @After
    public void stopSimulator() {
        if (sim != null) {
            sim.close();
        }
    }

    private FreshcredsAgent.Builder agentBuilder() {
        return FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale());
    }

    /**
     * IMDS throttles every request for ~3 real seconds (30 simulated minutes) after the first load,
     * while the background refresh falls due inside that window. Callers keep the cached credentials
     * and no STS call fails. IMDS sees few requests, bounded by the backoff:
     *
     * <ul>
     * <li>the credentials are fresh (the simulator issues a new generation just before the load) and
     * the advisory window is 50 min, so the refresher first tries 10-15 simulated minutes after the
     * load (10 min + up to 5 min fleet jitter), i.e. inside the throttle window;</li>
     * <li>each refresh attempt makes at most {@code maxAttempts} (3) IMDS requests: every IMDS step
     * retries a 429 up to {@code maxAttempts} times and the fetch stops at the first step that fails
     * (the session token and the role name are already cached);</li>
     * <li>after a failed refresh the cache leaves IMDS alone for at least 300 simulated seconds
     * (0.5 s real at 600x), serving the cached credentials to every caller meanwhile;</li>
     * </ul>
     * so over a throttle window of W real seconds IMDS gets at most
     * {@code 3 * (1 + floor(W * 600 / 300))} requests, 21 for W = 3 s, whatever the call rate.
     * Without backoff a refresher would ask at every caller's request (thousands here).
     */
    @Test(timeout = 120_000)
    public void throttledImdsServesCachedCredentialsAndBacksOff() throws Exception {
        FreshcredsAgent agent = agentBuilder().advisoryWindow(Duration.ofMinutes(50)).build();
        FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
        FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
        AWSSecurityTokenService v1 = StsClients.v1(sim, v1Provider, v1Provider.requestHandler());
        StsClient v2 = StsClients.v2(sim, v2Provider, v2Provider.executionInterceptor());
        try {
            sim.rotate(); // a fresh generation: 60 simulated minutes (6 s real) to live
            CredentialsSnapshot first = agent.currentSnapshot();

            SimulatorProcess.Stats before = sim.stats();
            long onAt = System.nanoTime();
            sim.patchFaults("{\"imds_throttle\":true}");
            List<String> failures = new ArrayList<String>();
            Set<String> keysDuringThrottle = new LinkedHashSet<String>();
            long calls = 0;
            while (System.nanoTime() - onAt < TimeUnit.MILLISECONDS.toNanos(3000)) {
                String e1 = StsClients.call(v1);
                String e2 = StsClients.call(v2);
                calls += 2;
                if (e1 != null) {
                    failures.add("v1 " + e1);
                }
                if (e2 != null) {
                    failures.add("v2 " + e2);
                }
                keysDuringThrottle.add(v1Provider.getCredentials().getAWSAccessKeyId());
                keysDuringThrottle.add(v2Provider.resolveCredentials().accessKeyId());
                Thread.sleep(5);
            }
            sim.patchFaults("{\"imds_throttle\":false}");
            double throttleRealSeconds = (System.nanoTime() - onAt) / 1e9;
            SimulatorProcess.Stats after = sim.stats();

            long imdsRequests = after.imdsRequestsTotal() - before.imdsRequestsTotal();
            long throttled = after.imdsThrottled() - before.imdsThrottled();
            long bound = DEFAULT_MAX_ATTEMPTS
                    * (1 + (long) Math.floor(throttleRealSeconds * sim.timeScale() / MIN_REFRESH_BACKOFF_SIM_SECONDS));
            String context = "throttle " + String.format("%.2f", throttleRealSeconds) + " s; IMDS requests during it "
                    + imdsRequests + " (429: " + throttled + "), bound " + bound + "; STS calls " + calls
                    + "; agent " + agent.statsJson();
            System.out.println("ImdsTroubleScenarioTest throttle: " + context);
            assertEquals("STS failures during the throttle: " + failures + "; " + context, 0, failures.size());
            assertEquals("callers kept the cached credentials; " + context, 1, keysDuringThrottle.size());
            assertTrue("callers kept the cached credentials; " + context, keysDuringThrottle.contains(first.accessKeyId()));
            assertTrue("the refresher did try during the throttle; " + context, throttled >= 1);
            assertEquals("every IMDS request during the throttle was throttled; " + context, imdsRequests, throttled);
            assertTrue("IMDS requests during the throttle bounded by the backoff; " + context, imdsRequests <= bound);

            // Recovery: new credentials before the cached ones expire, and STS calls keep working.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (agent.currentSnapshot().accessKeyId().equals(first.accessKeyId())) {
                if (System.nanoTime() > deadline) {
                    fail("no new credentials after the throttle; " + sim.stats() + "; agent " + agent.statsJson());
                }
                assertEquals(null, StsClients.call(v1));
                assertEquals(null, StsClients.call(v2));
                Thread.sleep(20);
            }
            assertEquals(null, StsClients.call(v1));
            assertEquals(null, StsClients.call(v2));
            SimulatorProcess.Stats end = sim.stats();
            assertEquals("ExpiredToken at the simulator: " + end, 0, end.stsExpiredToken());
            assertEquals("other STS failures at the simulator: " + end, 0, end.stsOtherFailures());
        } finally {
            v1.shutdown();
            v2.close();
            agent.close();
        }
    }

    /**
     * IMDS serves the current keys with an {@code Expiration} already in the past (it happens during
     * AWS-side outages; the simulator's STS still accepts them). The agent uses them a little longer
     * instead of failing, and every call succeeds, including the very first.
     */
    @Test(timeout = 120_000)
    public void expiredCredentialsFromImdsKeepCallsWorking() throws Exception {
        sim.patchFaults("{\"serve_expired_credentials\":true}");
        FreshcredsAgent agent = agentBuilder().build();
        FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
        FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
        AWSSecurityTokenService v1 = StsClients.v1(sim, v1Provider, v1Provider.requestHandler());
        StsClient v2 = StsClients.v2(sim, v2Provider, v2Provider.executionInterceptor());
        try {
            List<String> failures = new ArrayList<String>();
            long calls = 0;
            long start = System.nanoTime();
            while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(6)) {
                if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(4)) {
                    sim.patchFaults("{\"serve_expired_credentials\":false}");
                }
                String e1 = StsClients.call(v1);
                String e2 = StsClients.call(v2);
                calls += 2;
                if (e1 != null) {
                    failures.add("v1 " + e1);
                }
                if (e2 != null) {
                    failures.add("v2 " + e2);
                }
                CredentialsSnapshot snap = agent.currentSnapshot();
                assertTrue("the agent never hands out credentials it considers expired: " + snap,
                        snap.expirationEpochMillis() > sim.simNowEpochMillis());
                Thread.sleep(10);
            }
            String context = "calls " + calls + "; stats " + sim.stats() + "; agent " + agent.statsJson();
            System.out.println("ImdsTroubleScenarioTest expired: " + context);
            assertEquals("failed calls: " + failures + "; " + context, 0, failures.size());
            assertTrue(context, calls > 50);
        } finally {
            v1.shutdown();
            v2.close();
            agent.close();
        }
    }

    /**
     * The IMDSv2 token PUT never answers (in a container with the hop limit at 1 the response is
     * dropped on the way back). The first load fails within attemptTimeout x attempts plus the retry
     * pause and some slack, with an error that names the hop limit, for both SDKs' providers.
     */
    @Test(timeout = 120_000)
    public void hangingTokenPutFailsFastAndNamesTheHopLimit() throws Exception {
        sim.patchFaults("{\"token_put_hang\":true}");
        final long attemptTimeoutMillis = 300;
        final int attempts = 2;
        // attempts x timeout, plus the one retry pause (full jitter, at most 100 ms before the 2nd
        // attempt), plus 1.5 s for everything else (agent start, thread hand-offs, a loaded machine)
        final long boundMillis = attempts * attemptTimeoutMillis + 100 + 1500;

        FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .attemptTimeout(Duration.ofMillis(attemptTimeoutMillis))
                .maxAttempts(attempts)
                .build();
        FreshcredsV1CredentialsProvider v1 = FreshcredsV1CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .attemptTimeout(Duration.ofMillis(attemptTimeoutMillis))
                .maxAttempts(attempts)
                .build();
        try {
            long hangsBefore = sim.stats().get("token_put_hangs");
            long t0 = System.nanoTime();
            try {
                v2.resolveCredentials();
                fail("credentials resolved although the token PUT hangs");
            } catch (software.amazon.awssdk.core.exception.SdkClientException e) {
                assertTrue("caused by CredentialsUnavailableException: " + e.getCause(),
                        e.getCause() instanceof CredentialsUnavailableException);
                long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                System.out.println("ImdsTroubleScenarioTest hang (v2): " + elapsed + " ms: " + e.getMessage());
                assertTrue("failed within " + boundMillis + " ms, took " + elapsed, elapsed <= boundMillis);
                assertTrue("waited for the attempt timeouts, took " + elapsed, elapsed >= attempts * attemptTimeoutMillis - 50);
                assertTrue("message names the hop limit: " + e.getMessage(), e.getMessage().contains("hop limit"));
            }
            assertEquals("token PUTs held by the simulator: one per attempt", attempts,
                    sim.stats().get("token_put_hangs") - hangsBefore);

            t0 = System.nanoTime();
            try {
                v1.getCredentials();
                fail("credentials resolved although the token PUT hangs");
            } catch (com.amazonaws.SdkClientException e) {
                assertTrue("caused by CredentialsUnavailableException: " + e.getCause(),
                        e.getCause() instanceof CredentialsUnavailableException);
                long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                System.out.println("ImdsTroubleScenarioTest hang (v1): " + elapsed + " ms");
                assertTrue("failed within " + boundMillis + " ms, took " + elapsed, elapsed <= boundMillis);
                assertTrue("message names the hop limit: " + e.getMessage(), e.getMessage().contains("hop limit"));
            }
        } finally {
            v1.close();
            v2.close();
        }
    }
}
