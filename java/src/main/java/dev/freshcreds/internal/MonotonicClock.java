package dev.freshcreds.internal;

/**
 * The one place freshcreds reads time on the Java side. Only monotonic time is used: a wall-clock
 * step can never make the Java side hand out credentials that native code considers due for refresh.
 */
public interface MonotonicClock {
    /** Nanoseconds from an arbitrary fixed origin, monotonic, as {@link System#nanoTime()}. */
    long nanoTime();

    /** The JVM's monotonic clock. */
    MonotonicClock SYSTEM = new MonotonicClock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public String toString() {
            return "MonotonicClock.SYSTEM";
        }
    };
}
