package dev.freshcreds;

import dev.freshcreds.e2e.SimulatorTestBase;
import org.junit.Test;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Which logging native events go to, with the class path an application may have: SLF4J with a
 * binding, SLF4J's API without one (whose NOP fallback would drop every event), and no SLF4J at all.
 * Each case runs in a JVM of its own, since the choice is made once per class loader.
 */
public class NativeLoggingBackendForkedTest extends SimulatorTestBase {
    /**
     * Runs in the forked JVM: captures {@code dev.freshcreds.native} at FINE through
     * java.util.logging (where slf4j-jdk14 also sends SLF4J's events), builds an agent on the
     * simulator given as the argument, and prints the backend and each captured record.
     */
    public static final class Probe {
        public static void main(String[] args) {
            Logger nativeRoot = Logger.getLogger(NativeLogForwarder.ROOT);
            nativeRoot.setLevel(Level.FINE);
            nativeRoot.setUseParentHandlers(false);
            nativeRoot.addHandler(new Handler() {
                @Override
                public void publish(LogRecord r) {
                    System.out.println("record=" + r.getLevel() + " " + r.getLoggerName() + " " + r.getMessage());
                }

                @Override
                public void flush() {
                }

                @Override
                public void close() {
                }
            });
            try (FreshcredsAgent agent = FreshcredsAgent.builder().source("imds").imdsEndpoint(args[0]).build()) {
                agent.currentSnapshot();
            }
            System.out.println("backend=" + NativeLogForwarder.backendName());
            System.exit(0);
        }
    }

    /** The test class path without the entries whose file name contains one of {@code drop}. */
    private static String classPathWithout(String... drop) {
        List<String> kept = new ArrayList<String>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            boolean dropped = false;
            for (String d : drop) {
                dropped |= new File(entry).getName().contains(d);
            }
            if (!dropped) {
                kept.add(entry);
            }
        }
        return String.join(File.pathSeparator, kept);
    }

    private static String run(String classPath) throws Exception {
        ForkedJvm jvm = new ForkedJvm.Spec(Probe.class)
                .classPath(classPath)
                .jvmArgs("-Djava.library.path=" + System.getProperty("java.library.path"))
                .args(sim.baseUrl())
                .removeEnv("FRESHCREDS_LOG")
                .run();
        assertEquals(jvm.output, 0, jvm.exit);
        assertTrue("-Xcheck:jni is clean:\n" + jvm.output, jvm.jniCheckClean());
        assertTrue("the native 'loaded new credentials' event was logged:\n" + jvm.output,
                jvm.output.contains("record=INFO dev.freshcreds.native.freshcreds_core") && jvm.output.contains("loaded new credentials"));
        return jvm.output;
    }

    @Test(timeout = 120_000)
    public void slf4jWithABindingIsUsed() throws Exception {
        String out = run(System.getProperty("java.class.path"));
        assertTrue(out, out.contains("backend=slf4j"));
    }

    @Test(timeout = 120_000)
    public void slf4jWithoutABindingFallsBackToJavaUtilLoggingSoNothingIsDropped() throws Exception {
        String classPath = classPathWithout("slf4j-jdk14", "slf4j-nop", "slf4j-simple", "logback");
        assertTrue("the API stays on the class path", classPath.contains("slf4j-api"));
        String out = run(classPath);
        assertTrue(out, out.contains("backend=java.util.logging"));
        assertFalse("SLF4J was not initialised for nothing (no NOP warning):\n" + out, out.contains("SLF4J:"));
    }

    @Test(timeout = 120_000)
    public void withoutSlf4jJavaUtilLoggingIsUsed() throws Exception {
        String classPath = classPathWithout("slf4j");
        assertFalse(classPath.contains("slf4j"));
        String out = run(classPath);
        assertTrue(out, out.contains("backend=java.util.logging"));
    }
}
