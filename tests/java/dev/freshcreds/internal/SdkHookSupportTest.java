package dev.freshcreds.internal;

import org.junit.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The SDK hooks' shared logic against a fake agent: no native code, no API types. */
public class SdkHookSupportTest {
    /** Stands in for the API's InvalidConfigurationException, which this package does not know. */
    static final class ConfigError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ConfigError(String message) {
            super(message);
        }
    }

    /** A fake agent: records calls; throws from every method once {@link #closed} is set. */
    static final class FakeAgent implements SdkHookSupport.Agent {
        final AtomicLong offset = new AtomicLong();
        final List<long[]> samples = new ArrayList<long[]>();
        final List<String> invalidated = new ArrayList<String>();
        volatile boolean closed;

        private void check() {
            if (closed) {
                throw new IllegalStateException("closed");
            }
        }

        @Override
        public long clockOffsetMillis() {
            check();
            return offset.get();
        }

        @Override
        public void recordServerTime(long serverDate, long sent, long received) {
            check();
            samples.add(new long[] {serverDate, sent, received});
        }

        @Override
        public String currentAccessKeyId() {
            check();
            return "ASIACURRENT";
        }

        @Override
        public void invalidate(String accessKeyId) {
            check();
            invalidated.add(accessKeyId);
        }
    }

    private static SdkHookSupport.Options options() {
        return new SdkHookSupport.Options(ConfigError::new);
    }

    @Test
    public void defaultsCorrectFromSixtySecondsOn() {
        FakeAgent agent = new FakeAgent();
        SdkHookSupport support = new SdkHookSupport(agent, options());
        assertTrue(support.correctsSigningTime());
        assertEquals(60_000, support.thresholdMillis());
        assertSame(WallClock.SYSTEM, support.wallClock());
        agent.offset.set(59_999);
        assertEquals("below the threshold: no correction", 0, support.signingOffsetMillis());
        agent.offset.set(-60_000);
        assertEquals(-60_000, support.signingOffsetMillis());
        agent.closed = true;
        assertEquals("a closed agent means no correction, not an exception", 0, support.signingOffsetMillis());
    }

    @Test
    public void optionsAreCopiedAndCheckedWithTheGivenExceptionType() {
        FakeAgent agent = new FakeAgent();
        final long[] now = {1_000_000L};
        WallClock wall = () -> now[0];
        SdkHookSupport.Options options = options().signingTimeCorrection(false).skewThreshold(Duration.ZERO).wallClock(wall);
        SdkHookSupport support = new SdkHookSupport(agent, options);
        options.signingTimeCorrection(true); // later changes to the builder's options do not reach a built hook
        assertFalse(support.correctsSigningTime());
        agent.offset.set(120_000);
        assertEquals("correction off", 0, support.signingOffsetMillis());
        assertEquals(1_000_000L, support.now());
        for (Duration bad : new Duration[] {null, Duration.ofMillis(-1)}) {
            try {
                new SdkHookSupport(agent, options().skewThreshold(bad));
                fail("threshold " + bad + " accepted");
            } catch (ConfigError e) {
                assertTrue(e.getMessage(), e.getMessage().contains("skew threshold"));
            }
        }
        try {
            options().wallClock(null);
            fail("null wall clock accepted");
        } catch (NullPointerException expected) {
            // ok
        }
    }

    @Test
    public void serviceErrorsInvalidateOnlyRejectedCredentialsAndNeverThrow() {
        FakeAgent agent = new FakeAgent();
        SdkHookSupport support = new SdkHookSupport(agent, options());
        assertFalse(support.onServiceError("AccessDenied", "ASIASIGNER"));
        assertFalse(support.onServiceError(null, "ASIASIGNER"));
        assertTrue(support.onServiceError("ExpiredToken", "ASIASIGNER"));
        assertTrue("unknown signer: the agent's current key", support.onServiceError("RequestExpired", null));
        assertEquals(java.util.Arrays.asList("ASIASIGNER", "ASIACURRENT"), agent.invalidated);
        agent.closed = true;
        assertFalse("a closed agent: nothing done, nothing thrown", support.onServiceError("InvalidToken", "ASIASIGNER"));
    }

    @Test
    public void dateHeadersAreParsedAndRecordedUnlessUnusable() {
        FakeAgent agent = new FakeAgent();
        SdkHookSupport support = new SdkHookSupport(agent, options());
        support.observeDate("Sun, 06 Nov 1994 08:49:37 GMT", 1000, 1020);
        support.observeDate("not a date", 1000, 1020);
        support.observeDate(null, 1000, 1020);
        support.observeDate("Sun, 06 Nov 1994 08:49:37 GMT", 0, 1020);
        assertEquals(1, agent.samples.size());
        assertEquals(784111777000L, agent.samples.get(0)[0]);
        agent.closed = true;
        support.observeDate("Sun, 06 Nov 1994 08:49:37 GMT", 1000, 1020); // swallowed
    }

    @Test
    public void agentOfDelegatesToTheGivenOperations() {
        final List<String> calls = new ArrayList<String>();
        SdkHookSupport.Agent agent = SdkHookSupport.Agent.of(() -> 42L,
                (d, s, r) -> calls.add("record " + d + " " + s + " " + r),
                () -> "ASIAKEY",
                key -> calls.add("invalidate " + key));
        assertEquals(42L, agent.clockOffsetMillis());
        agent.recordServerTime(3, 1, 2);
        assertEquals("ASIAKEY", agent.currentAccessKeyId());
        agent.invalidate("ASIAKEY");
        assertEquals(java.util.Arrays.asList("record 3 1 2", "invalidate ASIAKEY"), calls);
    }
}
