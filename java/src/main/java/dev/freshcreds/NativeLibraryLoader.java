package dev.freshcreds;


import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Loads {@code libfreshcreds_jni} once per JVM, trying in this order:
 * <ol>
 *   <li>the file named by the system property {@value #NATIVE_PATH_PROPERTY};</li>
 *   <li>{@code System.loadLibrary("freshcreds_jni")}, which searches {@code -Djava.library.path};</li>
 *   <li>the library bundled in the jar at {@code native/<key>/<file>}, checked against its SHA-256,
 *       then loaded from an owner-only temporary copy that is deleted once loaded (see below).</li>
 * </ol>
 * After loading it checks that the library's version equals this jar's version.
 *
 * <p><b>Platform key.</b> The bundled library is looked up under a key {@code <os>-<arch>[-musl]}
 * named as aws-crt-java and os-maven-plugin name them: os is {@code linux}, {@code windows} or
 * {@code osx}; arch is {@code x86_64} (from os.arch amd64, x86_64, x64, x86-64) or {@code aarch_64}
 * (from aarch64, arm64; note the underscore). The keys freshcreds ships are {@code linux-x86_64},
 * {@code linux-aarch_64}, {@code linux-x86_64-musl}, {@code linux-aarch_64-musl},
 * {@code windows-x86_64}, {@code osx-x86_64} and {@code osx-aarch_64}; the file is
 * {@code libfreshcreds_jni.so}, {@code freshcreds_jni.dll} or {@code libfreshcreds_jni.dylib}. The
 * same key is the classifier of the per-platform jar {@code dev.freshcreds:freshcreds:<version>:<key>}.
 * The system property {@value #PLATFORM_PROPERTY} replaces the detected key (for hosts detected
 * wrongly).
 *
 * <p><b>musl.</b> On Linux the {@code -musl} suffix is decided at run time by what this JVM process
 * itself is linked against: {@code /proc/self/maps} mapping musl's loader or libc
 * ({@code ld-musl-*}, {@code libc.musl-*}) means musl, mapping glibc ({@code libc.so.6},
 * {@code ld-linux*}) means glibc. Whether musl is merely installed does not matter then (a glibc host
 * can have musl installed for tools). Only when {@code /proc/self/maps} is unreadable or says neither,
 * the host is taken to be musl if {@code /lib/ld-musl-<arch>.so.1} exists and glibc's loader does
 * not, glibc if only glibc's loader exists, and otherwise musl if {@code ldd --version} (run with a
 * two-second timeout) mentions musl.
 *
 * <p><b>SHA-256.</b> Next to each bundled library the build writes {@code native/<key>/<file>.sha256},
 * whose first whitespace-separated token is the library's lowercase hex SHA-256. The digest of the
 * extracted copy is computed while copying and compared before {@code System.load}; a mismatch, or a
 * missing or malformed {@code .sha256}, fails that attempt without loading anything (a corrupted or
 * tampered jar). Files named by {@value #NATIVE_PATH_PROPERTY} or found on {@code java.library.path}
 * are not checked.
 *
 * <p><b>Extraction.</b> The bundled copy is written to an owner-only directory
 * {@code freshcreds-jni-<version>-*} holding an owner-only file {@code freshcreds-jni-<version>-*.so},
 * created in the directory named by {@value #EXTRACT_DIR_PROPERTY} (created owner-only if missing), or
 * else in {@code java.io.tmpdir}; both are deleted once the library is loaded. Set
 * {@value #EXTRACT_DIR_PROPERTY} when {@code /tmp} is mounted noexec or read-only; a load failure that
 * looks like noexec says so.
 *
 * <p>A failure is stored: every later use throws a {@link NativeLibraryUnavailableException} with the
 * same message (and the first failure as its cause), which names the platform key, lists each attempt,
 * why it failed, and how to fix it. It is a {@link RuntimeException}, not an {@link Error}, so an AWS SDK
 * credentials provider chain can skip freshcreds and go on.
 *
 * <p>Instances are only created by tests; everything else uses {@link #ensureLoaded()}.
 */
public final class NativeLibraryLoader {
    /** System property naming the library file to load, tried first. */
    public static final String NATIVE_PATH_PROPERTY = "freshcreds.native.path";
    /** System property replacing the detected platform key, e.g. {@code linux-x86_64-musl}. */
    public static final String PLATFORM_PROPERTY = "freshcreds.native.platform";
    /** System property naming the directory the bundled library is extracted under (default java.io.tmpdir). */
    public static final String EXTRACT_DIR_PROPERTY = "freshcreds.native.extractDir";
    /** Name given to {@link System#loadLibrary(String)}. */
    public static final String LIBRARY_NAME = "freshcreds_jni";
    /** Classpath resource, generated by the build, holding {@code version=<jar version>}. */
    public static final String VERSION_RESOURCE = "dev/freshcreds/version.properties";
    /** The platform keys freshcreds builds libraries for. */
    static final List<String> KNOWN_KEYS = Arrays.asList("linux-x86_64", "linux-aarch_64", "linux-x86_64-musl",
            "linux-aarch_64-musl", "windows-x86_64", "osx-x86_64", "osx-aarch_64");

    private static final Logger LOG = Logger.getLogger(NativeLibraryLoader.class.getName());
    private static final long LDD_TIMEOUT_MILLIS = 2000;

    /** How a library file or name is linked into the JVM. */
    interface Linker {
        void load(String absolutePath);

        void loadLibrary(String name);
    }

    /** How the bundled library is found; returns null when absent. */
    interface ResourceLocator {
        URL find(String path);
    }

    /** How the loaded library's version is asked. */
    interface VersionProbe {
        String nativeVersion();
    }

    /** What tells glibc and musl apart on Linux. Every method returns null when it cannot answer. */
    interface LibcProbe {
        /** The text of {@code /proc/self/maps}. */
        String selfMaps();

        /** The file names in a directory. */
        String[] list(String dir);

        /** What {@code ldd --version} printed on stdout and stderr, within a short timeout. */
        String lddVersion();
    }

    static final Linker SYSTEM_LINKER = new Linker() {
        @Override
        public void load(String absolutePath) {
            System.load(absolutePath);
        }

        @Override
        public void loadLibrary(String name) {
            System.loadLibrary(name);
        }
    };

    static final VersionProbe NATIVE_VERSION_PROBE = new VersionProbe() {
        @Override
        public String nativeVersion() {
            return NativeAgent.nativeVersion();
        }
    };

    static final LibcProbe SYSTEM_LIBC_PROBE = new LibcProbe() {
        @Override
        public String selfMaps() {
            try {
                // /proc files report size 0: read until EOF. Paths are bytes, hence ISO-8859-1.
                BufferedReader r = new BufferedReader(new InputStreamReader(
                        Files.newInputStream(Paths.get("/proc/self/maps")), StandardCharsets.ISO_8859_1));
                try {
                    StringBuilder sb = new StringBuilder();
                    String line;
                    while ((line = r.readLine()) != null) {
                        sb.append(line).append('\n');
                    }
                    return sb.toString();
                } finally {
                    r.close();
                }
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        @Override
        public String[] list(String dir) {
            try {
                return new File(dir).list();
            } catch (RuntimeException e) {
                return null;
            }
        }

        @Override
        public String lddVersion() {
            return runWithTimeout(new String[] {"ldd", "--version"}, LDD_TIMEOUT_MILLIS);
        }
    };

    static final Function<String, String> SYSTEM_PROPERTIES = new Function<String, String>() {
        @Override
        public String apply(String key) {
            return System.getProperty(key);
        }
    };

    private static final class Holder {
        static final NativeLibraryLoader DEFAULT = new NativeLibraryLoader(
                SYSTEM_PROPERTIES,
                classLoaderResources(),
                SYSTEM_LINKER,
                SYSTEM_LIBC_PROBE,
                NATIVE_VERSION_PROBE,
                readJarVersion());
    }

    /** A platform key, the library file name for it, and how the key was decided. */
    static final class Platform {
        final String key;
        final String fileName;
        final String how;

        Platform(String key, String fileName, String how) {
            this.key = key;
            this.fileName = fileName;
            this.how = how;
        }

        String resource() {
            return "native/" + key + "/" + fileName;
        }

        @Override
        public String toString() {
            return key + "; " + how;
        }
    }

    private final Function<String, String> properties;
    private final ResourceLocator resources;
    private final Linker linker;
    private final LibcProbe libcProbe;
    private final VersionProbe versionProbe;
    private final String jarVersion;

    private final Object lock = new Object();
    private volatile boolean loaded;
    private volatile NativeLibraryUnavailableException failure;
    private volatile String loadedFrom;

    NativeLibraryLoader(Function<String, String> properties, ResourceLocator resources, Linker linker,
                        LibcProbe libcProbe, VersionProbe versionProbe, String jarVersion) {
        this.properties = properties;
        this.resources = resources;
        this.linker = linker;
        this.libcProbe = libcProbe;
        this.versionProbe = versionProbe;
        this.jarVersion = jarVersion;
    }

    /**
     * Loads the native library if this JVM has not yet done so. Thread-safe; cheap after the first call.
     *
     * @throws NativeLibraryUnavailableException if loading failed now or on an earlier call
     */
    public static void ensureLoaded() {
        Holder.DEFAULT.load();
    }

    /**
     * Where the library was loaded from, for diagnostics. Does not load it.
     *
     * @return the library file's path, or a description of how it was found ({@code java.library.path},
     *         or the copy extracted from the jar), or null when it is not loaded
     */
    public static String loadedFrom() {
        return Holder.DEFAULT.loadedFrom;
    }

    /**
     * This jar's version; when known, the native library's version must equal it. Does not load the
     * library.
     *
     * @return the version from {@value #VERSION_RESOURCE}, or null when the resource is missing
     */
    public static String jarVersion() {
        return Holder.DEFAULT.jarVersion;
    }

    /** This JVM's platform, as the loader decides it (system properties, /proc/self/maps, ...). */
    static Platform detectPlatform() {
        return detectPlatform(SYSTEM_PROPERTIES, SYSTEM_LIBC_PROBE);
    }

    void load() {
        if (loaded) {
            return;
        }
        NativeLibraryUnavailableException stored = failure;
        if (stored == null) {
            synchronized (lock) {
                if (loaded) {
                    return;
                }
                stored = failure;
                if (stored == null) {
                    try {
                        loadedFrom = attemptAll();
                        loaded = true;
                        LOG.log(Level.FINE, "freshcreds native library loaded from {0}", loadedFrom);
                        return;
                    } catch (NativeLibraryUnavailableException e) {
                        failure = e;
                        throw e;
                    }
                }
            }
        }
        throw new NativeLibraryUnavailableException(stored.getMessage(), stored);
    }

    String describeLoadedFrom() {
        return loadedFrom;
    }

    private String attemptAll() {
        Platform platform = detectPlatform(properties, libcProbe);
        String fileName = platform.fileName;
        List<String> attempts = new ArrayList<String>();

        // 1. explicit file
        String explicit = properties.apply(NATIVE_PATH_PROPERTY);
        if (explicit == null || explicit.trim().isEmpty()) {
            attempts.add("-D" + NATIVE_PATH_PROPERTY + ": not set");
        } else {
            File file = new File(explicit.trim()).getAbsoluteFile();
            if (!file.exists()) {
                attempts.add("-D" + NATIVE_PATH_PROPERTY + "=" + explicit + ": file does not exist");
            } else if (!file.isFile()) {
                attempts.add("-D" + NATIVE_PATH_PROPERTY + "=" + explicit + ": not a regular file");
            } else {
                try {
                    linker.load(file.getPath());
                    return checkVersion(file.getPath(), platform);
                } catch (UnsatisfiedLinkError | SecurityException e) {
                    attempts.add("-D" + NATIVE_PATH_PROPERTY + "=" + explicit + ": " + e);
                }
            }
        }

        // 2. java.library.path
        String libraryPath = properties.apply("java.library.path");
        String libraryPathAttempt = "System.loadLibrary(\"" + LIBRARY_NAME + "\") searching -Djava.library.path="
                + (libraryPath == null || libraryPath.isEmpty() ? "(empty)" : libraryPath);
        try {
            linker.loadLibrary(LIBRARY_NAME);
            return checkVersion(fileName + " from java.library.path", platform);
        } catch (UnsatisfiedLinkError | SecurityException e) {
            attempts.add(libraryPathAttempt + ": " + e);
        }

        // 3. bundled in the jar
        String source = loadBundled(platform, attempts);
        if (source != null) {
            return source;
        }
        throw new NativeLibraryUnavailableException(notFoundMessage(attempts, platform));
    }

    /** Extracts, verifies and loads the bundled library; on failure adds an attempt and returns null. */
    private String loadBundled(Platform platform, List<String> attempts) {
        String resource = platform.resource();
        String what = "bundled resource " + resource;
        URL url = resources.find(resource);
        if (url == null) {
            attempts.add(what + ": not in this jar (it bundles no library for " + platform.key + ")");
            return null;
        }
        String sumResource = resource + ".sha256";
        URL sumUrl = resources.find(sumResource);
        if (sumUrl == null) {
            attempts.add(what + ": its checksum " + sumResource + " is missing from this jar, so the library is not"
                    + " loaded unverified. The jar is incomplete or was repackaged: rebuild it or re-download it.");
            return null;
        }
        String expected;
        try {
            expected = readSha256(sumUrl);
        } catch (IOException e) {
            attempts.add(what + ": cannot read its checksum " + sumResource + " (" + e + "), so the library is not"
                    + " loaded unverified. Rebuild the jar or re-download it.");
            return null;
        }
        if (expected == null) {
            attempts.add(what + ": its checksum " + sumResource + " does not start with a 64-digit hex SHA-256,"
                    + " so the library is not loaded unverified. The jar is corrupted or was tampered with:"
                    + " rebuild it or re-download it.");
            return null;
        }

        Path base = null;
        Path dir = null;
        Path extracted = null;
        try {
            base = extractionBase();
            dir = createPrivateTempDirectory(base);
            extracted = createPrivateTempFile(dir, platform.fileName);
            String actual = copyAndHash(url, extracted);
            if (!expected.equals(actual)) {
                attempts.add(what + ": SHA-256 mismatch, not loaded: " + sumResource + " expects " + expected
                        + " but the extracted copy (" + extracted + ") has " + actual
                        + ". The jar is corrupted or was tampered with: rebuild it or re-download it.");
                return null;
            }
            try {
                linker.load(extracted.toAbsolutePath().toString());
            } catch (UnsatisfiedLinkError e) {
                attempts.add(what + " (extracted to " + extracted + "): " + e + noexecHint(e, base));
                return null;
            }
            return checkVersion(what + " (SHA-256 verified, extracted to " + extracted + ", deleted after load)",
                    platform);
        } catch (IOException | SecurityException e) {
            attempts.add(what + " (extracted to "
                    + (extracted != null ? extracted : dir != null ? dir : base != null ? base : "(unknown)")
                    + "): " + e);
            return null;
        } finally {
            deleteQuietly(extracted);
            deleteQuietly(dir);
        }
    }

    private static String noexecHint(UnsatisfiedLinkError e, Path base) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (!m.contains("failed to map segment") && !m.contains("operation not permitted")) {
            return "";
        }
        return ". The extraction directory " + base + " is probably mounted noexec (or a policy forbids running"
                + " code from it): start the JVM with -D" + EXTRACT_DIR_PROPERTY + "=/a/dir/that/allows/exec, or put "
                + "the library in a directory on -Djava.library.path";
    }

    private String checkVersion(String source, Platform platform) {
        String nativeVersion;
        try {
            nativeVersion = versionProbe.nativeVersion();
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryUnavailableException("freshcreds loaded " + source
                    + " but it does not export freshcreds' JNI entry points (" + e
                    + "). It is not a libfreshcreds_jni built from this project. " + fix(platform), e);
        } catch (RuntimeException e) {
            throw new NativeLibraryUnavailableException("freshcreds loaded " + source
                    + " but asking its version failed (" + e + "). " + fix(platform), e);
        }
        if (jarVersion != null && !jarVersion.equals(nativeVersion)) {
            throw new NativeLibraryUnavailableException("freshcreds native library version mismatch: " + source
                    + " reports version " + nativeVersion + " but this freshcreds jar is version " + jarVersion
                    + ". The jar and libfreshcreds_jni must come from the same build. "
                    + "Point -D" + NATIVE_PATH_PROPERTY + " or -Djava.library.path at the library built with this jar "
                    + "(cargo build --release -p freshcreds-jni writes target/release/" + platform.fileName
                    + "), or remove the stale library so the one bundled in the jar is used.");
        }
        if (jarVersion == null) {
            LOG.log(Level.FINE, "freshcreds: {0} not found; native version {1} not checked",
                    new Object[] {VERSION_RESOURCE, nativeVersion});
        }
        return source;
    }

    private String notFoundMessage(List<String> attempts, Platform platform) {
        StringBuilder sb = new StringBuilder();
        sb.append("freshcreds could not load its native library ").append(platform.fileName)
                .append(" (platform ").append(platform).append("). Attempts:");
        for (int i = 0; i < attempts.size(); i++) {
            sb.append("\n  ").append(i + 1).append(". ").append(attempts.get(i));
        }
        sb.append("\n").append(fix(platform));
        return sb.toString();
    }

    private String fix(Platform platform) {
        String version = jarVersion == null ? "<version>" : jarVersion;
        return "Fix: start the JVM with -Djava.library.path=/dir/containing/" + platform.fileName
                + " or -D" + NATIVE_PATH_PROPERTY + "=/path/to/" + platform.fileName
                + ", or use a freshcreds jar that bundles " + platform.resource()
                + " (for platform " + platform.key + ": add dev.freshcreds:freshcreds:" + version + ":" + platform.key
                + " to the classpath). If " + platform.key + " is not this host's platform, set -D" + PLATFORM_PROPERTY
                + "=<key> (one of " + join(KNOWN_KEYS) + ")."
                + " Build the library with: cargo build --release -p freshcreds-jni (output in target/release/).";
    }

    // ------------------------------------------------------------------ platform

    static Platform detectPlatform(Function<String, String> properties, LibcProbe probe) {
        String override = properties.apply(PLATFORM_PROPERTY);
        if (override != null && !override.trim().isEmpty()) {
            String key = override.trim();
            int dash = key.indexOf('-');
            String os = osName(dash > 0 ? key.substring(0, dash) : key);
            return new Platform(key, libraryFileName(os), "set by -D" + PLATFORM_PROPERTY);
        }
        String osName = properties.apply("os.name");
        String osArch = properties.apply("os.arch");
        String os = osName(osName);
        String arch = archName(osArch);
        String how = "detected from os.name=" + osName + ", os.arch=" + osArch;
        boolean musl = false;
        if (os.equals("linux")) {
            Libc libc = detectLibc(arch, probe);
            musl = libc.musl;
            how += ", " + libc.how;
        }
        return new Platform(platformKey(os, arch, musl), libraryFileName(os),
                how + "; override with -D" + PLATFORM_PROPERTY + "=<key>");
    }

    static String platformKey(String os, String arch, boolean musl) {
        return os + "-" + arch + (musl ? "-musl" : "");
    }

    /** Which C library this Linux JVM runs on, and how that was decided. */
    static final class Libc {
        final boolean musl;
        final String how;

        Libc(boolean musl, String how) {
            this.musl = musl;
            this.how = how;
        }
    }

    static Libc detectLibc(String arch, LibcProbe probe) {
        Boolean fromMaps = muslFromMaps(probe.selfMaps());
        if (fromMaps != null) {
            return new Libc(fromMaps, (fromMaps ? "musl" : "glibc") + " mapped by this JVM per /proc/self/maps");
        }
        String muslLoader = findLoader(probe, muslLoaderName(arch), "ld-musl-", ".so.1");
        String glibcLoader = findLoader(probe, glibcLoaderName(arch), "ld-linux", null);
        if (muslLoader != null && glibcLoader == null) {
            return new Libc(true, "musl: /proc/self/maps unreadable, " + muslLoader + " exists and no glibc loader");
        }
        if (glibcLoader != null && muslLoader == null) {
            return new Libc(false, "glibc: /proc/self/maps unreadable, " + glibcLoader + " exists and no musl loader");
        }
        String ldd = probe.lddVersion();
        if (ldd != null && ldd.toLowerCase(Locale.ROOT).contains("musl")) {
            return new Libc(true, "musl: /proc/self/maps unreadable, ldd --version says musl");
        }
        return new Libc(false, "glibc: /proc/self/maps unreadable, ldd --version "
                + (ldd == null ? "did not answer" : "does not say musl"));
    }

    /** TRUE when the maps text shows musl, FALSE when it shows glibc, null when it shows neither or is null. */
    static Boolean muslFromMaps(String maps) {
        if (maps == null) {
            return null;
        }
        boolean glibc = false;
        for (String line : maps.split("\n")) {
            int slash = line.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String path = line.substring(slash).trim();
            if (path.endsWith(" (deleted)")) {
                path = path.substring(0, path.length() - " (deleted)".length());
            }
            String name = path.substring(path.lastIndexOf('/') + 1);
            if (name.startsWith("ld-musl-") || name.startsWith("libc.musl-")) {
                return Boolean.TRUE;
            }
            if (name.equals("libc.so.6") || name.startsWith("ld-linux")) {
                glibc = true;
            }
        }
        return glibc ? Boolean.FALSE : null;
    }

    private static String muslLoaderName(String arch) {
        if (arch.equals("x86_64")) {
            return "ld-musl-x86_64.so.1";
        }
        if (arch.equals("aarch_64")) {
            return "ld-musl-aarch64.so.1";
        }
        return null;
    }

    private static String glibcLoaderName(String arch) {
        if (arch.equals("x86_64")) {
            return "ld-linux-x86-64.so.2";
        }
        if (arch.equals("aarch_64")) {
            return "ld-linux-aarch64.so.1";
        }
        return null;
    }

    /** The path of the loader in /lib or /lib64: the exact name when known for this arch, else any prefix match. */
    private static String findLoader(LibcProbe probe, String exactName, String prefix, String suffix) {
        for (String dir : new String[] {"/lib", "/lib64"}) {
            String[] names = probe.list(dir);
            if (names == null) {
                continue;
            }
            for (String name : names) {
                boolean match = exactName != null
                        ? name.equals(exactName)
                        : name.startsWith(prefix) && (suffix == null || name.endsWith(suffix));
                if (match) {
                    return dir + "/" + name;
                }
            }
        }
        return null;
    }

    /** Runs a command and returns its combined output, or null if it cannot run or does not finish in time. */
    static String runWithTimeout(String[] command, long timeoutMillis) {
        final Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException | RuntimeException e) {
            return null;
        }
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    InputStream in = p.getInputStream();
                    byte[] buf = new byte[4096];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        synchronized (out) {
                            if (out.size() < 64 * 1024) {
                                out.write(buf, 0, n);
                            }
                        }
                    }
                } catch (IOException e) {
                    // the process was destroyed
                }
            }
        }, "freshcreds-ldd-reader");
        reader.setDaemon(true);
        try {
            p.getOutputStream().close();
            reader.start();
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return null;
            }
            reader.join(500);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return null;
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            return null;
        }
        synchronized (out) {
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        }
    }

    // ------------------------------------------------------------------ extraction

    /** Reads the lowercase hex digest from a .sha256 resource: null when its first token is not one. */
    static String readSha256(URL url) throws IOException {
        InputStream in = url.openStream();
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1024];
            int n;
            while ((n = in.read(buf)) > 0 && out.size() < 64 * 1024) {
                out.write(buf, 0, n);
            }
            String text = new String(out.toByteArray(), StandardCharsets.UTF_8).trim();
            String token = text.isEmpty() ? "" : text.split("\\s+", 2)[0].toLowerCase(Locale.ROOT);
            return token.matches("[0-9a-f]{64}") ? token : null;
        } finally {
            in.close();
        }
    }

    private Path extractionBase() throws IOException {
        String configured = properties.apply(EXTRACT_DIR_PROPERTY);
        if (configured != null && !configured.trim().isEmpty()) {
            Path base = Paths.get(configured.trim()).toAbsolutePath();
            if (!Files.isDirectory(base)) {
                if (posixSupported()) {
                    Files.createDirectories(base,
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectories(base);
                    restrictToOwner(base.toFile(), true);
                }
            }
            return base;
        }
        String tmp = properties.apply("java.io.tmpdir");
        return Paths.get(tmp == null || tmp.isEmpty() ? "." : tmp).toAbsolutePath();
    }

    private Path createPrivateTempDirectory(Path base) throws IOException {
        String prefix = "freshcreds-jni-" + versionForFileName() + "-";
        if (posixSupported()) {
            FileAttribute<Set<PosixFilePermission>> attr =
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
            return Files.createTempDirectory(base, prefix, attr);
        }
        Path dir = Files.createTempDirectory(base, prefix);
        restrictToOwner(dir.toFile(), true);
        return dir;
    }

    private Path createPrivateTempFile(Path dir, String fileName) throws IOException {
        int dot = fileName.lastIndexOf('.');
        String suffix = dot >= 0 ? fileName.substring(dot) : "";
        String prefix = "freshcreds-jni-" + versionForFileName() + "-";
        if (posixSupported()) {
            FileAttribute<Set<PosixFilePermission>> attr =
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
            return Files.createTempFile(dir, prefix, suffix, attr);
        }
        Path file = Files.createTempFile(dir, prefix, suffix);
        restrictToOwner(file.toFile(), false);
        return file;
    }

    /** Copies the resource into the file just created and returns the lowercase hex SHA-256 of what was written. */
    private static String copyAndHash(URL url, Path file) throws IOException {
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IOException("SHA-256 is not available in this JVM", e);
        }
        // Write into the file just created (Files.copy with REPLACE_EXISTING would recreate it with
        // default permissions).
        InputStream in = url.openStream();
        try {
            OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            try {
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    sha256.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            } finally {
                out.close();
            }
        } finally {
            in.close();
        }
        return hex(sha256.digest());
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }

    private static void restrictToOwner(File f, boolean executable) {
        f.setReadable(false, false);
        f.setReadable(true, true);
        f.setWritable(false, false);
        f.setWritable(true, true);
        f.setExecutable(false, false);
        if (executable) {
            f.setExecutable(true, true);
        }
    }

    private static boolean posixSupported() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            // Windows keeps loaded DLLs locked; remove at exit instead.
            p.toFile().deleteOnExit();
        }
    }

    private String versionForFileName() {
        return jarVersion == null ? "unknown" : jarVersion.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static String join(List<String> items) {
        StringBuilder sb = new StringBuilder();
        for (String s : items) {
            sb.append(sb.length() == 0 ? "" : ", ").append(s);
        }
        return sb.toString();
    }

    static String osName(String osName) {
        String os = osName == null ? "" : osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            return "linux";
        }
        if (os.contains("mac") || os.contains("darwin") || os.equals("osx")) {
            return "osx";
        }
        if (os.startsWith("windows")) {
            return "windows";
        }
        return os.replaceAll("[^a-z0-9]", "");
    }

    static String archName(String osArch) {
        String arch = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
        if (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("x64") || arch.equals("x86-64")) {
            return "x86_64";
        }
        if (arch.equals("aarch64") || arch.equals("arm64") || arch.equals("aarch_64")) {
            return "aarch_64";
        }
        return arch.replaceAll("[^a-z0-9_]", "");
    }

    static String libraryFileName(String os) {
        if (os.equals("windows")) {
            return LIBRARY_NAME + ".dll";
        }
        if (os.equals("osx")) {
            return "lib" + LIBRARY_NAME + ".dylib";
        }
        return "lib" + LIBRARY_NAME + ".so";
    }

    static ResourceLocator classLoaderResources() {
        return new ResourceLocator() {
            @Override
            public URL find(String path) {
                ClassLoader cl = NativeLibraryLoader.class.getClassLoader();
                return cl == null ? ClassLoader.getSystemResource(path) : cl.getResource(path);
            }
        };
    }

    static String readJarVersion() {
        URL url = classLoaderResources().find(VERSION_RESOURCE);
        if (url == null) {
            return null;
        }
        try {
            InputStream in = url.openStream();
            try {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version");
                return v == null ? null : v.trim();
            } finally {
                in.close();
            }
        } catch (IOException e) {
            return null;
        }
    }
}
