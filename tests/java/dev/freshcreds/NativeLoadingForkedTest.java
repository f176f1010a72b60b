package dev.freshcreds;

import dev.freshcreds.internal.NativeAgent;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The real loader in fresh JVMs: the library bundled in the classpath resources (as in the jar), an
 * explicit -Dfreshcreds.native.path, and nothing at all.
 */
public class NativeLoadingForkedTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Entry point of the forked JVMs. */
    public static final class Probe {
        public static void main(String[] args) {
            try {
                NativeLibraryLoader.ensureLoaded();
                System.out.println("loadedFrom=" + NativeLibraryLoader.loadedFrom());
                System.out.println("nativeVersion=" + NativeAgent.nativeVersion());
                System.exit(0);
            } catch (NativeLibraryUnavailableException e) {
                System.out.println("unavailable=" + e.getMessage());
                try {
                    NativeLibraryLoader.ensureLoaded();
                } catch (NativeLibraryUnavailableException again) {
                    System.out.println("stored=" + (again.getCause() == e));
                }
                System.exit(3);
            }
        }
    }

    private static final class Result {
        final int exit;
        final String out;

        Result(int exit, String out) {
            this.exit = exit;
            this.out = out;
        }
    }

    private Result fork(String classPath, String... props) throws Exception {
        List<String> cmd = new ArrayList<String>();
        cmd.add(new File(System.getProperty("java.home"), "bin/java").getPath());
        cmd.add("-Xcheck:jni");
        cmd.add("-cp");
        cmd.add(classPath);
        for (String p : props) {
            cmd.add(p);
        }
        cmd.add(Probe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        InputStream in = p.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        assertTrue("probe JVM finished", p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), new String(out.toByteArray(), StandardCharsets.UTF_8));
    }

    private static String classPathWithoutMainResources() {
        StringBuilder sb = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (new File(e, "native").isDirectory()) {
                continue; // the resources directory that carries the bundled library
            }
            sb.append(sb.length() == 0 ? "" : File.pathSeparator).append(e);
        }
        return sb.toString();
    }

    @Test(timeout = 120_000)
    public void bundledLibraryIsExtractedLoadedAndDeleted() throws Exception {
        File tmpDir = tmp.newFolder("jvm-tmp");
        Result r = fork(System.getProperty("java.class.path"),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-Djava.io.tmpdir=" + tmpDir);
        assertEquals(r.out, 0, r.exit);
        assertTrue(r.out, r.out.contains("loadedFrom=bundled resource native/"));
        assertTrue(r.out, r.out.contains("nativeVersion=" + NativeLibraryLoader.readJarVersion()));
        String[] left = tmpDir.list();
        assertEquals("extracted library and its directory are deleted: " + java.util.Arrays.toString(left), 0, left.length);
    }

    @Test(timeout = 120_000)
    public void explicitPathIsUsedFirst() throws Exception {
        File lib = new File(System.getProperty("java.library.path").split(File.pathSeparator)[0],
                System.mapLibraryName(NativeLibraryLoader.LIBRARY_NAME));
        assertTrue("the Gradle test task points java.library.path at target/release: " + lib, lib.isFile());
        Result r = fork(classPathWithoutMainResources(),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-D" + NativeLibraryLoader.NATIVE_PATH_PROPERTY + "=" + lib.getAbsolutePath());
        assertEquals(r.out, 0, r.exit);
        assertTrue(r.out, r.out.contains("loadedFrom=" + lib.getAbsolutePath()));
    }

    @Test(timeout = 120_000)
    public void javaLibraryPathIsUsed() throws Exception {
        Result r = fork(classPathWithoutMainResources(),
                "-Djava.library.path=" + System.getProperty("java.library.path"));
        assertEquals(r.out, 0, r.exit);
        assertTrue(r.out, r.out.contains("from java.library.path"));
    }

    @Test(timeout = 120_000)
    public void nothingAvailableGivesTheFullStoredMessage() throws Exception {
        Result r = fork(classPathWithoutMainResources(),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"));
        assertEquals(r.out, 3, r.exit);
        assertTrue(r.out, r.out.contains("unavailable=freshcreds could not load its native library"));
        assertTrue(r.out, r.out.contains("1. -Dfreshcreds.native.path: not set"));
        assertTrue(r.out, r.out.contains("2. System.loadLibrary(\"freshcreds_jni\")"));
        assertTrue(r.out, r.out.contains("3. bundled resource native/"));
        assertTrue(r.out, r.out.contains("-Djava.library.path=/dir/containing/libfreshcreds_jni.so"));
        assertTrue(r.out, r.out.contains("stored=true"));
    }
}
