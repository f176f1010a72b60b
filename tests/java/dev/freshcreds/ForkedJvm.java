package dev.freshcreds;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertTrue;

/**
 * Runs a main class in a fresh JVM with {@code -Xcheck:jni} (for what only a new process can show:
 * library loading, the environment-driven credential chain, JNI checks) and returns its exit code
 * and combined output.
 */
public final class ForkedJvm {
    public final int exit;
    public final String output;

    private ForkedJvm(int exit, String output) {
        this.exit = exit;
        this.output = output;
    }

    /** What to run; everything but the main class is optional. */
    public static final class Spec {
        private final String mainClass;
        private String classPath = System.getProperty("java.class.path");
        private final List<String> jvmArgs = new ArrayList<String>();
        private final List<String> args = new ArrayList<String>();
        private final Map<String, String> env = new java.util.LinkedHashMap<String, String>();
        private final List<String> removeEnv = new ArrayList<String>();

        public Spec(Class<?> mainClass) {
            this.mainClass = mainClass.getName();
        }

        public Spec classPath(String classPath) {
            this.classPath = classPath;
            return this;
        }

        public Spec jvmArgs(String... jvmArgs) {
            this.jvmArgs.addAll(Arrays.asList(jvmArgs));
            return this;
        }

        public Spec args(String... args) {
            this.args.addAll(Arrays.asList(args));
            return this;
        }

        public Spec env(Map<String, String> env) {
            this.env.putAll(env);
            return this;
        }

        public Spec env(String name, String value) {
            this.env.put(name, value);
            return this;
        }

        public Spec removeEnv(String... names) {
            Collections.addAll(this.removeEnv, names);
            return this;
        }

        public ForkedJvm run() throws Exception {
            List<String> cmd = new ArrayList<String>();
            cmd.add(new File(System.getProperty("java.home"), "bin/java").getPath());
            cmd.add("-Xcheck:jni");
            cmd.add("-cp");
            cmd.add(classPath);
            cmd.addAll(jvmArgs);
            cmd.add(mainClass);
            cmd.addAll(args);
            ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
            for (String name : removeEnv) {
                builder.environment().remove(name);
            }
            builder.environment().putAll(env);
            Process p = builder.start();
            p.getOutputStream().close();
            InputStream in = p.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            assertTrue("forked JVM finished", p.waitFor(60, TimeUnit.SECONDS));
            return new ForkedJvm(p.exitValue(), new String(out.toByteArray(), StandardCharsets.UTF_8));
        }
    }

    /** Whether -Xcheck:jni reported any misuse (it prints warnings rather than failing). */
    public boolean jniCheckClean() {
        return !output.contains("WARNING in native method") && !output.contains("FATAL ERROR in native method");
    }
}
