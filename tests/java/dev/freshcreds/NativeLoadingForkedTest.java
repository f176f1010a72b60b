package dev.freshcreds;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Arrays;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

/**
 * The real loader in fresh JVMs: the library bundled in the classpath resources (as in the jar), its
 * SHA-256 check, the extraction directory, an explicit -Dfreshcreds.native.path, and nothing at all.
 */
public class NativeLoadingForkedTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Entry point of the forked JVMs. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            try {
                NativeLibraryLoader.ensureLoaded();
                System.out.println("loadedFrom=" + NativeLibraryLoader.loadedFrom());
                System.out.println("nativeVersion=" + NativeAgent.nativeVersion());
                File maps = new File("/proc/self/maps");
                if (maps.canRead()) {
                    // where the loaded library is mapped from (an extracted copy shows as "(deleted)")
                    for (String line : Files.readAllLines(maps.toPath(), StandardCharsets.ISO_8859_1)) {
                        if (line.contains("freshcreds-jni-") || line.contains("freshcreds_jni")) {
                            System.out.println("mapped=" + line.substring(line.indexOf('/')));
                        }
                    }
                }
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

    /** The library the Gradle test task built, found through java.library.path (target/release). */
    private static File builtLibrary() {
        File lib = new File(System.getProperty("java.library.path").split(File.pathSeparator)[0],
                System.mapLibraryName(NativeLibraryLoader.LIBRARY_NAME));
        assertTrue("the Gradle test task points java.library.path at target/release: " + lib, lib.isFile());
        return lib;
    }

    private static URL resource(String path) {
        return NativeLoadingForkedTest.class.getClassLoader().getResource(path);
    }

    private static byte[] read(URL url) throws Exception {
        InputStream in = url.openStream();
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            in.close();
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return NativeLibraryLoader.hex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** The platform this (and so the forked) JVM resolves to. */
    private static NativeLibraryLoader.Platform platform() {
        return NativeLibraryLoader.detectPlatform();
    }

    /** Whether the build's resources carry {@code native/<key>/<file>} and its .sha256 for this platform. */
    private static boolean buildBundlesVerifiedLibrary() {
        String r = platform().resource();
        return resource(r) != null && resource(r + ".sha256") != null;
    }

    /** The bundled library's bytes and .sha256 text: the build's when it has them, else the built library's. */
    private static byte[][] realBundle() throws Exception {
        if (buildBundlesVerifiedLibrary()) {
            String r = platform().resource();
            return new byte[][] {read(resource(r)), read(resource(r + ".sha256"))};
        }
        byte[] lib = Files.readAllBytes(builtLibrary().toPath());
        String sum = sha256(lib) + "  " + platform().fileName + "\n";
        return new byte[][] {lib, sum.getBytes(StandardCharsets.US_ASCII)};
    }

    /**
     * A classpath root laid out as the jar is: {@code native/<key>/<file>}, its {@code .sha256}, and the
     * version resource.
     */
    private File classPathRoot(byte[] library, byte[] sha256) throws Exception {
        File root = tmp.newFolder();
        File lib = new File(root, platform().resource());
        assertTrue(lib.getParentFile().mkdirs());
        Files.write(lib.toPath(), library);
        Files.write(Paths.get(lib.getPath() + ".sha256"), sha256);
        URL version = resource(NativeLibraryLoader.VERSION_RESOURCE);
        if (version != null) {
            File v = new File(root, NativeLibraryLoader.VERSION_RESOURCE);
            assertTrue(v.getParentFile().mkdirs());
            Files.write(v.toPath(), read(version));
        }
        return root;
    }

    /**
     * A classpath whose bundled library is the real one: the build's resources when they bundle it with
     * its .sha256 under this platform's key, else the built library laid out in a temporary root.
     */
    private String bundledClassPath() throws Exception {
        if (buildBundlesVerifiedLibrary()) {
            return System.getProperty("java.class.path");
        }
        byte[][] bundle = realBundle();
        return classPathWithoutMainResources() + File.pathSeparator + classPathRoot(bundle[0], bundle[1]);
    }

    @Test(timeout = 120_000)
    public void bundledLibraryIsExtractedLoadedAndDeleted() throws Exception {
        File tmpDir = tmp.newFolder("jvm-tmp");
        ForkedJvm r = fork(bundledClassPath(),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-Djava.io.tmpdir=" + tmpDir);
        assertEquals(r.output, 0, r.exit);
        assertTrue(r.output, r.output.contains("loadedFrom=bundled resource " + platform().resource()
                + " (SHA-256 verified, extracted to " + tmpDir.getAbsolutePath() + File.separator + "freshcreds-jni-"));
        assertTrue(r.output, r.output.contains("nativeVersion=" + NativeLibraryLoader.readJarVersion()));
        String[] left = tmpDir.list();
        assertEquals("extracted library and its directory are deleted: " + Arrays.toString(left), 0, left.length);
    }

    @Test(timeout = 120_000)
    public void extractDirPropertyIsWhereTheBundledLibraryIsExtracted() throws Exception {
        File tmpDir = tmp.newFolder("jvm-tmp");
        File extractDir = new File(tmp.getRoot(), "exec-allowed/freshcreds");
        assertFalse(extractDir.exists());
        ForkedJvm r = fork(bundledClassPath(),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-Djava.io.tmpdir=" + tmpDir,
                "-D" + NativeLibraryLoader.EXTRACT_DIR_PROPERTY + "=" + extractDir);
        assertEquals(r.output, 0, r.exit);
        String prefix = extractDir.getAbsolutePath() + File.separator + "freshcreds-jni-";
        assertTrue(r.output, r.output.contains("(SHA-256 verified, extracted to " + prefix));
        if (new File("/proc/self/maps").canRead()) {
            // the library really is mapped from there, and its file was deleted once loaded
            boolean mappedThenDeleted = false;
            for (String line : r.output.split("\n")) {
                if (line.startsWith("mapped=" + prefix) && line.trim().endsWith("(deleted)")) {
                    mappedThenDeleted = true;
                }
            }
            assertTrue(r.output, mappedThenDeleted);
        }
        assertTrue("the missing extraction directory is created", extractDir.isDirectory());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(extractDir.toPath())));
        assertEquals("nothing left in it: " + Arrays.toString(extractDir.list()), 0, extractDir.list().length);
        assertEquals("java.io.tmpdir is not used: " + Arrays.toString(tmpDir.list()), 0, tmpDir.list().length);
    }

