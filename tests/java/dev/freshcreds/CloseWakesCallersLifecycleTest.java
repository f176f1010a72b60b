package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorProcess;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

/**
 * Callers blocked in native code on a fetch that hangs (IMDS's token PUT never answers, with a long
 * attempt timeout) come back with {@link AgentClosedException} within a second of {@link
 * FreshcredsAgent#close()}, instead of when the fetch gives up.
 */
public class CloseWakesCallersLifecycleTest {
    private static SimulatorProcess sim;

    @BeforeClass
    public static void startSimulator() throws Exception {
        sim = SimulatorProcess.start();
        sim.patchFaults("{\"token_put_hang\":true}");
    }

    @AfterClass
    public static void stopSimulator() {
        if (sim != null) {
            sim.close();
        }
    }

    private interface Call {
        Object run();
    }

    @Test(timeout = 60_000)
    public void blockedCallersGetAgentClosedExceptionPromptlyOnClose() throws Exception {
        final FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .attemptTimeout(Duration.ofSeconds(45))
                .maxAttempts(1)
                .build();
        // each: {what the call returned or threw, System.nanoTime() when it did}
        final BlockingQueue<Object[]> results = new ArrayBlockingQueue<Object[]>(2);
        Call[] calls = {
            new Call() { public Object run() { return agent.currentSnapshot(); } },
            new Call() { public Object run() { return agent.refresh(); } },
        };
        for (final Call call : calls) {
            Thread t = new Thread(new Runnable() {
                @Override
                public void run() {
                    Object outcome;
                    try {
                        outcome = call.run();
                    } catch (Throwable e) {
                        outcome = e;
                    }
                    results.add(new Object[] {outcome, System.nanoTime()});
                }
            }, "blocked-caller");
            t.setDaemon(true);
            t.start();
        }
        // Both are inside native code, waiting on the token PUT that never answers.
        Thread.sleep(1000);
        assertTrue("nothing returned yet: " + results, results.isEmpty());
        long closing = System.nanoTime();
        agent.close();
        for (int i = 0; i < calls.length; i++) {
            Object[] result = results.poll(5, TimeUnit.SECONDS);
            assertNotNull("a blocked caller still blocked 5 s after close", result);
            assertTrue("AgentClosedException expected, got " + result[0], result[0] instanceof AgentClosedException);
            long tookMillis = TimeUnit.NANOSECONDS.toMillis((Long) result[1] - closing);
            assertTrue("a caller woke " + tookMillis + " ms after close", tookMillis < 1000);
        }
    }
}
