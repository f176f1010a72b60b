package dev.freshcreds.internal;

/**
 * Where freshcreds reads monotonic time on the Java side (wall time: {@link WallClock}). Snapshot
 * validity is measured on it, so a wall-clock step can never make the Java side hand out credentials
 * that native code considers due for refresh; because it stops while the machine is suspended, a
 * wall-clock deadline bounds the validity as well (see the API's {@code CredentialsSnapshot}).
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
