package dev.freshcreds;

import org.junit.Assume;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.File;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The loader's platform key, attempt order, checks and failure messages, without touching the real native library. */
public class NativeLibraryLoaderTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Records what would have been linked; fails the way the JVM does unless told otherwise. */
    private static final class FakeLinker implements NativeLibraryLoader.Linker {
        final List<String> calls = new ArrayList<String>();
        boolean loadSucceeds;
        String loadError;
        String libraryPath = "";

        @Override
        public void load(String absolutePath) {
            calls.add("load " + absolutePath);
            if (loadError != null) {
                throw new UnsatisfiedLinkError(absolutePath + ": " + loadError);
            }
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

    /** A host as the musl probe sees it. */
    private static final class FakeLibc implements NativeLibraryLoader.LibcProbe {
        String maps;
        final Map<String, String[]> dirs = new HashMap<String, String[]>();
        String ldd;
        int lddCalls;
        int calls;

        FakeLibc maps(String text) {
            maps = text;
            return this;
        }

        FakeLibc dir(String dir, String... names) {
            dirs.put(dir, names);
            return this;
        }

        FakeLibc ldd(String output) {
            ldd = output;
            return this;
        }

        @Override
        public String selfMaps() {
            calls++;
            return maps;
        }

        @Override
        public String[] list(String dir) {
            calls++;
            return dirs.get(dir);
        }

        @Override
        public String lddVersion() {
            calls++;
            lddCalls++;
            return ldd;
        }
    }

    private static final String GLIBC_MAPS = ""
            + "55d0c8a00000-55d0c8a01000 r--p 00000000 fe:00 1311 /usr/lib/jvm/java-17-openjdk-amd64/bin/java\n"
            + "7f3a10000000-7f3a10021000 rw-p 00000000 00:00 0 \n"
            + "7fcedf6ec000-7fcedf712000 r--p 00000000 fe:00 326269 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
            + "7fcedf712000-7fcedf868000 r-xp 00026000 fe:00 326269 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
            + "7fcedf911000-7fcedf912000 r--p 00000000 fe:00 325835 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
            + "7ffd5c3de000-7ffd5c3ff000 rw-p 00000000 00:00 0 [stack]\n";

    private static final String MUSL_MAPS = ""
            + "5581e2a00000-5581e2a01000 r--p 00000000 00:2f 1046 /usr/lib/jvm/java-17-openjdk/bin/java\n"
            + "7f1c2d400000-7f1c2d5f0000 r-xp 00000000 00:2f 1033 /usr/lib/jvm/java-17-openjdk/lib/server/libjvm.so\n"
            + "7f1c2e000000-7f1c2e014000 r--p 00000000 00:2f 12 /lib/ld-musl-x86_64.so.1\n"
            + "7f1c2e014000-7f1c2e063000 r-xp 00014000 00:2f 12 /lib/ld-musl-x86_64.so.1\n"
            + "7ffe3b9a1000-7ffe3b9c2000 rw-p 00000000 00:00 0 [stack]\n";

    private static FakeLibc glibcHost() {
        return new FakeLibc().maps(GLIBC_MAPS).dir("/lib64", "ld-linux-x86-64.so.2");
    }

    /** A probe that must not be consulted (non-Linux hosts, overridden keys). */
    private static final NativeLibraryLoader.LibcProbe UNUSED_PROBE = new NativeLibraryLoader.LibcProbe() {
        @Override
        public String selfMaps() {
            throw new AssertionError("libc probed");
        }

        @Override
        public String[] list(String dir) {
            throw new AssertionError("libc probed");
        }

        @Override
        public String lddVersion() {
            throw new AssertionError("libc probed");
        }
    };

    private static Function<String, String> props(final Map<String, String> values) {
        return new Function<String, String>() {
            @Override
            public String apply(String key) {
                return values.get(key);
            }
        };
    }

    private static Map<String, String> host(String osName, String osArch) {
        Map<String, String> p = new HashMap<String, String>();
        p.put("os.name", osName);
        p.put("os.arch", osArch);
        return p;
    }

    private Map<String, String> linuxProps() throws Exception {
        Map<String, String> p = host("Linux", "amd64");
        p.put("java.library.path", "");
        p.put("java.io.tmpdir", tmp.newFolder().getAbsolutePath());
        return p;
    }

    private static final NativeLibraryLoader.ResourceLocator NO_RESOURCES = new NativeLibraryLoader.ResourceLocator() {
        @Override
        public URL find(String path) {
            return null;
        }
    };

    /** Resources from a directory, as a classpath root; records what was asked. */
    private static final class DirResources implements NativeLibraryLoader.ResourceLocator {
        final File root;
        final List<String> asked = new ArrayList<String>();

        DirResources(File root) {
            this.root = root;
        }

        @Override
        public URL find(String path) {
            asked.add(path);
            File f = new File(root, path);
            try {
                return f.isFile() ? f.toURI().toURL() : null;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }
    }

    private static NativeLibraryLoader.VersionProbe version(final String v) {
        return new NativeLibraryLoader.VersionProbe() {
            @Override
            public String nativeVersion() {
                return v;
            }
        };
    }

    private static String sha256(byte[] bytes) throws Exception {
        return NativeLibraryLoader.hex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static final byte[] LIBRARY = {0x7f, 'E', 'L', 'F'};

    /** A classpath root bundling {@code native/<key>/libfreshcreds_jni.so} with the given bytes and .sha256 text. */
    private DirResources bundle(String key, byte[] library, String sha256Text) throws Exception {
        File root = tmp.newFolder();
        File lib = new File(root, "native/" + key + "/libfreshcreds_jni.so");
        assertTrue(lib.getParentFile().mkdirs());
        Files.write(lib.toPath(), library);
        if (sha256Text != null) {
            Files.write(new File(lib.getPath() + ".sha256").toPath(), sha256Text.getBytes(StandardCharsets.UTF_8));
        }
        return new DirResources(root);
    }

    private static String platformKey(Map<String, String> p, NativeLibraryLoader.LibcProbe probe) {
        return NativeLibraryLoader.detectPlatform(props(p), probe).key;
    }

    private static NativeLibraryUnavailableException failure(NativeLibraryLoader loader) {
        try {
            loader.load();
        } catch (NativeLibraryUnavailableException e) {
            return e;
        }
        throw new AssertionError("loaded");
    }

    // ------------------------------------------------------------------ attempt order and messages

    @Test
    public void nothingFoundListsEveryAttemptAndTheFixAndIsStored() throws Exception {
        Map<String, String> p = linuxProps();
        String missing = new File(tmp.getRoot(), "nope/libfreshcreds_jni.so").getAbsolutePath();
        p.put(NativeLibraryLoader.NATIVE_PATH_PROPERTY, missing);
        FakeLinker linker = new FakeLinker();
        NativeLibraryLoader loader = new NativeLibraryLoader(props(p), NO_RESOURCES, linker, glibcHost(),
                version("0.1.0"), "0.1.0");

        NativeLibraryUnavailableException first = failure(loader);
        String m = first.getMessage();
        assertTrue(m, first instanceof RuntimeException);
        assertTrue(m, m.contains("libfreshcreds_jni.so"));
        assertTrue(m, m.contains("(platform linux-x86_64; detected from os.name=Linux, os.arch=amd64, glibc"));
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
        assertTrue(m, m.contains("dev.freshcreds:freshcreds:0.1.0:linux-x86_64"));
        assertTrue(m, m.contains("-Dfreshcreds.native.platform=<key>"));
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
                glibcHost(), version("0.1.0"), "0.1.0");
        String m = failure(loader).getMessage();
        assertTrue(m, m.contains("1. -Dfreshcreds.native.path: not set"));
    }

    @Test
    public void explicitPathWinsAndVersionIsChecked() throws Exception {
        Map<String, String> p = linuxProps();
        File lib = tmp.newFile("libfreshcreds_jni.so");
        p.put(NativeLibraryLoader.NATIVE_PATH_PROPERTY, lib.getPath());
        FakeLinker linker = new FakeLinker();
        linker.loadSucceeds = true;
        NativeLibraryLoader ok = new NativeLibraryLoader(props(p), NO_RESOURCES, linker, glibcHost(),
                version("0.1.0"), "0.1.0");
        ok.load();
        ok.load();
        assertEquals(1, linker.calls.size());
        assertEquals("load " + lib.getAbsolutePath(), linker.calls.get(0));

        NativeLibraryLoader mismatch = new NativeLibraryLoader(props(p), NO_RESOURCES, linker, glibcHost(),
                version("0.0.9"), "0.1.0");
        String m = failure(mismatch).getMessage();
        assertTrue(m, m.contains("version mismatch"));
        assertTrue(m, m.contains("0.0.9"));
        assertTrue(m, m.contains("0.1.0"));
    }

    // ------------------------------------------------------------------ bundled: extraction and SHA-256

    /** Records each loaded file's size and permissions (file, then its directory). */
    private static final class InspectingLinker implements NativeLibraryLoader.Linker {
        final List<Path> loaded = new ArrayList<Path>();
        final List<String> perms = new ArrayList<String>();
        final List<Long> sizes = new ArrayList<Long>();

        @Override
        public void load(String absolutePath) {
            Path f = new File(absolutePath).toPath();
            loaded.add(f);
            try {
                sizes.add(Files.size(f));
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
    }

    @Test
    public void bundledLibraryIsExtractedOwnerOnlyWithVersionedNameVerifiedAndDeleted() throws Exception {
        Map<String, String> p = linuxProps();
        // sha256sum's format: digest, two spaces, file name
        DirResources resources = bundle("linux-x86_64", LIBRARY, sha256(LIBRARY) + "  libfreshcreds_jni.so\n");
        InspectingLinker linker = new InspectingLinker();
        NativeLibraryLoader loader = new NativeLibraryLoader(props(p), resources, linker, glibcHost(),
                version("0.1.0"), "0.1.0");
        loader.load();
        assertEquals(1, linker.loaded.size());
        assertEquals(Long.valueOf(4), linker.sizes.get(0));
        Path f = linker.loaded.get(0);
        String name = f.getFileName().toString();
        assertTrue(name, name.startsWith("freshcreds-jni-0.1.0-") && name.endsWith(".so"));
        assertTrue(f.getParent().getFileName().toString().startsWith("freshcreds-jni-0.1.0-"));
        assertTrue(f.toString(), f.startsWith(p.get("java.io.tmpdir")));
        assertEquals("rw-------", linker.perms.get(0));
        assertEquals("rwx------", linker.perms.get(1));
        assertFalse("extracted library deleted after load", Files.exists(f));
        assertFalse("private temp directory deleted after load", Files.exists(f.getParent()));
        String from = loader.describeLoadedFrom();
        assertTrue(from, from.startsWith("bundled resource native/linux-x86_64/libfreshcreds_jni.so"));
        assertTrue(from, from.contains("SHA-256 verified") && from.contains(f.toString()));
        assertTrue(resources.asked.toString(), resources.asked.contains("native/linux-x86_64/libfreshcreds_jni.so.sha256"));
    }

    @Test
    public void sha256IsCaseInsensitiveAndMayBeTheWholeFile() throws Exception {
        DirResources resources = bundle("linux-x86_64", LIBRARY, sha256(LIBRARY).toUpperCase());
        InspectingLinker linker = new InspectingLinker();
        new NativeLibraryLoader(props(linuxProps()), resources, linker, glibcHost(), version("0.1.0"), "0.1.0").load();
        assertEquals(1, linker.loaded.size());
    }

    @Test
    public void sha256MismatchIsRefusedNamingBothHashesWithoutLinking() throws Exception {
        Map<String, String> p = linuxProps();
        byte[] tampered = {0x7f, 'E', 'L', 'G'};
        String expected = sha256(LIBRARY);
        String actual = sha256(tampered);
        DirResources resources = bundle("linux-x86_64", tampered, expected + "  libfreshcreds_jni.so\n");
        FakeLinker linker = new FakeLinker();
        linker.loadSucceeds = true;
        NativeLibraryLoader loader = new NativeLibraryLoader(props(p), resources, linker, glibcHost(),
                version("0.1.0"), "0.1.0");
        String m = failure(loader).getMessage();
        assertTrue(m, m.contains("3. bundled resource native/linux-x86_64/libfreshcreds_jni.so: SHA-256 mismatch"));
        assertTrue(m, m.contains("native/linux-x86_64/libfreshcreds_jni.so.sha256 expects " + expected));
        assertTrue(m, m.contains(" has " + actual));
        assertTrue(m, m.contains("corrupted or was tampered with: rebuild it or re-download it"));
        assertEquals("only System.loadLibrary was tried", 1, linker.calls.size());
        assertEquals("loadLibrary freshcreds_jni", linker.calls.get(0));
        assertEquals("extraction cleaned up", 0, new File(p.get("java.io.tmpdir")).list().length);
    }

    @Test
    public void missingSha256FailsClosed() throws Exception {
        DirResources resources = bundle("linux-x86_64", LIBRARY, null);
        FakeLinker linker = new FakeLinker();
        linker.loadSucceeds = true;
        Map<String, String> p = linuxProps();
        String m = failure(new NativeLibraryLoader(props(p), resources, linker, glibcHost(), version("0.1.0"), "0.1.0"))
                .getMessage();
        assertTrue(m, m.contains("3. bundled resource native/linux-x86_64/libfreshcreds_jni.so: its checksum "
                + "native/linux-x86_64/libfreshcreds_jni.so.sha256 is missing from this jar"));
        assertTrue(m, m.contains("rebuild it or re-download it"));
        assertEquals(1, linker.calls.size());
        assertEquals("nothing extracted", 0, new File(p.get("java.io.tmpdir")).list().length);
    }

    @Test
    public void malformedSha256FailsClosed() throws Exception {
        DirResources resources = bundle("linux-x86_64", LIBRARY, "not-a-digest libfreshcreds_jni.so\n");
        FakeLinker linker = new FakeLinker();
        linker.loadSucceeds = true;
        String m = failure(new NativeLibraryLoader(props(linuxProps()), resources, linker, glibcHost(),
                version("0.1.0"), "0.1.0")).getMessage();
        assertTrue(m, m.contains("does not start with a 64-digit hex SHA-256"));
        assertEquals(1, linker.calls.size());
    }

    @Test
    public void extractDirPropertyIsUsedAndCreatedOwnerOnly() throws Exception {
        Map<String, String> p = linuxProps();
        File extractDir = new File(tmp.getRoot(), "exec-ok/freshcreds");
        assertFalse(extractDir.exists());
        p.put(NativeLibraryLoader.EXTRACT_DIR_PROPERTY, extractDir.getPath());
        DirResources resources = bundle("linux-x86_64", LIBRARY, sha256(LIBRARY));
        InspectingLinker linker = new InspectingLinker();
        new NativeLibraryLoader(props(p), resources, linker, glibcHost(), version("0.1.0"), "0.1.0").load();
        Path f = linker.loaded.get(0);
        assertTrue(f.toString(), f.startsWith(extractDir.toPath()));
        assertEquals(extractDir.toPath(), f.getParent().getParent());
        assertTrue(extractDir.isDirectory());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(extractDir.toPath())));
        assertEquals("java.io.tmpdir not used", 0, new File(p.get("java.io.tmpdir")).list().length);
        assertEquals("extract dir left empty", 0, extractDir.list().length);
    }

    @Test
    public void failedToMapSegmentGivesTheNoexecHint() throws Exception {
        for (String error : new String[] {"failed to map segment from shared object", "Operation not permitted"}) {
            Map<String, String> p = linuxProps();
            File extractDir = tmp.newFolder();
            p.put(NativeLibraryLoader.EXTRACT_DIR_PROPERTY, extractDir.getPath());
            FakeLinker linker = new FakeLinker();
            linker.loadError = error;
            DirResources resources = bundle("linux-x86_64", LIBRARY, sha256(LIBRARY));
            String m = failure(new NativeLibraryLoader(props(p), resources, linker, glibcHost(),
                    version("0.1.0"), "0.1.0")).getMessage();
            assertTrue(m, m.contains(error));
            assertTrue(m, m.contains("The extraction directory " + extractDir.getAbsolutePath()
                    + " is probably mounted noexec"));
            assertTrue(m, m.contains("-Dfreshcreds.native.extractDir=/a/dir/that/allows/exec"));
            assertTrue(m, m.contains("on -Djava.library.path"));
            assertEquals("extract dir left empty", 0, extractDir.list().length);
        }
    }

    @Test
    public void otherLoadErrorsGetNoNoexecHint() throws Exception {
        FakeLinker linker = new FakeLinker();
        linker.loadError = "wrong ELF class: ELFCLASS32";
        DirResources resources = bundle("linux-x86_64", LIBRARY, sha256(LIBRARY));
        String m = failure(new NativeLibraryLoader(props(linuxProps()), resources, linker, glibcHost(),
                version("0.1.0"), "0.1.0")).getMessage();
        assertTrue(m, m.contains("wrong ELF class"));
        assertFalse(m, m.contains("noexec"));
    }

    // ------------------------------------------------------------------ platform keys

    @Test
    public void platformKeys() {
        assertEquals("linux-x86_64", platformKey(host("Linux", "amd64"), glibcHost()));
        assertEquals("linux-x86_64", platformKey(host("Linux", "x86_64"), glibcHost()));
        assertEquals("linux-aarch_64", platformKey(host("Linux", "aarch64"), glibcHost()));
        assertEquals("linux-x86_64-musl", platformKey(host("Linux", "amd64"), new FakeLibc().maps(MUSL_MAPS)));
        assertEquals("linux-aarch_64-musl", platformKey(host("Linux", "aarch64"),
                new FakeLibc().maps(MUSL_MAPS.replace("ld-musl-x86_64", "ld-musl-aarch64"))));
        assertEquals("windows-x86_64", platformKey(host("Windows 11", "amd64"), UNUSED_PROBE));
        assertEquals("osx-x86_64", platformKey(host("Mac OS X", "x86_64"), UNUSED_PROBE));
        assertEquals("osx-aarch_64", platformKey(host("Mac OS X", "aarch64"), UNUSED_PROBE));
        for (String key : new String[] {"linux-x86_64", "linux-aarch_64", "linux-x86_64-musl", "linux-aarch_64-musl",
                "windows-x86_64", "osx-x86_64", "osx-aarch_64"}) {
            assertTrue(key, NativeLibraryLoader.KNOWN_KEYS.contains(key));
        }
        assertEquals("freshcreds_jni.dll", NativeLibraryLoader.detectPlatform(props(host("Windows 10", "amd64")),
                UNUSED_PROBE).fileName);
        assertEquals("libfreshcreds_jni.dylib", NativeLibraryLoader.detectPlatform(props(host("Mac OS X", "aarch64")),
                UNUSED_PROBE).fileName);
    }

    @Test
    public void platformNames() {
        assertEquals("linux", NativeLibraryLoader.osName("Linux"));
        assertEquals("osx", NativeLibraryLoader.osName("Mac OS X"));
        assertEquals("osx", NativeLibraryLoader.osName("Darwin"));
        assertEquals("windows", NativeLibraryLoader.osName("Windows 11"));
        assertEquals("x86_64", NativeLibraryLoader.archName("amd64"));
        assertEquals("x86_64", NativeLibraryLoader.archName("x86_64"));
        assertEquals("x86_64", NativeLibraryLoader.archName("x64"));
        assertEquals("x86_64", NativeLibraryLoader.archName("x86-64"));
        assertEquals("aarch_64", NativeLibraryLoader.archName("aarch64"));
        assertEquals("aarch_64", NativeLibraryLoader.archName("arm64"));
        assertEquals("libfreshcreds_jni.so", NativeLibraryLoader.libraryFileName("linux"));
        assertEquals("libfreshcreds_jni.dylib", NativeLibraryLoader.libraryFileName("osx"));
        assertEquals("freshcreds_jni.dll", NativeLibraryLoader.libraryFileName("windows"));
    }

    @Test
    public void glibcMapsDecideEvenWhenMuslIsInstalled() {
        // this build machine: musl-tools put /lib/ld-musl-x86_64.so.1 there, the JVM uses glibc
        FakeLibc probe = glibcHost().dir("/lib", "ld-musl-x86_64.so.1", "ld-linux-aarch64.so.1").ldd("musl libc (x86_64)");
        NativeLibraryLoader.Platform p = NativeLibraryLoader.detectPlatform(props(host("Linux", "amd64")), probe);
        assertEquals("linux-x86_64", p.key);
        assertTrue(p.how, p.how.contains("glibc mapped by this JVM per /proc/self/maps"));
        assertEquals(Boolean.FALSE, NativeLibraryLoader.muslFromMaps(GLIBC_MAPS));
        assertEquals("ldd not run", 0, probe.lddCalls);
    }

    @Test
    public void muslMapsDecide() {
        assertEquals(Boolean.TRUE, NativeLibraryLoader.muslFromMaps(MUSL_MAPS));
        assertEquals(Boolean.TRUE, NativeLibraryLoader.muslFromMaps(
                "7f0-7f1 r-xp 00000000 00:2f 12 /usr/lib/libc.musl-x86_64.so.1\n"));
        // a glibc JVM on Alpine through gcompat still runs on musl
        assertEquals(Boolean.TRUE, NativeLibraryLoader.muslFromMaps(MUSL_MAPS
                + "7f2-7f3 r-xp 00000000 00:2f 13 /lib/libgcompat.so.0\n"
                + "7f4-7f5 r-xp 00000000 00:2f 14 /lib/ld-linux-x86-64.so.2\n"));
        FakeLibc probe = new FakeLibc().maps(MUSL_MAPS).dir("/lib64", "ld-linux-x86-64.so.2");
        NativeLibraryLoader.Platform p = NativeLibraryLoader.detectPlatform(props(host("Linux", "amd64")), probe);
        assertEquals("linux-x86_64-musl", p.key);
        assertTrue(p.how, p.how.contains("musl mapped by this JVM per /proc/self/maps"));
        assertEquals(0, probe.lddCalls);
    }

    @Test
    public void mapsNamingNeitherLibcDecidesNothing() {
        assertNull(NativeLibraryLoader.muslFromMaps(null));
        assertNull(NativeLibraryLoader.muslFromMaps("7f0-7f1 r-xp 00000000 00:2f 12 /opt/ld-musl-like/bin/java\n"
                + "7ffd-7ffe rw-p 00000000 00:00 0 [stack]\n"));
    }

    @Test
    public void fallbacksWhenMapsAreUnreadable() {
        Map<String, String> amd64 = host("Linux", "amd64");
        // only the musl loader: musl, without running ldd
        FakeLibc muslOnly = new FakeLibc().dir("/lib", "ld-musl-x86_64.so.1");
        NativeLibraryLoader.Platform p = NativeLibraryLoader.detectPlatform(props(amd64), muslOnly);
        assertEquals("linux-x86_64-musl", p.key);
        assertTrue(p.how, p.how.contains("/lib/ld-musl-x86_64.so.1 exists and no glibc loader"));
        assertEquals(0, muslOnly.lddCalls);
        // only glibc's loader: glibc, without running ldd
        FakeLibc glibcOnly = new FakeLibc().dir("/lib64", "ld-linux-x86-64.so.2").ldd("musl libc");
        assertEquals("linux-x86_64", platformKey(amd64, glibcOnly));
        assertEquals(0, glibcOnly.lddCalls);
        // another arch's loaders do not count
        FakeLibc otherArch = new FakeLibc().dir("/lib", "ld-musl-aarch64.so.1").dir("/lib64", "ld-linux-x86-64.so.2");
        assertEquals("linux-x86_64", platformKey(amd64, otherArch));
        // both (musl-tools on glibc, or gcompat on musl): ldd --version decides
        FakeLibc bothMuslLdd = new FakeLibc().dir("/lib", "ld-musl-x86_64.so.1", "ld-linux-x86-64.so.2")
                .ldd("musl libc (x86_64)\nVersion 1.2.4\nDynamic Program Loader\n");
        p = NativeLibraryLoader.detectPlatform(props(amd64), bothMuslLdd);
        assertEquals("linux-x86_64-musl", p.key);
        assertTrue(p.how, p.how.contains("ldd --version says musl"));
        assertEquals(1, bothMuslLdd.lddCalls);
        FakeLibc bothGlibcLdd = new FakeLibc().dir("/lib", "ld-musl-x86_64.so.1").dir("/lib64", "ld-linux-x86-64.so.2")
                .ldd("ldd (Debian GLIBC 2.36-9+deb12u14) 2.36\n");
        assertEquals("linux-x86_64", platformKey(amd64, bothGlibcLdd));
        assertEquals(1, bothGlibcLdd.lddCalls);
        // neither loader found, ldd absent or hung: glibc
        FakeLibc nothing = new FakeLibc();
        p = NativeLibraryLoader.detectPlatform(props(amd64), nothing);
        assertEquals("linux-x86_64", p.key);
        assertTrue(p.how, p.how.contains("ldd --version did not answer"));
        // maps readable but naming neither libc: the same fallbacks
        FakeLibc undecided = new FakeLibc().maps("7ffd-7ffe rw-p 00000000 00:00 0 [stack]\n")
                .dir("/lib", "ld-musl-aarch64.so.1");
        assertEquals("linux-aarch_64-musl", platformKey(host("Linux", "aarch64"), undecided));
    }

    @Test
    public void platformPropertyOverridesDetection() throws Exception {
        Map<String, String> p = linuxProps();
        p.put(NativeLibraryLoader.PLATFORM_PROPERTY, " linux-aarch_64-musl ");
        NativeLibraryLoader.Platform platform = NativeLibraryLoader.detectPlatform(props(p), UNUSED_PROBE);
        assertEquals("linux-aarch_64-musl", platform.key);
        assertEquals("libfreshcreds_jni.so", platform.fileName);
        assertTrue(platform.how, platform.how.contains("set by -Dfreshcreds.native.platform"));

        DirResources resources = bundle("linux-aarch_64-musl", LIBRARY, sha256(LIBRARY));
        InspectingLinker linker = new InspectingLinker();
        NativeLibraryLoader loader = new NativeLibraryLoader(props(p), resources, linker, UNUSED_PROBE,
                version("0.1.0"), "0.1.0");
        loader.load();
        assertTrue(loader.describeLoadedFrom(),
                loader.describeLoadedFrom().startsWith("bundled resource native/linux-aarch_64-musl/"));

        // named in the failure message
        p.put(NativeLibraryLoader.PLATFORM_PROPERTY, "linux-riscv64");
        String m = failure(new NativeLibraryLoader(props(p), NO_RESOURCES, new FakeLinker(), UNUSED_PROBE,
                version("0.1.0"), "0.1.0")).getMessage();
        assertTrue(m, m.contains("(platform linux-riscv64; set by -Dfreshcreds.native.platform)"));
        assertTrue(m, m.contains("bundled resource native/linux-riscv64/libfreshcreds_jni.so: not in this jar"));
        assertTrue(m, m.contains("dev.freshcreds:freshcreds:0.1.0:linux-riscv64"));

        p.put(NativeLibraryLoader.PLATFORM_PROPERTY, "windows-x86_64");
        assertEquals("freshcreds_jni.dll", NativeLibraryLoader.detectPlatform(props(p), UNUSED_PROBE).fileName);
    }

    @Test
    public void unknownJarVersionIsNamedAsAPlaceholderInTheFix() throws Exception {
        String m = failure(new NativeLibraryLoader(props(linuxProps()), NO_RESOURCES, new FakeLinker(), glibcHost(),
                version("0.1.0"), null)).getMessage();
        assertTrue(m, m.contains("dev.freshcreds:freshcreds:<version>:linux-x86_64"));
    }

    // ------------------------------------------------------------------ the real probe

    @Test
    public void realProbeReadsThisJvmsMaps() {
        Assume.assumeTrue(new File("/proc/self/maps").canRead());
        String maps = NativeLibraryLoader.SYSTEM_LIBC_PROBE.selfMaps();
        assertNotNull(maps);
        assertNotNull("this JVM's maps name its libc", NativeLibraryLoader.muslFromMaps(maps));
        String key = NativeLibraryLoader.detectPlatform().key;
        assertEquals(NativeLibraryLoader.muslFromMaps(maps), key.endsWith("-musl"));
    }

    @Test(timeout = 10_000)
    public void commandsAreRunWithATimeout() {
        Assume.assumeTrue(new File("/bin/sleep").canExecute() && new File("/bin/echo").canExecute());
        long start = System.nanoTime();
        assertNull(NativeLibraryLoader.runWithTimeout(new String[] {"/bin/sleep", "30"}, 300));
        assertTrue("gave up after the timeout", System.nanoTime() - start < 5_000_000_000L);
        assertEquals("hello\n", NativeLibraryLoader.runWithTimeout(new String[] {"/bin/echo", "hello"}, 5000));
        assertNull(NativeLibraryLoader.runWithTimeout(new String[] {"/nonexistent/ldd", "--version"}, 500));
    }

    @Test
    public void jarVersionComesFromTheGeneratedResource() {
        assertEquals("0.1.0", NativeLibraryLoader.readJarVersion());
    }
}
