package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorTestBase;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.File;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * {@code System.exit} while a Java thread is blocked in native code on a refresh (IMDS answering
 * slowly) and the snapshot watcher waits in native code too: the JVM exits with the requested
 * status, promptly, without a crash report, and -Xcheck:jni finds nothing.
 */
public class JvmExitLifecycleTest extends SimulatorTestBase {
    /** How long the simulator delays each IMDS answer: far longer than the test may take. */
    private static final int IMDS_DELAY_MILLIS = 60_000;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Runs in the forked JVM: args are the simulator's base URL, clock origin and scale. */
    public static final class ExitDuringRefresh {
        public static void main(String[] args) throws Exception {
            String baseUrl = args[0];
            final FreshcredsAgent agent = FreshcredsAgent.builder()
                    .imdsEndpoint(baseUrl)
                    .compressedClockForTesting(Long.parseLong(args[1]), Double.parseDouble(args[2]))
                    .attemptTimeout(Duration.ofSeconds(50))
                    .build();
            System.out.println("loaded " + agent.currentSnapshot().accessKeyId());
            post(baseUrl + "/_sim/faults", "{\"imds_delay_ms\":" + IMDS_DELAY_MILLIS + "}");
            Thread caller = new Thread(new Runnable() {
                @Override
                public void run() {
                    try {
                        agent.refresh();
                        System.out.println("refresh returned");
                    } catch (RuntimeException e) {
                        System.out.println("refresh threw " + e);
                    }
                }
            }, "refresh-caller"); // not a daemon: System.exit must not wait for it
            caller.start();
            Thread.sleep(700);
            System.out.println("refresh in flight: " + caller.isAlive());
            System.out.println("exiting at " + System.currentTimeMillis());
            System.out.flush();
            System.exit(0);
        }

        private static void post(String url, String json) throws Exception {
            HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection(Proxy.NO_PROXY);
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json");
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            c.setFixedLengthStreamingMode(body.length);
            OutputStream out = c.getOutputStream();
            out.write(body);
            out.close();
            if (c.getResponseCode() != 200) {
                throw new IllegalStateException("POST " + url + " -> " + c.getResponseCode());
            }
            c.getInputStream().close();
        }
    }

    @Test(timeout = 120_000)
    public void systemExitDuringARefreshExitsCleanlyAndPromptly() throws Exception {
        File errors = tmp.newFolder("hs_err");
        ForkedJvm jvm;
        try {
            jvm = new ForkedJvm.Spec(ExitDuringRefresh.class)
                    .jvmArgs("-XX:ErrorFile=" + new File(errors, "hs_err_pid%p.log").getAbsolutePath())
                    .args(sim.baseUrl(), Long.toString(sim.originEpochMillis()), Double.toString(sim.timeScale()))
                    .run();
        } finally {
            sim.setFaults("{}");
        }
        long ended = System.currentTimeMillis();
        String out = jvm.output;
        assertTrue(out, out.contains("loaded "));
        assertTrue("the refresh was still in flight at exit:\n" + out, out.contains("refresh in flight: true"));
        assertTrue(out, !out.contains("refresh returned") && !out.contains("refresh threw"));
        int at = out.indexOf("exiting at ");
        assertTrue(out, at >= 0);
        long exitingAt = Long.parseLong(out.substring(at + "exiting at ".length()).trim().split("\\s+")[0]);
        assertEquals("exit status:\n" + out, 0, jvm.exit);
        assertTrue("the JVM took " + (ended - exitingAt) + " ms to exit:\n" + out, ended - exitingAt < 5000);
        assertTrue("no crash report: " + Arrays.toString(errors.list()) + "\n" + out, errors.list().length == 0);
        assertTrue(out, !out.contains("A fatal error has been detected"));
        assertTrue("-Xcheck:jni:\n" + out, jvm.jniCheckClean());
    }
}
