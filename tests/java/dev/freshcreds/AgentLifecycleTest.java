package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorTestBase;
import dev.freshcreds.internal.WallClock;
import dev.freshcreds.sdkv1.FreshcredsV1CredentialsProvider;
import dev.freshcreds.sdkv2.FreshcredsV2CredentialsProvider;
import org.junit.Test;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** Handle misuse and lifecycle: use after close, double close, close racing use, bad options, no IMDS. */
public class AgentLifecycleTest extends SimulatorTestBase {
    private static FreshcredsAgent.Builder simAgent() {
        return FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale());
    }

    private interface Call {
        void run();
    }

    private static void assertClosed(String what, Call call) {
        try {
            call.run();
            fail(what + " worked after close");
        } catch (AgentClosedException e) {
            assertTrue(what + ": " + e.getMessage(), e.getMessage().contains("closed"));
        }
    }

    /** The SDK providers report a closed agent as the SDK's SdkClientException, caused by AgentClosedException. */
    private static void assertProviderClosed(String what, Call call) {
        try {
            call.run();
            fail(what + " worked after close");
        } catch (com.amazonaws.SdkClientException | software.amazon.awssdk.core.exception.SdkClientException e) {
            assertTrue(what + ": " + e.getCause(), e.getCause() instanceof AgentClosedException);
            assertTrue(what + ": " + e.getMessage(), e.getMessage().contains("closed"));
        }
    }

    @Test(timeout = 60_000)
    public void everyMethodThrowsAgentClosedExceptionAfterClose() {
        final FreshcredsAgent agent = simAgent().build();
        CredentialsSnapshot snap = agent.currentSnapshot();
        assertNotNull(snap.accessKeyId());
        final String akid = snap.accessKeyId();
        assertNotNull(agent.statsJson());
        Thread watcher = agent.watcherForTesting();
        assertTrue(watcher.isDaemon());
        assertTrue(watcher.getName(), watcher.getName().startsWith("freshcreds-snapshot-watcher-"));

        agent.close();
        assertTrue(agent.isClosed());
        assertFalse("watcher thread stops on close", watcher.isAlive());

        assertClosed("currentSnapshot", new Call() { public void run() { agent.currentSnapshot(); } });
        assertClosed("refresh", new Call() { public void run() { agent.refresh(); } });
        assertClosed("invalidate", new Call() { public void run() { agent.invalidate(akid); } });
        assertClosed("statsJson", new Call() { public void run() { agent.statsJson(); } });
        assertClosed("recordServerTime", new Call() { public void run() { agent.recordServerTime(1000, 1000, 1000); } });
        assertClosed("clockOffsetMillis", new Call() { public void run() { agent.clockOffsetMillis(); } });
        try {
            agent.currentSnapshot();
            fail();
        } catch (AgentClosedException e) {
            assertEquals("this FreshcredsAgent was closed; build a new one", e.getMessage());
        }
        // the native handle itself is gone too
        final long handle = agent.handleForTesting();
        assertClosed("NativeAgent.getCredentials", new Call() { public void run() { NativeAgent.getCredentials(handle); } });
        assertClosed("NativeAgent.statsJson", new Call() { public void run() { NativeAgent.statsJson(handle); } });
        assertClosed("NativeAgent.refresh", new Call() { public void run() { NativeAgent.refresh(handle); } });
        assertClosed("NativeAgent.awaitSnapshot", new Call() { public void run() { NativeAgent.awaitSnapshot(handle, 0, 10); } });
        assertClosed("NativeAgent.invalidate", new Call() { public void run() { NativeAgent.invalidate(handle, akid); } });
        assertClosed("NativeAgent.recordServerTime", new Call() { public void run() { NativeAgent.recordServerTime(handle, 1, 1, 1); } });
        assertClosed("NativeAgent.clockOffsetMillis", new Call() { public void run() { NativeAgent.clockOffsetMillis(handle); } });
    }

    @Test(timeout = 60_000)
    public void clockOffsetFollowsRecordedServerTimes() {
        FreshcredsAgent agent = simAgent().build();
        try {
            agent.currentSnapshot(); // the first load samples IMDS's Date headers (no skew at this simulator)
            assertTrue("offset " + agent.clockOffsetMillis(), Math.abs(agent.clockOffsetMillis()) < 2000);
            long now = WallClock.SYSTEM.currentTimeMillis();
            // a server 2 minutes ahead, answering in 20 ms, often enough to outvote the IMDS samples
            for (int i = 0; i < 9; i++) {
                agent.recordServerTime(now + 120_000, now - 20, now);
            }
            long offset = agent.clockOffsetMillis();
            assertTrue("offset " + offset, Math.abs(offset - 120_000) < 2000);
            try {
                agent.recordServerTime(-1, now, now);
                fail("a time before 1970 was accepted");
            } catch (InvalidConfigurationException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("1970"));
            }
        } finally {
            agent.close();
        }
    }

    @Test(timeout = 60_000)
    public void sdkHooksNeverThrowIntoTheSdkOnceTheAgentIsClosed() {
        FreshcredsAgent agent = simAgent().build();
        agent.currentSnapshot();
        dev.freshcreds.sdkv1.FreshcredsRequestHandler v1 = dev.freshcreds.sdkv1.FreshcredsRequestHandler.create(agent);
        dev.freshcreds.sdkv2.FreshcredsExecutionInterceptor v2 = dev.freshcreds.sdkv2.FreshcredsExecutionInterceptor.create(agent);
        agent.close();
        com.amazonaws.DefaultRequest<com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest> request =
                new com.amazonaws.DefaultRequest<com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest>(
                        new com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest(), "sts");
        v1.beforeAttempt(com.amazonaws.handlers.HandlerBeforeAttemptContext.builder().withRequest(request).build());
        com.amazonaws.AmazonServiceException expired = new com.amazonaws.AmazonServiceException("expired");
        expired.setErrorCode("ExpiredToken");
        v1.afterAttempt(com.amazonaws.handlers.HandlerAfterAttemptContext.builder()
                .withRequest(request).withException(expired).build());
        assertEquals("no correction without an estimate", 0, request.getTimeOffset());
        long now = WallClock.SYSTEM.currentTimeMillis();
        long signing = v2.signingClock().millis();
        assertTrue("the signing clock falls back to the host clock", Math.abs(signing - now) < 5000);
    }

    @Test(timeout = 60_000)
    public void invalidateMakesTheNextCallAskNativeCode() {
        FreshcredsAgent agent = simAgent().build();
        try {
            CredentialsSnapshot first = agent.currentSnapshot();
            agent.invalidate("ASIANOTTHEONEINUSE00");
            assertTrue("an unrelated access key id changes nothing", first == agent.currentSnapshot());
            agent.invalidate(first.accessKeyId());
            CredentialsSnapshot next = agent.currentSnapshot();
            assertTrue("new snapshot after invalidate: " + first + " then " + next,
                    next.generation() > first.generation());
            CredentialsSnapshot forced = agent.refresh();
            assertTrue("refresh gives the same or a newer generation: " + next + " then " + forced,
                    forced.generation() >= next.generation());
            assertTrue(forced == agent.currentSnapshot());
        } finally {
            agent.close();
        }
    }

    @Test(timeout = 60_000)
    public void doubleCloseIsFine() {
        FreshcredsAgent agent = simAgent().build();
        agent.currentSnapshot();
        agent.close();
        agent.close();
        FreshcredsAgent neverUsed = simAgent().build();
        neverUsed.close();
        neverUsed.close();
    }

    @Test(timeout = 60_000)
    public void unknownHandleIsAgentClosedNotACrash() {
        NativeLibraryLoader.ensureLoaded();
        for (final long h : new long[] {0L, -1L, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, 0xdeadbeefL}) {
            assertClosed("getCredentials(" + h + ")", new Call() { public void run() { NativeAgent.getCredentials(h); } });
            assertClosed("statsJson(" + h + ")", new Call() { public void run() { NativeAgent.statsJson(h); } });
            assertClosed("awaitSnapshot(" + h + ")", new Call() { public void run() { NativeAgent.awaitSnapshot(h, 0, 10); } });
        }
    }

    @Test(timeout = 60_000)
    public void providersThrowAgentClosedExceptionAfterClose() {
        final FreshcredsV1CredentialsProvider v1 = FreshcredsV1CredentialsProvider.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
        assertNotNull(v1.getCredentials().getAWSAccessKeyId());
        v1.close();
        v1.close();
        assertTrue("an owning provider closes its agent", v1.agent().isClosed());
        assertProviderClosed("v1 getCredentials", new Call() { public void run() { v1.getCredentials(); } });

        FreshcredsAgent shared = simAgent().build();
        try {
            final FreshcredsV2CredentialsProvider v2 = FreshcredsV2CredentialsProvider.create(shared);
            assertNotNull(v2.resolveCredentials().accessKeyId());
            v2.close(); // what SDK v2 does when one of the clients sharing the provider is closed
            assertFalse("create(agent) does not own the agent", shared.isClosed());
            assertNotNull("a shared provider outlives the clients that close it", v2.resolveCredentials().accessKeyId());
            assertNotNull(shared.currentSnapshot());
            shared.close();
            assertProviderClosed("v2 resolveCredentials after the agent closed", new Call() { public void run() { v2.resolveCredentials(); } });
        } finally {
            shared.close();
        }
    }

    /** 16 threads use the agent (and its raw handle) while others close it; repeated. */
    @Test(timeout = 180_000)
    public void closeRacingUseNeverCrashes() throws Exception {
        final int threads = 16;
        final AtomicLong credentialsSeen = new AtomicLong();
        final AtomicLong closedSeen = new AtomicLong();
        for (int round = 0; round < 20; round++) {
            final FreshcredsAgent agent = simAgent().build();
            if (round % 2 == 0) {
                agent.currentSnapshot(); // half the rounds start with credentials loaded
            }
            final long handle = agent.handleForTesting();
            final CountDownLatch go = new CountDownLatch(1);
            final AtomicBoolean stop = new AtomicBoolean();
            final List<Throwable> unexpected = new CopyOnWriteArrayList<Throwable>();
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                final int kind = t % 4;
                final boolean closer = t == threads - 1 || t == threads - 2;
                ts[t] = new Thread(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            go.await();
                            if (closer) {
                                Thread.sleep(5 + (long) (Math.random() * 20));
                                agent.close();
                                return;
                            }
                            for (int i = 0; i < 100_000 && !stop.get(); i++) {
                                try {
                                    CredentialsSnapshot s;
                                    switch (kind) {
                                        case 0:
                                            s = agent.currentSnapshot();
                                            break;
                                        case 1:
                                            s = NativeAgent.getCredentials(handle);
                                            break;
                                        case 2:
                                            NativeAgent.statsJson(handle);
                                            s = NativeAgent.awaitSnapshot(handle, Long.MAX_VALUE - 1, 1);
                                            break;
                                        default:
                                            agent.statsJson();
                                            s = i % 50 == 0 ? agent.refresh() : agent.currentSnapshot();
                                            break;
                                    }
                                    if (s != null) {
                                        assertNotNull(s.accessKeyId());
                                        credentialsSeen.incrementAndGet();
                                    }
                                } catch (AgentClosedException e) {
                                    closedSeen.incrementAndGet();
                                    if (agent.isClosed()) {
                                        return;
                                    }
                                    // raw handle calls can only fail this way after close
                                    unexpected.add(new AssertionError("AgentClosedException before close", e));
                                    return;
                                }
                            }
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }
                }, "close-race-" + round + "-" + t);
                ts[t].start();
            }
            go.countDown();
            for (Thread t : ts) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(t.getName() + " is stuck", t.isAlive());
            }
            stop.set(true);
            assertTrue("only credentials or AgentClosedException expected: " + unexpected, unexpected.isEmpty());
            assertTrue(agent.isClosed());
        }
        assertTrue("closes were observed", closedSeen.get() > 0);
        assertTrue("credentials were observed", credentialsSeen.get() > 0);
    }

    @Test(timeout = 60_000)
    public void badOptionsAreInvalidConfiguration() {
        // Java passes values through; native code refuses them in build() (AgentOptionsTest has the rest)
        try {
            FreshcredsAgent a = simAgent().maxAttempts(0).build();
            a.close();
            fail("maxAttempts(0) accepted");
        } catch (InvalidConfigurationException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("maxAttempts"));
        }
        try {
            FreshcredsAgent a = simAgent().attemptTimeout(Duration.ofMillis(-1)).build();
            a.close();
            fail("negative attemptTimeout accepted");
        } catch (InvalidConfigurationException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("attemptTimeout"));
        }
        try {
            FreshcredsAgent a = simAgent().imdsEndpoint("").build();
            a.close();
            fail("blank endpoint accepted");
        } catch (InvalidConfigurationException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("endpoint"));
        }
        // native code refuses unknown keys
        try {
            FreshcredsAgent a = simAgent().rawOption("noSuchOption", "1").build();
            a.close();
            fail("native code accepted an unknown option");
        } catch (InvalidConfigurationException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("noSuchOption"));
        }
        // and values it cannot parse
        try {
            FreshcredsAgent a = simAgent().rawOption("maxAttempts", "many").build();
            a.close();
            fail("native code accepted maxAttempts=many");
        } catch (InvalidConfigurationException expected) {
            // ok
        }
    }

    @Test(timeout = 120_000)
    public void closedImdsPortIsCredentialsUnavailableNamingTheEndpoint() {
        FreshcredsAgent agent = FreshcredsAgent.builder()
                .imdsEndpoint("http://127.0.0.1:9")
                .attemptTimeout(Duration.ofMillis(500))
                .maxAttempts(2)
                .build(); // build() does not fetch
        try {
            agent.currentSnapshot();
            fail("credentials from a closed port");
        } catch (CredentialsUnavailableException e) {
            String m = e.getMessage();
            System.out.println("CredentialsUnavailableException message: " + m);
            assertTrue("names the endpoint: " + m, m.contains("127.0.0.1:9"));
            assertTrue("says what to check or set: " + m, m.toLowerCase(Locale.ROOT).contains("imds")
                    || m.toLowerCase(Locale.ROOT).contains("metadata"));
        } finally {
            agent.close();
        }
    }
}
