package dev.freshcreds.e2e;

import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Assume;
import org.junit.Test;

import java.lang.management.ManagementFactory;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

/** The per-request path (agent, SDK v1 provider, SDK v2 provider) allocates nothing while nothing changed. */
public class HotPathAllocationTest extends SimulatorTestBase {
    private interface Body {
        Object call();
    }

    /** Bytes allocated by this thread over {@code n} calls; the smallest of a few tries. */
    private static long allocatedBytes(Body body, int n) {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Assume.assumeTrue(mx instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean hs = (com.sun.management.ThreadMXBean) mx;
        long tid = Thread.currentThread().getId();
        long best = Long.MAX_VALUE;
        for (int attempt = 0; attempt < 5; attempt++) {
            for (int i = 0; i < 20_000; i++) {
                body.call(); // warm up, and load the snapshot if it just changed
            }
            long before = hs.getThreadAllocatedBytes(tid);
            for (int i = 0; i < n; i++) {
                body.call();
            }
            long after = hs.getThreadAllocatedBytes(tid);
            best = Math.min(best, after - before);
            if (best == 0) {
                break;
            }
        }
        return best;
    }

    @Test(timeout = 120_000)
    public void noAllocationOnTheHotPath() {
        final FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        try {
            final FreshcredsV1CredentialsProvider v1 = FreshcredsV1CredentialsProvider.create(agent);
            final FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.create(agent);
            CredentialsSnapshot s = agent.currentSnapshot();
            assertSame(s, agent.currentSnapshot());
            assertEquals("agent.currentSnapshot()", 0, allocatedBytes(new Body() {
                public Object call() {
                    return agent.currentSnapshot();
                }
            }, 100_000));
            assertEquals("v1 getCredentials()", 0, allocatedBytes(new Body() {
                public Object call() {
                    return v1.getCredentials();
                }
            }, 100_000));
            assertEquals("v2 resolveCredentials()", 0, allocatedBytes(new Body() {
                public Object call() {
                    return v2.resolveCredentials();
                }
            }, 100_000));
        } finally {
            agent.close();
        }
    }
}
