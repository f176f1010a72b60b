package dev.freshcreds;

import dev.freshcreds.internal.NativeAgent;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.File;

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

    private ForkedJvm fork(String classPath, String... props) throws Exception {
        return new ForkedJvm.Spec(Probe.class).classPath(classPath).jvmArgs(props).run();
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
        ForkedJvm r = fork(System.getProperty("java.class.path"),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-Djava.io.tmpdir=" + tmpDir);
        assertEquals(r.output, 0, r.exit);
        assertTrue(r.output, r.output.contains("loadedFrom=bundled resource native/"));
        assertTrue(r.output, r.output.contains("nativeVersion=" + NativeLibraryLoader.readJarVersion()));
        String[] left = tmpDir.list();
        assertEquals("extracted library and its directory are deleted: " + java.util.Arrays.toString(left), 0, left.length);
    }

    @Test(timeout = 120_000)
    public void explicitPathIsUsedFirst() throws Exception {
        File lib = new File(System.getProperty("java.library.path").split(File.pathSeparator)[0],
                System.mapLibraryName(NativeLibraryLoader.LIBRARY_NAME));
        assertTrue("the Gradle test task points java.library.path at target/release: " + lib, lib.isFile());
        ForkedJvm r = fork(classPathWithoutMainResources(),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-D" + NativeLibraryLoader.NATIVE_PATH_PROPERTY + "=" + lib.getAbsolutePath());
        assertEquals(r.output, 0, r.exit);
        assertTrue(r.output, r.output.contains("loadedFrom=" + lib.getAbsolutePath()));
    }

    @Test(timeout = 120_000)
    public void javaLibraryPathIsUsed() throws Exception {
        ForkedJvm r = fork(classPathWithoutMainResources(),
                "-Djava.library.path=" + System.getProperty("java.library.path"));
        assertEquals(r.output, 0, r.exit);
        assertTrue(r.output, r.output.contains("from java.library.path"));
    }

    @Test(timeout = 120_000)
    public void nothingAvailableGivesTheFullStoredMessage() throws Exception {
        ForkedJvm r = fork(classPathWithoutMainResources(),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"));
        assertEquals(r.output, 3, r.exit);
        assertTrue(r.output, r.output.contains("unavailable=freshcreds could not load its native library"));
        assertTrue(r.output, r.output.contains("1. -Dfreshcreds.native.path: not set"));
        assertTrue(r.output, r.output.contains("2. System.loadLibrary(\"freshcreds_jni\")"));
        assertTrue(r.output, r.output.contains("3. bundled resource native/"));
        assertTrue(r.output, r.output.contains("-Djava.library.path=/dir/containing/libfreshcreds_jni.so"));
        assertTrue(r.output, r.output.contains("stored=true"));
    }
}
