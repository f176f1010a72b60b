package dev.freshcreds.e2e;

import com.amazonaws.SDKGlobalTime;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.internal.WallClock;
import dev.freshcreds.sdkv1.FreshcredsRequestHandler;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsExecutionInterceptor;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import software.amazon.awssdk.services.sts.StsClient;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * A host clock 10 minutes slow or fast. The simulator's AWS time runs {@code aws_clock_skew_ms} off
 * this host's: its {@code Date} headers, its STS 5-minute {@code X-Amz-Date} check and its credential
 * timeline. With the freshcreds hooks, the real SDK v1 and v2 STS clients (no retries) succeed on
 * every call, from several threads, across credential rotations, and the agent's estimate matches
 * the injected skew; the same clients without the hook (or with correction switched off) fail with
 * {@code SignatureDoesNotMatch}, which proves the simulator enforces the check.
 */
public class ClockSkewScenarioTest {
    private static final int THREADS_PER_SDK = 2;
    private SimulatorProcess sim;

    @Before
    public void setUp() throws Exception {
        resetSdkGlobalClockOffsets();
        sim = SimulatorProcess.start();
    }

    @After
    public void tearDown() {
        resetSdkGlobalClockOffsets();
        if (sim != null) {
            sim.close();
        }
    }

    /** SDK v1's skew adjuster sets a JVM-wide offset after the control client's failure; keep tests independent. */
    private static void resetSdkGlobalClockOffsets() {
        SDKGlobalTime.setGlobalTimeOffset(0);
        software.amazon.awssdk.core.SdkGlobalTime.setGlobalTimeOffset(0);
    }

    @Test(timeout = 150_000)
    public void hostClockTenMinutesSlow() throws Exception {
        runScenario(600_000);
    }

    @Test(timeout = 150_000)
    public void hostClockTenMinutesFast() throws Exception {
        runScenario(-600_000);
    }

    private void runScenario(final long skewMillis) throws Exception {
        sim.setFaults("{\"aws_clock_skew_ms\":" + skewMillis + "}");
        long simSkew = sim.awsNowEpochMillis() - WallClock.SYSTEM.currentTimeMillis();
        assertTrue("simulator applies the skew: AWS now - host now = " + simSkew, Math.abs(simSkew - skewMillis) < 2000);

        final FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        final FreshcredsV1CredentialsProvider v1Provider = FreshcredsV1CredentialsProvider.create(agent);
        final FreshcredsV2CredentialsProvider v2Provider = FreshcredsV2CredentialsProvider.create(agent);
        final AWSSecurityTokenService v1 = StsClients.v1(sim, v1Provider, v1Provider.requestHandler());
        final StsClient v2 = StsClients.v2(sim, v2Provider, v2Provider.executionInterceptor());
        try {
            // The very first calls already sign with AWS's time: the first credential load sampled IMDS's Date.
            assertEquals("first SDK v1 call", null, StsClients.call(v1));
            assertEquals("first SDK v2 call", null, StsClients.call(v2));

            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicLong calls = new AtomicLong(2);
            final List<String> failures = new CopyOnWriteArrayList<String>();
            final Set<String> keys = ConcurrentHashMap.newKeySet();
            List<Thread> threads = new ArrayList<Thread>();
            for (int t = 0; t < 2 * THREADS_PER_SDK; t++) {
                final boolean useV1 = t % 2 == 0;
                Thread th = new Thread(new Runnable() {
                    @Override
                    public void run() {
                        while (!stop.get()) {
                            String error = useV1 ? StsClients.call(v1) : StsClients.call(v2);
                            calls.incrementAndGet();
                            if (error != null) {
                                failures.add((useV1 ? "v1: " : "v2: ") + error);
                            }
                            keys.add(agent.currentSnapshot().accessKeyId());
                            try {
                                Thread.sleep(10);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    }
                }, "skew-caller-" + t);
                th.setDaemon(true);
                threads.add(th);
            }
            long startGeneration = sim.stats().generation();
            for (Thread th : threads) {
                th.start();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (sim.stats().generation() < startGeneration + 2 || keys.size() < 3) {
                if (System.nanoTime() > deadline) {
                    stop.set(true);
                    fail("no 2 rotations within 90 s; stats " + sim.stats() + "; agent " + agent.statsJson()
                            + "; simulator stderr: " + sim.stderrTail());
                }
                Thread.sleep(100);
            }
            stop.set(true);
            for (Thread th : threads) {
                th.join(10_000);
            }
            SimulatorProcess.Stats stats = sim.stats();
            long offset = agent.clockOffsetMillis();
            String context = "skew " + skewMillis + " ms; agent offset " + offset + " ms; calls " + calls.get()
                    + "; keys " + keys.size() + "; stats " + stats + "; agent " + agent.statsJson();
            System.out.println("ClockSkewScenarioTest: " + context);
            assertEquals("failed calls with the hooks installed: " + failures + "; " + context, 0, failures.size());
            assertEquals("SignatureDoesNotMatch at the simulator; " + context, 0, stats.stsSignatureDoesNotMatch());
            assertEquals("ExpiredToken at the simulator; " + context, 0, stats.stsExpiredToken());
            assertTrue("many calls; " + context, calls.get() > 100);
            assertTrue("agent's offset within 2000 ms of the injected skew; " + context,
                    Math.abs(offset - skewMillis) <= 2000);

            // Control: the same clients without the hook, and with the hook's correction switched off.
            // (Own v2 provider objects over the same agent: closing an SDK v2 client closes its provider.)
            assertEquals(0, SDKGlobalTime.getGlobalTimeOffset());
            AWSSecurityTokenService v1Plain = StsClients.v1(sim, v1Provider, null);
            AWSSecurityTokenService v1Off = StsClients.v1(sim, v1Provider,
                    FreshcredsRequestHandler.builder(agent).signingTimeCorrection(false).build());
            StsClient v2Plain = StsClients.v2(sim, FreshcredsV2CredentialsProvider.create(agent), null);
            StsClient v2Off = StsClients.v2(sim, FreshcredsV2CredentialsProvider.create(agent),
                    FreshcredsExecutionInterceptor.builder(agent).signingTimeCorrection(false).build());
            try {
                Map<String, String> control = new TreeMap<String, String>();
                control.put("v1 without hook", StsClients.call(v1Plain));
                control.put("v1 hook, correction off", StsClients.call(v1Off));
                control.put("v2 without hook", StsClients.call(v2Plain));
                control.put("v2 hook, correction off", StsClients.call(v2Off));
                for (Map.Entry<String, String> e : control.entrySet()) {
                    assertEquals(e.getKey() + " (all: " + control + ")", "SignatureDoesNotMatch", e.getValue());
                }
                assertEquals("control failures counted by the simulator", 4, sim.stats().stsSignatureDoesNotMatch());
            } finally {
                v1Plain.shutdown();
                v1Off.shutdown();
                v2Plain.close();
                v2Off.close();
            }
            // And the hooked clients still work after all that.
            resetSdkGlobalClockOffsets();
            assertEquals(null, StsClients.call(v1));
            assertEquals(null, StsClients.call(v2));
        } finally {
            v1.shutdown();
            v2.close();
            agent.close();
        }
    }
}