    @Test(timeout = 120_000)
    public void tamperedBundledLibraryIsRefusedNamingBothHashes() throws Exception {
        byte[][] bundle = realBundle();
        byte[] tampered = bundle[0].clone();
        tampered[tampered.length - 1] ^= 0x01;
        String expected = new String(bundle[1], StandardCharsets.US_ASCII).trim().split("\\s+")[0].toLowerCase(java.util.Locale.ROOT);
        String actual = sha256(tampered);
        assertNotEquals(expected, actual);
        File tmpDir = tmp.newFolder("jvm-tmp");
        ForkedJvm r = fork(classPathWithoutMainResources() + File.pathSeparator + classPathRoot(tampered, bundle[1]),
                "-Djava.library.path=" + tmp.newFolder("empty-lib-path"),
                "-Djava.io.tmpdir=" + tmpDir);
        assertEquals(r.output, 3, r.exit);
        String resource = platform().resource();
        assertTrue(r.output, r.output.contains("3. bundled resource " + resource + ": SHA-256 mismatch, not loaded: "
                + resource + ".sha256 expects " + expected));
        assertTrue(r.output, r.output.contains(" has " + actual + "."));
        assertTrue(r.output, r.output.contains("rebuild it or re-download it"));
        assertFalse(r.output, r.output.contains("mapped="));
        assertTrue(r.output, r.output.contains("stored=true"));
        assertEquals("the refused copy is deleted: " + Arrays.toString(tmpDir.list()), 0, tmpDir.list().length);
    }

    @Test(timeout = 120_000)
    public void explicitPathIsUsedFirst() throws Exception {
        File lib = builtLibrary();
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
        String key = platform().key;
        assertTrue(r.output, r.output.contains("unavailable=freshcreds could not load its native library"));
        assertTrue(r.output, r.output.contains("(platform " + key + "; "));
        assertTrue(r.output, r.output.contains("1. -Dfreshcreds.native.path: not set"));
        assertTrue(r.output, r.output.contains("2. System.loadLibrary(\"freshcreds_jni\")"));
        assertTrue(r.output, r.output.contains("3. bundled resource native/" + key + "/"));
        assertTrue(r.output, r.output.contains("-Djava.library.path=/dir/containing/libfreshcreds_jni.so"));
        assertTrue(r.output, r.output.contains("dev.freshcreds:freshcreds:"));
        assertTrue(r.output, r.output.contains("-Dfreshcreds.native.platform=<key>"));
        assertTrue(r.output, r.output.contains("stored=true"));
    }
}
