package dev.freshcreds.internal;

/**
 * The one place freshcreds reads this host's wall clock on the Java side (the other is
 * {@link MonotonicClock}). Wall time is only used where AWS compares it with its own: timing the
 * requests whose {@code Date} headers measure the clock skew, and the signing time the SDK hooks
 * correct by that skew; and as a second bound on how long a credentials snapshot may be used
 * without native code (the monotonic clock stops while the machine is suspended, the wall clock does
 * not). It can only shorten that period, never lengthen it: a wall-clock step back leaves the
 * monotonic bound in force, a step forward costs one native call.
 */
public interface WallClock {
    /** Milliseconds since the epoch on this host's clock, as {@link System#currentTimeMillis()}. */
    long currentTimeMillis();

    /** The JVM's wall clock. */
    WallClock SYSTEM = new WallClock() {
        @Override
        public long currentTimeMillis() {
            return System.currentTimeMillis();
        }

        @Override
        public String toString() {
            return "WallClock.SYSTEM";
        }
    };
}
