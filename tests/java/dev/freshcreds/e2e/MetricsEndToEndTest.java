package dev.freshcreds.e2e;

import dev.freshcreds.AgentStats;
import dev.freshcreds.CredentialsSnapshot;
import dev.freshcreds.CredentialsUnavailableException;
import dev.freshcreds.FreshcredsAgent;
import dev.freshcreds.FreshcredsJmx;
import dev.freshcreds.InvalidConfigurationException;
import dev.freshcreds.micrometer.FreshcredsMeterBinder;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.After;
import org.junit.Test;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The JMX MBean and the Micrometer meters against agents on the simulator, read the way monitoring
 * reads them: through the platform MBean server's {@code getAttribute} and a real
 * {@link SimpleMeterRegistry}. Each test runs its own simulator process.
 */
public class MetricsEndToEndTest {
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    private SimulatorProcess sim;
    private final List<AutoCloseable> toClose = new ArrayList<AutoCloseable>();

    @After
    public void cleanUp() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        if (sim != null) {
            sim.close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(c);
        return c;
    }

    /** 600x: 1 h credentials, one real second is ten simulated minutes; the agent on the same compressed clock. */
    private FreshcredsAgent compressedAgent() throws IOException {
        sim = SimulatorProcess.start();
        return closeLater(FreshcredsAgent.builder()
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .advisoryWindow(Duration.ofMinutes(50))
                .build());
    }

    /** Real time: 1 h credentials, a new generation every 50 min. */
    private FreshcredsAgent realTimeAgent() throws IOException {
        if (sim == null) {
            sim = SimulatorProcess.start(1, 3600, 600);
        }
        return closeLater(FreshcredsAgent.builder().imdsEndpoint(sim.baseUrl()).build());
    }

    private static Object attr(ObjectName name, String attribute) throws Exception {
        return SERVER.getAttribute(name, attribute);
    }

    private static long longAttr(ObjectName name, String attribute) throws Exception {
        return (Long) attr(name, attribute);
    }

    private static double gauge(SimpleMeterRegistry registry, String meter, String name) {
        return registry.get(meter).tag("name", name).gauge().value();
    }

    private static double counter(SimpleMeterRegistry registry, String meter, String name, String... tags) {
        return registry.get(meter).tag("name", name).tags(tags).functionCounter().count();
    }

