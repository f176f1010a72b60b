package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorTestBase;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * Every native entry point, on its success and its error paths, in a forked JVM run with
 * -Xcheck:jni; fails if the JVM reports any JNI misuse (a warning is printed, not thrown, so only
 * reading the output can catch it).
 */
public class JniCheckCleanTest extends SimulatorTestBase {
    /** Runs in the forked JVM: args[0] is the simulator's base URL. */
    public static final class Probe {
        interface Call {
            void run();
        }

        static void expect(Class<? extends RuntimeException> type, String fragment, Call call) {
            try {
                call.run();
            } catch (RuntimeException e) {
                if (!type.isInstance(e) || e.getMessage() == null || !e.getMessage().contains(fragment)) {
                    throw new AssertionError("expected " + type.getSimpleName() + " containing '" + fragment + "', got " + e, e);
                }
                return;
            }
            throw new AssertionError("expected " + type.getSimpleName() + " containing '" + fragment + "'");
        }

        public static void main(String[] args) {
            final String endpoint = args[0];
            NativeLibraryLoader.ensureLoaded();
            System.out.println("version=" + NativeAgent.nativeVersion());

            expect(InvalidConfigurationException.class, "unknown option 'endpiont'", () -> NativeAgent.create(new String[] {"endpiont", "x"}));
            expect(InvalidConfigurationException.class, "odd length", () -> NativeAgent.create(new String[] {"endpoint"}));
            expect(InvalidConfigurationException.class, "null key or value", () -> NativeAgent.create(new String[] {"endpoint", null}));

            final long handle = NativeAgent.create(new String[] {"endpoint", endpoint});
            CredentialsSnapshot first = NativeAgent.getCredentials(handle);
            if (first == null || first.generation() != 1) {
                throw new AssertionError("first snapshot " + first);
            }
            if (NativeAgent.awaitSnapshot(handle, first.generation(), 50) != null) {
                throw new AssertionError("no new generation within 50 ms");
            }
            NativeAgent.invalidate(handle, "ASIANOTTHECURRENTKEY");
            expect(InvalidConfigurationException.class, "null access key id", () -> NativeAgent.invalidate(handle, null));
            long now = dev.freshcreds.internal.WallClock.SYSTEM.currentTimeMillis();
            NativeAgent.recordServerTime(handle, now, now - 20, now);
            System.out.println("clockOffsetMillis=" + NativeAgent.clockOffsetMillis(handle));
            expect(InvalidConfigurationException.class, "not a time after 1970", () -> NativeAgent.recordServerTime(handle, -5, now, now));
            CredentialsSnapshot refreshed = NativeAgent.refresh(handle);
            System.out.println("refreshed=" + refreshed);
            String stats = NativeAgent.statsJson(handle);
            if (stats.contains(first.secretAccessKey())) {
                throw new AssertionError("stats carry a secret");
            }
            NativeAgent.close(handle);
            expect(AgentClosedException.class, "closed", () -> NativeAgent.close(handle));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.getCredentials(handle));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.awaitSnapshot(handle, 0, 10));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.refresh(handle));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.statsJson(handle));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.invalidate(handle, "x"));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.recordServerTime(handle, now, now, now));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.clockOffsetMillis(handle));
            expect(AgentClosedException.class, "closed", () -> NativeAgent.getCredentials(-1));

            final long down = NativeAgent.create(new String[] {"endpoint", "http://127.0.0.1:9", "maxAttempts", "1"});
            expect(CredentialsUnavailableException.class, "http://127.0.0.1:9", () -> NativeAgent.getCredentials(down));
            NativeAgent.close(down);

            // The Java agent too: watcher thread blocked in native code, then closed.
            FreshcredsAgent agent = FreshcredsAgent.builder().imdsEndpoint(endpoint).build();
            agent.currentSnapshot();
            agent.close();
            System.out.println("probe ok");
            System.exit(0);
        }
    }

    @Test(timeout = 120_000)
    public void everyEntryPointIsCleanUnderXcheckJni() throws Exception {
        ForkedJvm jvm = new ForkedJvm.Spec(Probe.class)
                .jvmArgs("-Djava.library.path=" + System.getProperty("java.library.path"))
                .args(sim.baseUrl())
                .env("FRESHCREDS_LOG", "off")
                .run();
        String output = jvm.output;
        assertEquals(output, 0, jvm.exit);
        assertTrue(output, output.contains("probe ok"));
        assertTrue("-Xcheck:jni reported a problem:\n" + output, jvm.jniCheckClean());
    }
}
