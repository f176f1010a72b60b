package dev.freshcreds;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.File;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The loader's attempt order and failure messages, without touching the real native library. */
public class NativeLibraryLoaderTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Records what would have been linked; fails the way the JVM does unless told otherwise. */
    private static final class FakeLinker implements NativeLibraryLoader.Linker {
        final List<String> calls = new ArrayList<String>();
        boolean loadSucceeds;
        String libraryPath = "";

        @Override
        public void load(String absolutePath) {
            calls.add("load " + absolutePath);
            if (!loadSucceeds) {
                throw new UnsatisfiedLinkError(absolutePath + ": cannot open shared object file");
            }
        }

        @Override
        public void loadLibrary(String name) {
            calls.add("loadLibrary " + name);
            throw new UnsatisfiedLinkError("no " + name + " in java.library.path: " + libraryPath);
        }
    }

    private static Function<String, String> props(final Map<String, String> values) {
        return new Function<String, String>() {
            @Override
            public String apply(String key) {
                return values.get(key);
            }
        };
    }

    private Map<String, String> linuxProps() throws Exception {
        Map<String, String> p = new HashMap<String, String>();
        p.put("os.name", "Linux");
        p.put("os.arch", "amd64");
        p.put("java.library.path", "");
        p.put("java.io.tmpdir", tmp.newFolder("tmp").getAbsolutePath());
        return p;
    }

    private static final NativeLibraryLoader.ResourceLocator NO_RESOURCES = new NativeLibraryLoader.ResourceLocator() {
        @Override
        public URL find(String path) {
            return null;
        }
    };

    private static NativeLibraryLoader.VersionProbe version(final String v) {
        return new NativeLibraryLoader.VersionProbe() {
            @Override
            public String nativeVersion() {
                return v;
            }
        };
    }

    @Test
    public void nothingFoundListsEveryAttemptAndTheFixAndIsStored() throws Exception {
        Map<String, String> p = linuxProps();
        String missing = new File(tmp.getRoot(), "nope/libfreshcreds_jni.so").getAbsolutePath();
        p.put(NativeLibraryLoader.NATIVE_PATH_PROPERTY, missing);
        FakeLinker linker = new FakeLinker();
        NativeLibraryLoader loader = new NativeLibraryLoader(props(p), NO_RESOURCES, linker, version("0.1.0"), "0.1.0");

        NativeLibraryUnavailableException first = null;
        try {
            loader.load();
            fail("loaded from nowhere");
        } catch (NativeLibraryUnavailableException e) {
            first = e;
        }
        String m = first.getMessage();
        assertTrue(m, first instanceof RuntimeException);
        assertTrue(m, m.contains("libfreshcreds_jni.so"));
        assertTrue(m, m.contains("linux-x86_64"));
        // attempt 1: the explicit path
        assertTrue(m, m.contains("1. -Dfreshcreds.native.path=" + missing + ": file does not exist"));
        // attempt 2: System.loadLibrary over java.library.path
        assertTrue(m, m.contains("2. System.loadLibrary(\"freshcreds_jni\") searching -Djava.library.path=(empty)"));
        assertTrue(m, m.contains("no freshcreds_jni in java.library.path"));
        // attempt 3: the bundled library
        assertTrue(m, m.contains("3. bundled resource native/linux-x86_64/libfreshcreds_jni.so: not in this jar"));
        // how to fix it
        assertTrue(m, m.contains("-Djava.library.path=/dir/containing/libfreshcreds_jni.so"));
        assertTrue(m, m.contains("-Dfreshcreds.native.path=/path/to/libfreshcreds_jni.so"));
        assertEquals("a missing explicit file is not handed to System.load", 1, linker.calls.size());

        // later uses rethrow the stored failure without trying again
        try {
            loader.load();
            fail("second load succeeded");
        } catch (NativeLibraryUnavailableException again) {
            assertEquals(m, again.getMessage());
            assertSame(first, again.getCause());
        }
        assertEquals("no second round of attempts", 1, linker.calls.size());
    }

    @Test
    public void unsetExplicitPathIsReportedAsNotSet() throws Exception {
        NativeLibraryLoader loader = new NativeLibraryLoader(props(linuxProps()), NO_RESOURCES, new FakeLinker(),
                version("0.1.0"), "0.1.0");
        try {
            loader.load();
            fail();
        } catch (NativeLibraryUnavailableException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("1. -Dfreshcreds.native.path: not set"));
        }
    }

    @Test
    public void explicitPathWinsAndVersionIsChecked() throws Exception {
        Map<String, String> p = linuxProps();
        File lib = tmp.newFile("libfreshcreds_jni.so");
        p.put(NativeLibraryLoader.NATIVE_PATH_PROPERTY, lib.getPath());
        FakeLinker linker = new FakeLinker();
        linker.loadSucceeds = true;
        NativeLibraryLoader ok = new NativeLibraryLoader(props(p), NO_RESOURCES, linker, version("0.1.0"), "0.1.0");
        ok.load();
        ok.load();
        assertEquals(1, linker.calls.size());
        assertEquals("load " + lib.getAbsolutePath(), linker.calls.get(0));

        NativeLibraryLoader mismatch = new NativeLibraryLoader(props(p), NO_RESOURCES, linker, version("0.0.9"), "0.1.0");
        try {
            mismatch.load();
            fail("version mismatch accepted");
        } catch (NativeLibraryUnavailableException e) {
            String m = e.getMessage();
            assertTrue(m, m.contains("version mismatch"));
            assertTrue(m, m.contains("0.0.9"));
            assertTrue(m, m.contains("0.1.0"));
        }
    }

    @Test
    public void bundledLibraryIsExtractedOwnerOnlyWithVersionedNameAndDeleted() throws Exception {
        Map<String, String> p = linuxProps();
        final File bundled = tmp.newFile("bundled.so");
        Files.write(bundled.toPath(), new byte[] {0x7f, 'E', 'L', 'F'});
        final List<String> asked = new ArrayList<String>();
        NativeLibraryLoader.ResourceLocator resources = new NativeLibraryLoader.ResourceLocator() {
            @Override
            public URL find(String path) {
                asked.add(path);
                try {
                    return path.equals("native/linux-x86_64/libfreshcreds_jni.so") ? bundled.toURI().toURL() : null;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }
        };
        final List<Path> loaded = new ArrayList<Path>();
        final List<String> perms = new ArrayList<String>();
        NativeLibraryLoader.Linker linker = new NativeLibraryLoader.Linker() {
            @Override
            public void load(String absolutePath) {
                Path f = new File(absolutePath).toPath();
                loaded.add(f);
                try {
                    assertEquals(4, Files.size(f));
                    perms.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
                    perms.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(f.getParent())));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }

            @Override
            public void loadLibrary(String name) {
                throw new UnsatisfiedLinkError("no " + name + " in java.library.path: ");
            }
        };
        NativeLibraryLoader loader = new NativeLibraryLoader(props(p), resources, linker, version("0.1.0"), "0.1.0");
        loader.load();
        assertEquals(1, loaded.size());
        Path f = loaded.get(0);
        String name = f.getFileName().toString();
        assertTrue(name, name.startsWith("freshcreds-jni-0.1.0-") && name.endsWith(".so"));
        assertTrue(f.toString(), f.startsWith(p.get("java.io.tmpdir")));
        assertEquals("rw-------", perms.get(0));
        assertEquals("rwx------", perms.get(1));
        assertFalse("extracted library deleted after load", Files.exists(f));
        assertFalse("private temp directory deleted after load", Files.exists(f.getParent()));
        assertTrue(loader.describeLoadedFrom(), loader.describeLoadedFrom().contains("bundled resource"));
    }

    @Test
    public void platformNames() {
        assertEquals("linux", NativeLibraryLoader.osName("Linux"));
        assertEquals("osx", NativeLibraryLoader.osName("Mac OS X"));
        assertEquals("windows", NativeLibraryLoader.osName("Windows 11"));
        assertEquals("x86_64", NativeLibraryLoader.archName("amd64"));
        assertEquals("x86_64", NativeLibraryLoader.archName("x86_64"));
        assertEquals("aarch64", NativeLibraryLoader.archName("aarch64"));
        assertEquals("aarch64", NativeLibraryLoader.archName("arm64"));
        assertEquals("libfreshcreds_jni.so", NativeLibraryLoader.libraryFileName("linux"));
        assertEquals("libfreshcreds_jni.dylib", NativeLibraryLoader.libraryFileName("osx"));
        assertEquals("freshcreds_jni.dll", NativeLibraryLoader.libraryFileName("windows"));
    }

    @Test
    public void jarVersionComesFromTheGeneratedResource() {
        assertEquals("0.1.0", NativeLibraryLoader.readJarVersion());
    }
}
