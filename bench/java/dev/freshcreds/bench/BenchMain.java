package dev.freshcreds.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.freshcreds.e2e.SimulatorProcess;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs every benchmark row and writes one JSON file that {@code bench/report.py} turns into BENCHMARKS.md
 * and bench/chart.png. Usage: {@code BenchMain OUT.json JAR NATIVE_LIB [section ...]}, sections
 * {@code hot refresh control load cold footprint} (default: all).
 */
public final class BenchMain {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long THINK_NANOS = 20_000;

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        File out = new File(args[0]);
        File jar = new File(args[1]);
        File lib = new File(args[2]);
        List<String> sections = args.length > 3 ? Arrays.asList(args).subList(3, args.length)
                : Arrays.asList("hot", "refresh", "control", "load", "cold", "footprint");
        ObjectNode root = out.isFile() ? (ObjectNode) JSON.readTree(out) : JSON.createObjectNode();
        root.put("cpus", Runtime.getRuntime().availableProcessors());
        root.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        for (String s : sections) {
            long t = System.nanoTime();
            log("=== " + s);
            if (s.equals("hot")) {
                root.set("hot", hot());
            } else if (s.equals("refresh")) {
                root.set("refresh", refresh());
            } else if (s.equals("control")) {
                root.set("control", control());
            } else if (s.equals("load")) {
                root.set("load", load());
            } else if (s.equals("cold")) {
                root.set("cold", cold());
            } else if (s.equals("footprint")) {
                root.set("footprint", footprint(jar, lib, root.path("cold")));
            } else {
                throw new IllegalArgumentException("unknown section " + s);
            }
            log("=== " + s + " done in " + (System.nanoTime() - t) / 1_000_000_000 + " s");
            out.getParentFile().mkdirs();
            JSON.writerWithDefaultPrettyPrinter().writeValue(out, root);
        }
        System.exit(0);
    }

    static void log(String s) {
        System.out.println("[bench] " + s);
        System.out.flush();
    }

    // ------------------------------------------------------------------ row 1: JMH hot path
    @SuppressWarnings("rawtypes")
    private static ArrayNode hot() throws Exception {
        ArrayNode rows = JSON.createArrayNode();
        List<String> jvmArgs = new ArrayList<String>(ManagementFactory.getRuntimeMXBean().getInputArguments());
        for (int threads : new int[]{1, 8}) {
            ChainedOptionsBuilder o = new OptionsBuilder()
                    .include(HotPathBenchmark.class.getName() + ".credentials")
                    .forks(1)
                    .warmupIterations(2).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(3).measurementTime(TimeValue.seconds(1))
                    .threads(threads)
                    .addProfiler(GCProfiler.class)
                    .jvmArgs(jvmArgs.toArray(new String[0]));
            Collection<RunResult> results = new Runner(o.build()).run();
            for (RunResult r : results) {
                ObjectNode row = rows.addObject();
                row.put("provider", r.getParams().getParam("provider"));
                row.put("threads", threads);
                row.put("ns_per_op", r.getPrimaryResult().getScore());
                row.put("ns_per_op_error", r.getPrimaryResult().getScoreError());
                for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
                    if (e.getKey().endsWith("gc.alloc.rate.norm")) {
                        row.put("bytes_per_op", e.getValue().getScore());
                    }
                }
            }
        }
        return rows;
    }

    // ------------------------------------------------------------------ row 2: callers across a refresh
    /** Log-linear latency histogram: 16 sub-buckets per power of two (about 6 % resolution); exact max. */
    static final class Histogram {
        final long[] counts = new long[16 + 64 * 16];
        long max;
        long n;

        void record(long ns) {
            if (ns < 0) {
                ns = 0;
            }
            counts[index(ns)]++;
            n++;
            if (ns > max) {
                max = ns;
            }
        }

        static int index(long v) {
            if (v < 16) {
                return (int) v;
            }
            int e = 63 - Long.numberOfLeadingZeros(v);
            int sub = (int) ((v >>> (e - 4)) & 15);
            return 16 + (e - 4) * 16 + sub;
        }

        static long upper(int idx) {
            if (idx < 16) {
                return idx;
            }
            int e = (idx - 16) / 16 + 4;
            long sub = (idx - 16) % 16;
            return ((16 + sub + 1) << (e - 4)) - 1;
        }

        void add(Histogram o) {
            for (int i = 0; i < counts.length; i++) {
                counts[i] += o.counts[i];
            }
            n += o.n;
            max = Math.max(max, o.max);
        }

        long percentile(double p) {
            long target = (long) Math.ceil(p * n);
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen >= target && counts[i] > 0) {
                    return Math.min(upper(i), max);
                }
            }
            return max;
        }

        long countAbove(long ns) {
            long c = 0;
            for (int i = 0; i < counts.length; i++) {
                if (upper(i) > ns) {
                    c += counts[i];
                }
            }
            return c;
        }
    }

    private static ArrayNode refresh() throws Exception {
        ArrayNode rows = JSON.createArrayNode();
        for (String p : Providers.ALL) {
            boolean v1 = p.startsWith("sdkv1");
            // freshcreds and SDK v2 on a 120x clock (1 h credentials, a new generation every 10 real s):
            // SDK v2 prefetches 30 sim min after a load, freshcreds 15 min before expiry, both inside 35 s.
            // SDK v1 reads only the real clock: 1 s = 1 s, 905 s credentials (it refreshes 15 min before
            // expiry, i.e. 5 s after each load) and a new generation every 5 s.
            SimulatorProcess sim = v1 ? SimulatorProcess.start(1, 905, 900) : SimulatorProcess.start(120, 3600, 2400);
            try {
                rows.add(refreshOne(p, sim, !v1, v1 ? 20_000 : 35_000));
            } finally {
                sim.close();
            }
        }
        return rows;
    }

    /**
     * The row 2 harness with no refresh and no IMDS delay (real-time simulator, 6 h credentials): what the
     * same callers see from the machine alone (scheduler, timer interrupts, JIT, other processes).
     */
    private static ArrayNode control() throws Exception {
        ArrayNode rows = JSON.createArrayNode();
        for (String p : new String[]{"freshcreds-v2", "sdkv2-sync"}) {
            SimulatorProcess sim = SimulatorProcess.start(1, 21600, 3600);
            try {
                rows.add(refreshOne(p, sim, false, 20_000, false));
            } finally {
                sim.close();
            }
        }
        return rows;
    }

    private static ObjectNode refreshOne(String name, SimulatorProcess sim, boolean compressed, long windowMillis) throws Exception {
        return refreshOne(name, sim, compressed, windowMillis, true);
    }

    private static ObjectNode refreshOne(String name, SimulatorProcess sim, boolean compressed, long windowMillis,
                                         boolean slowImds) throws Exception {
        final Providers.Handle h = Providers.create(name, sim, compressed);
        try {
            h.call(); // the first load is cold start, not a refresh
            for (int i = 0; i < 20_000; i++) {
                h.call();
            }
            if (slowImds) {
                sim.patchFaults("{\"imds_delay_ms\":500}");
            }
            long imdsBefore = sim.stats().imdsRequestsTotal();
            long getsBefore = sim.stats().credentialGets();
            final int threads = 16;
            final Histogram[] hs = new Histogram[threads];
            final AtomicBoolean stop = new AtomicBoolean();
            final CountDownLatch ready = new CountDownLatch(threads);
            final List<Throwable> errors = Collections.synchronizedList(new ArrayList<Throwable>());
            Thread[] ts = new Thread[threads];
            for (int i = 0; i < threads; i++) {
                final Histogram hist = hs[i] = new Histogram();
                ts[i] = new Thread(new Runnable() {
                    public void run() {
                        ready.countDown();
                        try {
                            while (!stop.get()) {
                                long a = System.nanoTime();
                                h.call();
                                hist.record(System.nanoTime() - a);
                                // 20 us of "other work" between calls: 16 spinning threads on 2 cores would
                                // measure the OS scheduler's time slices, not the provider
                                LockSupport.parkNanos(THINK_NANOS);
                            }
                        } catch (Throwable t) {
                            errors.add(t);
                        }
                    }
                }, "bench-caller-" + i);
                ts[i].start();
            }
            ready.await();
            Set<String> keys = new HashSet<String>();
            long end = System.currentTimeMillis() + windowMillis;
            while (System.currentTimeMillis() < end) {
                keys.add(h.accessKeyId());
                Thread.sleep(50);
            }
            stop.set(true);
            for (Thread t : ts) {
                t.join();
            }
            Histogram all = new Histogram();
            for (Histogram x : hs) {
                all.add(x);
            }
            if (slowImds) {
                sim.patchFaults("{\"imds_delay_ms\":null}");
            }
            ObjectNode row = JSON.createObjectNode();
            row.put("provider", name);
            row.put("threads", threads);
            row.put("think_ns", THINK_NANOS);
            row.put("window_s", windowMillis / 1000.0);
            row.put("time_scale", sim.timeScale());
            row.put("calls", all.n);
            row.put("p50_ns", all.percentile(0.50));
            row.put("p99_ns", all.percentile(0.99));
            row.put("p999_ns", all.percentile(0.999));
            row.put("max_ns", all.max);
            row.put("calls_over_1ms", all.countAbove(1_000_000));
            row.put("calls_over_100ms", all.countAbove(100_000_000));
            row.put("generations_seen", keys.size());
            row.put("refreshes", keys.size() - 1);
            row.put("imds_requests", sim.stats().imdsRequestsTotal() - imdsBefore);
            row.put("credential_gets", sim.stats().credentialGets() - getsBefore);
            row.put("errors", errors.size());
            if (!errors.isEmpty()) {
                row.put("first_error", errors.get(0).toString());
            }
            log("refresh " + row);
            return row;
        } finally {
            h.close();
        }
    }

    // ------------------------------------------------------------------ row 3: IMDS load
    private static ArrayNode load() throws Exception {
        ArrayNode rows = JSON.createArrayNode();
        for (String p : new String[]{"freshcreds-v2", "sdkv1-sync", "sdkv1-async", "sdkv2-sync", "sdkv2-async"}) {
            for (int threads : new int[]{1, 256}) {
                boolean v1 = p.startsWith("sdkv1");
                // 1200x: 1 h credentials, a new generation every 2 real s. SDK v1 (real clock only): 905 s
                // credentials (it refreshes 5 s after a load), a new generation every 3 s.
                SimulatorProcess sim = v1 ? SimulatorProcess.start(1, 905, 902) : SimulatorProcess.start(1200, 3600, 1200);
                try {
                    rows.add(loadOne(p, sim, !v1, threads, 10));
                } finally {
                    sim.close();
                }
            }
        }
        return rows;
    }

    private static ObjectNode loadOne(String name, SimulatorProcess sim, boolean compressed, int threads, int rotations) throws Exception {
        final Providers.Handle h = Providers.create(name, sim, compressed);
        try {
            h.call();
            long t0 = System.currentTimeMillis();
            SimulatorProcess.Stats s0 = sim.stats();
            final AtomicBoolean stop = new AtomicBoolean();
            final List<Throwable> errors = Collections.synchronizedList(new ArrayList<Throwable>());
            Thread[] ts = new Thread[threads];
            final long[] calls = new long[threads];
            for (int i = 0; i < threads; i++) {
                final int idx = i;
                ts[i] = new Thread(new Runnable() {
                    public void run() {
                        long c = 0;
                        try {
                            while (!stop.get()) {
                                h.call();
                                c++;
                            }
                        } catch (Throwable t) {
                            errors.add(t);
                        }
                        calls[idx] = c;
                    }
                }, "bench-load-" + i);
                ts[i].start();
            }
            SimulatorProcess.Stats s1 = sim.stats();
            while (s1.rotations() - s0.rotations() < rotations && System.currentTimeMillis() - t0 < 120_000) {
                Thread.sleep(50);
                s1 = sim.stats();
            }
            stop.set(true);
            for (Thread t : ts) {
                t.join();
            }
            long total = 0;
            for (long c : calls) {
                total += c;
            }
            long rot = s1.rotations() - s0.rotations();
            ObjectNode row = JSON.createObjectNode();
            row.put("provider", name);
            row.put("threads", threads);
            row.put("time_scale", sim.timeScale());
            row.put("rotations", rot);
            row.put("seconds", (System.currentTimeMillis() - t0) / 1000.0);
            row.put("calls", total);
            row.put("imds_requests", s1.imdsRequestsTotal() - s0.imdsRequestsTotal());
            row.put("credential_gets", s1.credentialGets() - s0.credentialGets());
            row.put("imds_requests_per_rotation", (s1.imdsRequestsTotal() - s0.imdsRequestsTotal()) / (double) rot);
            row.put("credential_gets_per_rotation", (s1.credentialGets() - s0.credentialGets()) / (double) rot);
            row.put("errors", errors.size());
            if (!errors.isEmpty()) {
                row.put("first_error", errors.get(0).toString());
            }
            log("load " + row);
            return row;
        } finally {
            h.close();
        }
    }

    // ------------------------------------------------------------------ rows 4 and 5: fresh JVMs
    private static ArrayNode cold() throws Exception {
        ArrayNode rows = JSON.createArrayNode();
        SimulatorProcess sim = SimulatorProcess.start(1, 21600, 3600);
        try {
            String java = new File(System.getProperty("java.home"), "bin/java").getAbsolutePath();
            List<String> base = new ArrayList<String>();
            base.add(java);
            base.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            base.add("-cp");
            base.add(System.getProperty("java.class.path"));
            base.add(ColdStart.class.getName());
            int runs = 5;
            for (String p : new String[]{"freshcreds-v1", "freshcreds-v2", "sdkv1-sync", "sdkv2-sync"}) {
                for (int i = 0; i < runs; i++) {
                    List<String> cmd = new ArrayList<String>(base);
                    cmd.addAll(Arrays.asList(p, sim.baseUrl(), Long.toString(sim.originEpochMillis()), "1"));
                    ProcessBuilder pb = new ProcessBuilder(cmd);
                    pb.redirectErrorStream(false);
                    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
                    long a = System.nanoTime();
                    Process proc = pb.start();
                    BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
                    String line;
                    String json = null;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("{\"provider\"")) {
                            json = line;
                        }
                    }
                    int rc = proc.waitFor();
                    long wall = System.nanoTime() - a;
                    if (rc != 0 || json == null) {
                        throw new IllegalStateException("cold start run of " + p + " failed, exit " + rc);
                    }
                    ObjectNode row = (ObjectNode) JSON.readTree(json);
                    row.put("run", i);
                    row.put("process_wall_ns", wall);
                    rows.add(row);
                    log("cold " + row);
                }
            }
        } finally {
            sim.close();
        }
        return rows;
    }

    private static ObjectNode footprint(File jar, File lib, com.fasterxml.jackson.databind.JsonNode cold) throws Exception {
        ObjectNode f = JSON.createObjectNode();
        f.put("jar", jar.getName());
        f.put("jar_bytes", jar.length());
        f.put("lib_bytes", lib.length());
        File stripped = File.createTempFile("freshcreds-stripped-", ".so");
        try {
            Process p = new ProcessBuilder("strip", "-o", stripped.getAbsolutePath(), lib.getAbsolutePath())
                    .inheritIO().start();
            if (p.waitFor() == 0) {
                f.put("lib_stripped_bytes", stripped.length());
            }
        } catch (java.io.IOException e) {
            f.put("lib_stripped_error", e.toString());
        } finally {
            stripped.delete();
        }
        return f;
    }
}
