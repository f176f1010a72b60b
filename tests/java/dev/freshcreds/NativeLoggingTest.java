package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorTestBase;
import org.junit.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

/**
 * Native log events reach the application's logging: through SLF4J (the test class path routes it to
 * java.util.logging with slf4j-jdk14), under {@code dev.freshcreds.native.*} loggers, gated by the
 * level of {@code dev.freshcreds.native}, and never with a secret in them.
 */
public class NativeLoggingTest extends SimulatorTestBase {
    /** Collects every record it sees. */
    private static final class Capture extends Handler {
        final List<LogRecord> records = new ArrayList<LogRecord>();

        @Override
        public synchronized void publish(LogRecord record) {
            records.add(record);
        }

        synchronized List<LogRecord> snapshot() {
            return new ArrayList<LogRecord>(records);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    private static FreshcredsAgent newAgent() {
        return FreshcredsAgent.builder()
                .source("imds")
                .imdsEndpoint(sim.baseUrl())
                .compressedClockForTesting(sim.originEpochMillis(), sim.timeScale())
                .build();
    }

    private static LogRecord await(Capture capture, String messagePart, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            for (LogRecord r : capture.snapshot()) {
                if (r.getMessage() != null && r.getMessage().contains(messagePart)) {
                    return r;
                }
            }
            Thread.sleep(50);
        }
        return null;
    }

    @Test
    public void nativeEventsGoThroughSlf4jUnderNativeLoggerNames() throws Exception {
        Logger nativeRoot = Logger.getLogger(NativeLogForwarder.ROOT);
        Level saved = nativeRoot.getLevel();
        Capture capture = new Capture();
        capture.setLevel(Level.ALL);
        nativeRoot.setLevel(Level.FINE);
        nativeRoot.addHandler(capture);
        try (FreshcredsAgent agent = newAgent()) {
            agent.currentSnapshot();
            LogRecord loaded = await(capture, "loaded new credentials", 5000);
            assertNotNull("no native 'loaded new credentials' event reached java.util.logging: " + capture.snapshot(), loaded);
            assertEquals("slf4j", NativeLogForwarder.backendName());
            assertTrue(loaded.getLoggerName(), loaded.getLoggerName().startsWith("dev.freshcreds.native.freshcreds_core"));
            assertEquals(Level.INFO, loaded.getLevel());
            // slf4j-jdk14 names the caller of the SLF4J logger as the record's source
            assertTrue(String.valueOf(loaded.getSourceClassName()), String.valueOf(loaded.getSourceClassName()).contains("NativeLogForwarder"));
            assertFalse("durations are plain: " + loaded.getMessage(), loaded.getMessage().contains("Some("));
        } finally {
            nativeRoot.removeHandler(capture);
            nativeRoot.setLevel(saved);
            NativeLogForwarder.updateLevel();
        }
    }

    @Test
    public void nothingIsFormattedNativelyForALevelThatIsOff() throws Exception {
        Logger nativeRoot = Logger.getLogger(NativeLogForwarder.ROOT);
        Level saved = nativeRoot.getLevel();
        Capture capture = new Capture();
        capture.setLevel(Level.ALL);
        nativeRoot.addHandler(capture);
        nativeRoot.setLevel(Level.WARNING);
        try {
            NativeLibraryLoader.ensureLoaded();
            NativeLogForwarder.drain();
            long before = NativeAgent.formattedLogEvents();
            try (FreshcredsAgent agent = newAgent()) {
                agent.currentSnapshot();
                sim.rotate();
                agent.refresh();
            }
            NativeLogForwarder.drain();
            for (LogRecord r : capture.snapshot()) {
                assertTrue("an event below WARNING was logged: " + r.getMessage(), r.getLevel().intValue() >= Level.WARNING.intValue());
            }
            assertEquals("native events were formatted with the logger at WARNING: " + capture.snapshot().size() + " logged",
                    capture.snapshot().size(), NativeAgent.formattedLogEvents() - before);
        } finally {
            nativeRoot.removeHandler(capture);
            nativeRoot.setLevel(saved);
            NativeLogForwarder.updateLevel();
        }
    }

    @Test
    public void noSecretReachesTheJavaLogs() throws Exception {
        Logger all = Logger.getLogger("dev.freshcreds");
        Level saved = all.getLevel();
        Capture capture = new Capture();
        capture.setLevel(Level.ALL);
        all.setLevel(Level.ALL);
        all.addHandler(capture);
        List<String> secrets = new ArrayList<String>();
        try {
            try (FreshcredsAgent agent = newAgent()) {
                CredentialsSnapshot first = agent.currentSnapshot();
                secrets.add(first.secretAccessKey());
                secrets.add(first.sessionToken());
                sim.rotate();
                CredentialsSnapshot second = agent.refresh();
                secrets.add(second.secretAccessKey());
                secrets.add(second.sessionToken());
                sim.patchFaults("{\"credentials_status_override\":500}");
                try {
                    agent.refresh();
                } catch (FreshcredsException expected) {
                    // a failed refresh may throw or serve the cached credentials
                } finally {
                    sim.patchFaults("{\"credentials_status_override\":null}");
                }
                agent.statsJson();
            }
            NativeLogForwarder.drain();
            assertNotNull("the native load must actually be captured", await(capture, "loaded new credentials", 1000));
            assertNotNull("the failed refresh must actually be captured", await(capture, "fail", 1000));
            for (LogRecord r : capture.snapshot()) {
                StringBuilder text = new StringBuilder(String.valueOf(r.getMessage()));
                if (r.getParameters() != null) {
                    for (Object p : r.getParameters()) {
                        text.append(' ').append(p);
                    }
                }
                for (Throwable t = r.getThrown(); t != null; t = t.getCause()) {
                    text.append(' ').append(t);
                }
                for (String secret : secrets) {
                    if (secret != null && secret.length() >= 8) {
                        assertFalse("a secret reached " + r.getLoggerName() + ": " + text, text.toString().contains(secret));
                    }
                }
            }
        } finally {
            all.removeHandler(capture);
            all.setLevel(saved);
            NativeLogForwarder.updateLevel();
        }
    }
}
