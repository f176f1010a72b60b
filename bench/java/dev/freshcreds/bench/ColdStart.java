package dev.freshcreds.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * Rows 4 and 5, one fresh JVM per run: {@code ColdStart PROVIDER BASE_URL ORIGIN SCALE}. Prints one JSON
 * line: nanoseconds from the first line of main (no provider class loaded yet, native library not loaded)
 * to the first credentials, and VmRSS / thread counts before and after.
 */
public final class ColdStart {
    private ColdStart() {
    }

    public static void main(String[] args) throws Exception {
        long rssBefore = status("VmRSS");
        long osThreadsBefore = status("Threads");
        int javaThreadsBefore = Thread.activeCount();
        long t0 = System.nanoTime();
        Providers.Handle h = Providers.create(args[0], args[1], Long.parseLong(args[2]), Double.parseDouble(args[3]), false);
        Object creds = h.call();
        long t1 = System.nanoTime();
        if (creds == null) {
            throw new IllegalStateException("no credentials");
        }
        long rssAfter = status("VmRSS");
        Thread.sleep(500); // let background threads a provider starts come up
        long rssSettled = status("VmRSS");
        long osThreadsAfter = status("Threads");
        int javaThreadsAfter = Thread.activeCount();
        System.out.println("{\"provider\":\"" + args[0] + "\",\"cold_ns\":" + (t1 - t0)
                + ",\"rss_before_kb\":" + rssBefore + ",\"rss_after_kb\":" + rssAfter + ",\"rss_settled_kb\":" + rssSettled
                + ",\"os_threads_before\":" + osThreadsBefore + ",\"os_threads_after\":" + osThreadsAfter
                + ",\"java_threads_before\":" + javaThreadsBefore + ",\"java_threads_after\":" + javaThreadsAfter + "}");
        System.out.flush();
        Runtime.getRuntime().halt(0); // do not time or wait for provider shutdown
    }

    /** A numeric field of /proc/self/status (kB for VmRSS). */
    static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.US_ASCII)) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }
}
