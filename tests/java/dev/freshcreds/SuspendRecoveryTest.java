package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorProcess;
import dev.freshcreds.internal.WallClock;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * After a suspend/resume, {@code System.nanoTime()} has not moved but the wall clock has: a snapshot
 * whose wall-clock deadline passed must not come from the hot path, else credentials that expired
 * while the machine slept are handed out until a service rejects them.
 */
public class SuspendRecoveryTest {
    private static SimulatorProcess sim;

    @BeforeClass
    public static void startSimulator() throws Exception {
        // 10x: one-hour credentials live six real minutes, so nothing rotates during the test
        sim = SimulatorProcess.start(10, 3600, 1200);
    }

    @AfterClass
    public static void stopSimulator() {
        if (sim != null) {
            sim.close();
        }
    }

    @Test(timeout = 60_000)
    public void aSnapshotPastItsWallClockDeadlineIsNotServedFromTheHotPath() {
        final AtomicLong slept = new AtomicLong();
        WallClock wall = new WallClock() {
            @Override
            public long currentTimeMillis() {
                return WallClock.SYSTEM.currentTimeMillis() + slept.get();
            }
        };
        FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .wallClock(wall)
                .build();
        try {
            CredentialsSnapshot first = agent.currentSnapshot();
            assertTrue("valid for a while: " + first.validForNanos(), first.validForNanos() > TimeUnit.SECONDS.toNanos(10));
            long validForMillis = TimeUnit.NANOSECONDS.toMillis(first.validForNanos());
            long deadline = first.wallDeadlineMillis();
            assertTrue("wall deadline " + deadline, Math.abs(deadline - (first.receivedAtWallMillis() + validForMillis)) <= 1);
            assertSame("the hot path serves the snapshot", first, agent.currentSnapshot());

            // The machine sleeps past the snapshot's validity: the wall clock jumps, the monotonic one does not.
            slept.set(validForMillis + 1000);
            assertTrue("the monotonic validity has not run out",
                    first.isUsableAt(System.nanoTime(), first.receivedAtWallMillis()));
            CredentialsSnapshot resumed = agent.currentSnapshot();
            assertNotSame("native code was asked after the resume", first, resumed);
            assertEquals("same credentials: nothing rotated", first.accessKeyId(), resumed.accessKeyId());

            // Back on the host's time: the new snapshot is served from the hot path again.
            slept.set(0);
            assertSame(resumed, agent.currentSnapshot());
        } finally {
            agent.close();
        }
    }

    @Test
    public void theWallDeadlineNeverOutlastsTheMonotonicPeriod() {
        long before = WallClock.SYSTEM.currentTimeMillis();
        CredentialsSnapshot s = new CredentialsSnapshot("AKID", "secret", null, CredentialsSnapshot.NO_EXPIRATION,
                TimeUnit.SECONDS.toNanos(10) + 999_999, 1);
        long after = WallClock.SYSTEM.currentTimeMillis();
        assertTrue(s.receivedAtWallMillis() >= before && s.receivedAtWallMillis() <= after);
        assertEquals("rounded down", s.receivedAtWallMillis() + 10_000, s.wallDeadlineMillis());
        long now = System.nanoTime();
        assertTrue(s.isUsableAt(now, s.wallDeadlineMillis() - 1));
        assertTrue(!s.isUsableAt(now, s.wallDeadlineMillis()));
        CredentialsSnapshot forever = new CredentialsSnapshot("AKID", "secret", null, CredentialsSnapshot.NO_EXPIRATION,
                Long.MAX_VALUE, 1);
        assertEquals("valid for ever: no deadline", Long.MAX_VALUE, forever.wallDeadlineMillis());
        assertTrue(forever.isUsableAt(System.nanoTime(), WallClock.SYSTEM.currentTimeMillis() + TimeUnit.DAYS.toMillis(365)));
        CredentialsSnapshot never = new CredentialsSnapshot("AKID", "secret", null, CredentialsSnapshot.NO_EXPIRATION, 0, 1);
        assertTrue(!never.isUsableAt(System.nanoTime(), never.receivedAtWallMillis()));
    }
}