    private static void await(String what, long timeoutMillis, Callable<Boolean> condition, Callable<String> context)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what + "; " + context.call());
            }
            Thread.sleep(20);
        }
    }

    /**
     * One agent through its life, watched through JMX and Micrometer at once: the first load, a
     * rotation the background refresher picks up (generation +1), an IMDS fault during a background
     * refresh (SERVING_STALE: the last refresh failed, the credentials in hand still valid), the
     * recovery, and the close (CLOSED, counters kept).
     */
    @Test(timeout = 120_000)
    public void jmxAndMicrometerFollowRotationFailureRecoveryAndClose() throws Exception {
        final FreshcredsAgent agent = compressedAgent();
        final String name = "metrics-e2e-lifecycle";
        FreshcredsJmx.Registration registration = closeLater(FreshcredsJmx.register(agent, name));
        final ObjectName on = registration.objectName();
        assertEquals(new ObjectName("dev.freshcreds:type=Agent,name=" + name), on);
        final SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new FreshcredsMeterBinder(agent, name).bindTo(registry);
        Callable<String> context = () -> "agent " + agent.statsJson() + "; sim " + sim.stats();

        // first load
        sim.rotate(); // a fresh generation: 60 simulated minutes (6 s real) to live
        CredentialsSnapshot first = agent.currentSnapshot();
        assertEquals("imds", attr(on, "Source"));
        assertArrayEquals(new String[0], (String[]) attr(on, "Shadowed"));
        assertEquals("OK", attr(on, "State"));
        assertEquals(0, attr(on, "StateCode"));
        long g1 = longAttr(on, "Generation");
        assertEquals(first.generation(), g1);
        assertEquals((double) g1, gauge(registry, "freshcreds.credentials.generation", name), 0);
        assertEquals(0.0, gauge(registry, "freshcreds.state", name), 0);
        assertTrue(longAttr(on, "Refreshes") >= 1);
        assertTrue(counter(registry, "freshcreds.refreshes", name) >= 1);
        assertEquals(0, longAttr(on, "Failures"));
        assertNull(attr(on, "LastError"));
        assertTrue(longAttr(on, "ImdsTokenRequests") >= 1);
        assertTrue(longAttr(on, "ImdsMetadataRequests") >= 2); // the role name, then the credentials
        assertTrue(counter(registry, "freshcreds.imds.requests", name, "kind", "token") >= 1);
        assertTrue(counter(registry, "freshcreds.imds.requests", name, "kind", "metadata") >= 2);
        String keyId = (String) attr(on, "AccessKeyId");
        assertTrue(keyId, keyId.startsWith(first.accessKeyId().substring(0, 4)) && keyId.endsWith(
                first.accessKeyId().substring(first.accessKeyId().length() - 4)));
        assertEquals(first.expirationEpochMillis(), longAttr(on, "ExpirationEpochMillis"));
        assertEquals(Instant.ofEpochMilli(first.expirationEpochMillis()), Instant.parse((String) attr(on, "Expiration")));
        // the expiration is on the simulator's compressed clock, far ahead of this host's
        assertTrue(longAttr(on, "SecondsToExpiry") > 0);
        assertTrue(gauge(registry, "freshcreds.credentials.expiry", name) > 0);
        assertTrue(Math.abs(longAttr(on, "ClockOffsetMillis")) < 5000);
        assertEquals(longAttr(on, "ClockOffsetMillis") / 1000.0, gauge(registry, "freshcreds.clock.offset", name), 1);

        // rotation: the refresher loads the next generation 10-15 simulated minutes after the load
        sim.rotate();
        await("a new generation over JMX", 30_000, () -> longAttr(on, "Generation") > g1, context);
        final long g2 = longAttr(on, "Generation");
        assertEquals((double) g2, gauge(registry, "freshcreds.credentials.generation", name), 0);
        assertTrue(counter(registry, "freshcreds.refreshes", name) >= 2);
        assertEquals("OK", attr(on, "State"));

        // IMDS fails every credentials request: the next background refresh fails, the credentials in
        // hand are still valid and served
        final long failuresBefore = longAttr(on, "Failures");
        final long retriesBefore = longAttr(on, "ImdsRetries");
        sim.patchFaults("{\"credentials_status_override\":500}");
        await("a failed refresh over JMX", 30_000, () -> longAttr(on, "Failures") > failuresBefore, context);
        assertEquals("SERVING_STALE", attr(on, "State"));
        assertEquals(2, attr(on, "StateCode"));
        assertEquals(2.0, gauge(registry, "freshcreds.state", name), 0);
        String lastError = (String) attr(on, "LastError");
        assertNotNull(lastError);
        assertTrue(lastError, lastError.contains("500"));
        assertTrue(counter(registry, "freshcreds.failures", name) > failuresBefore);
        assertTrue("IMDS retried the 500s", longAttr(on, "ImdsRetries") > retriesBefore);
        assertTrue(counter(registry, "freshcreds.imds.retries", name) > retriesBefore);
        assertEquals("still the credentials of generation " + g2, g2, longAttr(on, "Generation"));
        assertEquals(AgentStats.State.SERVING_STALE, AgentStats.of(agent).state());

        // recovery: the next attempt succeeds, the error is cleared
        sim.patchFaults("{\"credentials_status_override\":null}");
        sim.rotate();
        await("recovery over JMX", 30_000, () -> "OK".equals(attr(on, "State")) && longAttr(on, "Generation") > g2,
                context);
        assertNull(attr(on, "LastError"));
        assertEquals(0.0, gauge(registry, "freshcreds.state", name), 0);

        // close: CLOSED, the last values kept
        long generation = longAttr(on, "Generation");
        double refreshes = counter(registry, "freshcreds.refreshes", name);
        double failures = counter(registry, "freshcreds.failures", name);
        agent.close();
        assertEquals("CLOSED", attr(on, "State"));
        assertEquals(4, attr(on, "StateCode"));
        assertEquals(generation, longAttr(on, "Generation"));
        assertEquals(-1L, longAttr(on, "SecondsToExpiry"));
        assertEquals(4.0, gauge(registry, "freshcreds.state", name), 0);
        assertEquals(refreshes, counter(registry, "freshcreds.refreshes", name), 0);
        assertEquals(failures, counter(registry, "freshcreds.failures", name), 0);
        assertEquals((double) generation, gauge(registry, "freshcreds.credentials.generation", name), 0);

        registration.close();
        assertFalse(SERVER.isRegistered(on));
        registration.close(); // idempotent
    }

    /**
     * On the real clock: SecondsToExpiry counts down from the credentials' lifetime; a rotation
     * forced with refresh() shows as a new generation; an agent that cannot load credentials at all
     * is FAILING.
     */
    @Test(timeout = 120_000)
    public void secondsToExpiryOnTheRealClockAndFailingWithoutCredentials() throws Exception {
        final FreshcredsAgent agent = realTimeAgent();
        String name = "metrics-e2e-realtime";
        ObjectName on = closeLater(FreshcredsJmx.register(agent, name)).objectName();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new FreshcredsMeterBinder(agent, name, Arrays.asList(Tag.of("service", "orders"))).bindTo(registry);

        sim.rotate();
        CredentialsSnapshot first = agent.currentSnapshot();
        long left = longAttr(on, "SecondsToExpiry");
        long expected = (first.expirationEpochMillis() - System.currentTimeMillis()) / 1000;
        assertTrue("SecondsToExpiry " + left + ", expected about " + expected, Math.abs(left - expected) <= 5);
        assertTrue("SecondsToExpiry " + left, left > 3500 && left <= 3600);
        double gaugeLeft = registry.get("freshcreds.credentials.expiry").tags("name", name, "service", "orders")
                .gauge().value();
        assertTrue("gauge " + gaugeLeft, Math.abs(gaugeLeft - left) <= 5);
        assertEquals("seconds", registry.get("freshcreds.credentials.expiry").gauge().getId().getBaseUnit());

        long g1 = longAttr(on, "Generation");
        sim.rotate();
        CredentialsSnapshot second = agent.refresh();
        assertEquals(g1 + 1, second.generation());
        assertEquals(g1 + 1, longAttr(on, "Generation"));
        assertEquals(g1 + 1, gauge(registry, "freshcreds.credentials.generation", name), 0);
        assertEquals("OK", attr(on, "State"));

        // a second agent on the same simulator while IMDS fails every credentials request
        sim.patchFaults("{\"credentials_status_override\":500}");
        final FreshcredsAgent failing = realTimeAgent();
        String failingName = "metrics-e2e-failing";
        ObjectName failingOn = closeLater(FreshcredsJmx.register(failing, failingName)).objectName();
        new FreshcredsMeterBinder(failing, failingName).bindTo(registry);
        try {
            failing.currentSnapshot();
            fail("credentials loaded although IMDS answers 500");
        } catch (CredentialsUnavailableException expectedFailure) {
            // the first load failed
        }
        assertEquals("FAILING", attr(failingOn, "State"));
        assertEquals(3.0, gauge(registry, "freshcreds.state", failingName), 0);
        assertTrue(longAttr(failingOn, "Failures") >= 1);
        assertNotNull(attr(failingOn, "LastError"));
        assertNull(attr(failingOn, "AccessKeyId"));
        assertNull(attr(failingOn, "Expiration"));
        assertEquals(-1L, longAttr(failingOn, "SecondsToExpiry"));
        assertEquals(0L, longAttr(failingOn, "Generation"));
        // the first agent is unaffected, and the meters of the two are told apart by their name tag
        assertEquals("OK", attr(on, "State"));
        assertEquals(0.0, gauge(registry, "freshcreds.state", name), 0);
    }

    /** Nothing JMX or Micrometer shows holds the secret access key, the session token or the whole key id. */
    @Test(timeout = 120_000)
    public void noAttributeOrMeterHoldsASecret() throws Exception {
        FreshcredsAgent agent = compressedAgent();
        String name = "metrics-e2e-secrets";
        ObjectName on = closeLater(FreshcredsJmx.register(agent, name)).objectName();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new FreshcredsMeterBinder(agent, name).bindTo(registry);
        CredentialsSnapshot snap = agent.currentSnapshot();
        // a failed refresh too, so that LastError has something to say
        sim.patchFaults("{\"credentials_status_override\":500}");
        try {
            agent.refresh();
        } catch (CredentialsUnavailableException expected) {
            // the refresh failed either way
        }
        assertNotNull(attr(on, "LastError"));
        String[] forbidden = {snap.secretAccessKey(), snap.sessionToken(), snap.accessKeyId()};
        for (String f : forbidden) {
            assertNotNull(f);
            assertTrue(f.length() >= 16);
        }

        List<String> shown = new ArrayList<String>();
        for (MBeanAttributeInfo a : SERVER.getMBeanInfo(on).getAttributes()) {
            Object v = attr(on, a.getName());
            shown.add(a.getName() + "=" + (v instanceof Object[] ? Arrays.toString((Object[]) v) : String.valueOf(v)));
        }
        assertEquals(shown.toString(), 18, shown.size());
        for (Meter m : registry.getMeters()) {
            StringBuilder sb = new StringBuilder(m.getId().toString()).append(' ').append(m.getId().getDescription());
            for (Measurement measurement : m.measure()) {
                sb.append(' ').append(measurement);
            }
            shown.add(sb.toString());
        }
        assertTrue(shown.toString(), registry.getMeters().size() >= 9);
        shown.add(AgentStats.of(agent).toString());
        shown.add(agent.statsJson());
        for (String s : shown) {
            for (String f : forbidden) {
                assertFalse("shows a secret or the whole key id: " + s, s.contains(f));
            }
        }
    }

    /** MBean names: quoted when needed, unique, reusable after close; bad names are refused. */
    @Test(timeout = 120_000)
    public void registrationNamesAreQuotedUniqueAndReusable() throws Exception {
        FreshcredsAgent agent = realTimeAgent();
        String odd = "orders, eu-west-1: \"blue\"=*?";
        FreshcredsJmx.Registration quoted = closeLater(FreshcredsJmx.register(agent, odd));
        assertEquals(odd, ObjectName.unquote(quoted.objectName().getKeyProperty("name")));
        assertEquals("Agent", quoted.objectName().getKeyProperty("type"));
        assertEquals("dev.freshcreds", quoted.objectName().getDomain());
        assertTrue(SERVER.isRegistered(quoted.objectName()));
        assertTrue(attr(quoted.objectName(), "State") instanceof String);

        String name = "metrics-e2e-dup";
        FreshcredsJmx.Registration one = closeLater(FreshcredsJmx.register(agent, name));
        try {
            closeLater(FreshcredsJmx.register(agent, name));
            fail("registered the same name twice");
        } catch (InvalidConfigurationException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("dev.freshcreds:type=Agent,name=" + name));
            assertTrue(e.getMessage(), e.getMessage().contains("own name") && e.getMessage().contains("close"));
        }
        one.close();
        assertFalse(SERVER.isRegistered(one.objectName()));
        FreshcredsJmx.Registration again = closeLater(FreshcredsJmx.register(agent, name));
        assertTrue(SERVER.isRegistered(again.objectName()));

        for (String bad : new String[] {null, ""}) {
            try {
                FreshcredsJmx.register(agent, bad);
                fail("accepted the name " + bad);
            } catch (InvalidConfigurationException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("name"));
            }
            try {
                new FreshcredsMeterBinder(agent, bad);
                fail("accepted the name " + bad);
            } catch (InvalidConfigurationException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("name"));
            }
        }
        try {
            FreshcredsJmx.register(null, "x");
            fail();
        } catch (InvalidConfigurationException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("agent"));
        }
    }

    /**
     * Micrometer stays optional: no class of the library outside {@code dev.freshcreds.micrometer}
     * refers to it, so an application without Micrometer never loads it.
     */
    @Test
    public void onlyTheMicrometerPackageRefersToMicrometer() throws IOException, URISyntaxException {
        File root = new File(FreshcredsAgent.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue("the library's classes are a directory in this build: " + root, root.isDirectory());
        List<String> offenders = new ArrayList<String>();
        int micrometerClasses = 0;
        try (Stream<Path> files = Files.walk(root.toPath())) {
            for (Path p : files.filter(f -> f.toString().endsWith(".class")).collect(Collectors.toList())) {
                String rel = root.toPath().relativize(p).toString().replace(File.separatorChar, '/');
                // class files hold names in (modified) UTF-8; ISO-8859-1 keeps every byte as one char
                boolean refers = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1).contains("io/micrometer/");
                if (rel.startsWith("dev/freshcreds/micrometer/")) {
                    micrometerClasses += refers ? 1 : 0;
                } else if (refers) {
                    offenders.add(rel);
                }
            }
        }
        assertTrue("the binder refers to Micrometer", micrometerClasses >= 1);
        assertEquals("classes outside dev.freshcreds.micrometer that refer to Micrometer", new ArrayList<String>(), offenders);
    }

    /** The builder's jmxName registers the MBean with the agent and unregisters it on close. */
    @Test
    public void jmxNameRegistersTheMBeanForTheAgentsLifetime() throws Exception {
        sim = SimulatorProcess.start(1, 3600, 600);
        ObjectName name = FreshcredsJmx.objectName("auto-registered");
        FreshcredsAgent agent = FreshcredsAgent.builder().imdsEndpoint(sim.baseUrl()).jmxName("auto-registered").build();
        try {
            assertTrue("registered by build()", SERVER.isRegistered(name));
            agent.currentSnapshot();
            assertEquals("imds", SERVER.getAttribute(name, "Source"));
            assertTrue((Long) SERVER.getAttribute(name, "Generation") >= 1L);
        } finally {
            agent.close();
        }
        assertFalse("unregistered by close()", SERVER.isRegistered(name));
    }
}
