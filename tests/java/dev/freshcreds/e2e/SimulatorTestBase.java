package dev.freshcreds.e2e;

import org.junit.AfterClass;
import org.junit.BeforeClass;

/**
 * One simulator on 127.0.0.1, with the default test settings ({@link SimulatorProcess#start()}), for
 * each test class that extends this: started before its first test, stopped after its last.
 */
public abstract class SimulatorTestBase {
    /** The running simulator of the current test class. */
    protected static SimulatorProcess sim;

    @BeforeClass
    public static void startSimulator() throws Exception {
        sim = SimulatorProcess.start();
    }

    @AfterClass
    public static void stopSimulator() {
        if (sim != null) {
            sim.close();
            sim = null;
        }
    }
}
