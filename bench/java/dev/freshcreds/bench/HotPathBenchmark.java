package dev.freshcreds.bench;

import dev.freshcreds.e2e.SimulatorProcess;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * Row 1: getCredentials()/resolveCredentials() with cached credentials. The simulator runs in real
 * time with 6 h credentials, so no provider reaches a refresh point during a run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HotPathBenchmark {
    @Param({"freshcreds-v1", "freshcreds-v2", "sdkv1-sync", "sdkv1-async", "sdkv2-sync", "sdkv2-async"})
    public String provider;

    private SimulatorProcess sim;
    private Providers.Handle handle;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        sim = SimulatorProcess.start(1, 21600, 3600);
        handle = Providers.create(provider, sim, false);
        handle.call(); // first load outside the measurement
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (handle != null) {
            handle.close();
        }
        if (sim != null) {
            sim.close();
        }
    }

    @Benchmark
    public Object credentials() {
        return handle.call();
    }
}
