package dev.freshcreds.e2e;

import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * 64 threads hammer one agent (through the SDK v2 provider) across credential rotations. The
 * simulator must see exactly one credential fetch for each generation the agent picked up after the
 * first: no thundering herd, no duplicate refreshes.
 */
public class ConcurrentRefreshTest extends SimulatorTestBase {
    private static final int THREADS = 64;

    /** What one hammering thread saw; only the thread writes it until it is joined. */
    private static final class Seen {
        volatile String lastAccessKeyId;
        final Set<Long> generations = new TreeSet<Long>();
        final Set<String> accessKeyIds = new TreeSet<String>();
        long calls;
    }

    @Test(timeout = 120_000)
    public void oneFetchPerGenerationUnder64Threads() throws Exception {
        final FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        final FreshcredsV2CredentialsProvider provider = FreshcredsV2CredentialsProvider.create(agent);
        final AtomicBoolean stop = new AtomicBoolean();
        final CountDownLatch start = new CountDownLatch(1);
        final List<Throwable> errors = new CopyOnWriteArrayList<Throwable>();
        final Seen[] seen = new Seen[THREADS];
        List<Thread> threads = new ArrayList<Thread>();
        try {
            for (int t = 0; t < THREADS; t++) {
                final Seen s = seen[t] = new Seen();
                Thread th = new Thread(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            start.await();
                            long lastGeneration = -1;
                            String lastKey = null;
                            int i = 0;
                            while (!stop.get()) {
                                AwsCredentials c = provider.resolveCredentials();
                                CredentialsSnapshot snap = agent.currentSnapshot();
                                if (snap.generation() != lastGeneration) {
                                    lastGeneration = snap.generation();
                                    s.generations.add(lastGeneration);
                                }
                                String key = c.accessKeyId();
                                if (key != lastKey) {
                                    lastKey = key;
                                    s.accessKeyIds.add(key);
                                    s.lastAccessKeyId = key;
                                }
                                s.calls++;
                                if ((++i & 255) == 0) {
                                    Thread.yield(); // 64 spinning threads on 2 cores: let the refresher run
                                }
                            }
                        } catch (Throwable e) {
                            errors.add(e);
                        }
                    }
                }, "hammer-" + t);
                th.setDaemon(true);
                threads.add(th);
                th.start();
            }
            start.countDown(); // all 64 ask for the very first credentials at once

            long firstGeneration = -1;
            CredentialsSnapshot target;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (true) {
                if (!errors.isEmpty()) {
                    target = null;
                    break;
                }
                if (System.nanoTime() > deadline) {
                    fail("agent did not pick up two rotations within 90 s; stats " + sim.stats()
                            + "; agent " + agent.statsJson() + "; simulator stderr: " + sim.stderrTail());
                }
                CredentialsSnapshot now = agent.currentSnapshot();
                if (firstGeneration < 0) {
                    firstGeneration = now.generation();
                }
                if (now.generation() >= firstGeneration + 2 && allSaw(seen, now.accessKeyId())) {
                    target = now;
                    break;
                }
                Thread.sleep(50);
            }
            stop.set(true);
            for (Thread th : threads) {
                th.join(10_000);
            }
            assertTrue("hammer threads failed: " + errors, errors.isEmpty());
            agent.close(); // no background fetch may happen while we read the stats

            Set<Long> pickedUp = new TreeSet<Long>();
            long calls = 0;
            for (Seen s : seen) {
                pickedUp.addAll(s.generations);
                calls += s.calls;
                assertTrue("every thread saw access key id " + target.accessKeyId() + " of generation "
                        + target.generation() + "; one saw " + s.accessKeyIds, s.accessKeyIds.contains(target.accessKeyId()));
                assertTrue("every thread saw the first and a later access key id: " + s.accessKeyIds, s.accessKeyIds.size() >= 2);
            }
            SimulatorProcess.Stats stats = sim.stats();
            Map<Long, Long> bySimGeneration = stats.credentialGetsByGeneration();
            String context = "agent picked up generations " + pickedUp + " (snapshot generations are the agent's"
                    + " own counter); simulator credential_gets_by_generation " + bySimGeneration
                    + "; calls " + calls + "; stats " + stats;
            System.out.println("ConcurrentRefreshTest: " + context);

            // Each simulator generation the agent fetched after its first load was fetched exactly once:
            // 64 threads crossing the refresh point caused one fetch, not 64.
            assertTrue("agent picked up at least 3 generations; " + context, pickedUp.size() >= 3);
            assertTrue("simulator served at least 3 generations; " + context, bySimGeneration.size() >= 3);
            long firstSimGeneration = bySimGeneration.keySet().iterator().next();
            assertTrue("first load fetched at least once; " + context, bySimGeneration.get(firstSimGeneration) >= 1);
            for (Map.Entry<Long, Long> e : bySimGeneration.entrySet()) {
                if (e.getKey() != firstSimGeneration) {
                    assertEquals("credential fetches of simulator generation " + e.getKey() + "; " + context,
                            1L, (long) e.getValue());
                }
            }
        } finally {
            stop.set(true);
            agent.close();
        }
    }

    private static boolean allSaw(Seen[] seen, String accessKeyId) {
        for (Seen s : seen) {
            if (!accessKeyId.equals(s.lastAccessKeyId)) {
                return false;
            }
        }
        return true;
    }
}
