package dev.freshcreds;

import dev.freshcreds.internal.MonotonicClock;
import dev.freshcreds.internal.WallClock;

/**
 * One immutable set of credentials as handed over by native code.
 *
 * <p>Native code builds instances through the one constructor (see DEVELOPERS.md, "The JNI
 * contract"). The constructor stamps {@link #receivedAtNanos()} with {@link System#nanoTime()}
 * and {@link #receivedAtWallMillis()} with {@link System#currentTimeMillis()}; the snapshot may be handed out
 * without asking native code again while {@code now - receivedAtNanos < validForNanos} on the
 * monotonic clock <em>and</em> the wall clock is before {@link #wallDeadlineMillis()}
 * ({@code receivedAtWallMillis + validForNanos}). The period ends where native code's mandatory
 * refresh window starts. Both clocks are needed: the monotonic clock ({@code System.nanoTime()})
 * stops while the machine is suspended, so after a resume it alone would keep handing out
 * credentials that expired during the sleep; the wall clock keeps running through a suspend but can
 * be stepped back, which the monotonic clock cannot.
 *
 * <p>{@link #toString()} shows the access key id and expiration only, never the secret or token.
 *
 * <p>Immutable and thread-safe. Get one from {@link FreshcredsAgent#currentSnapshot()} for each
 * request rather than keeping it: the agent replaces snapshots ahead of expiry.
 */
public final class CredentialsSnapshot {
    /** Value of {@link #expirationEpochMillis()} when the credentials do not expire. */
    public static final long NO_EXPIRATION = Long.MIN_VALUE;

    private final String accessKeyId;
    private final String secretAccessKey;
    private final String sessionToken;
    private final long expirationEpochMillis;
    private final long validForNanos;
    private final long generation;
    private final long receivedAtNanos;
    private final long receivedAtWallMillis;
    private final long wallDeadlineMillis;

    /**
     * Called by native code (JNI ignores Java access, so this stays package-private: applications get
     * snapshots from {@link FreshcredsAgent}, never build them). Do not change the parameter list: it
     * is part of the JNI contract, signature
     * {@code (Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJJ)V}.
     *
     * @param accessKeyId           access key id, never null
     * @param secretAccessKey       secret access key, never null
     * @param sessionToken          session token, null when there is none
     * @param expirationEpochMillis expiration, {@link #NO_EXPIRATION} when there is none
     * @param validForNanos         how long from receipt Java may hand this out without native code
     * @param generation            increases each time native code obtains new credentials
     */
    CredentialsSnapshot(String accessKeyId, String secretAccessKey, String sessionToken,
                               long expirationEpochMillis, long validForNanos, long generation) {
        this.receivedAtNanos = MonotonicClock.SYSTEM.nanoTime();
        this.receivedAtWallMillis = WallClock.SYSTEM.currentTimeMillis();
        if (accessKeyId == null || secretAccessKey == null) {
            throw new NullPointerException("accessKeyId and secretAccessKey must not be null");
        }
        this.accessKeyId = accessKeyId;
        this.secretAccessKey = secretAccessKey;
        this.sessionToken = sessionToken;
        this.expirationEpochMillis = expirationEpochMillis;
        this.validForNanos = validForNanos;
        this.generation = generation;
        this.wallDeadlineMillis = wallDeadline(receivedAtWallMillis, validForNanos);
    }

    /**
     * {@code receivedAt + validForNanos} in milliseconds, rounded down (never after the monotonic end),
     * saturating; {@code Long.MAX_VALUE} (no deadline) when native code said "valid for ever".
     */
    private static long wallDeadline(long receivedAtMillis, long validForNanos) {
        if (validForNanos == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        if (validForNanos <= 0) {
            return receivedAtMillis;
        }
        long validForMillis = validForNanos / 1_000_000L;
        return receivedAtMillis > Long.MAX_VALUE - validForMillis ? Long.MAX_VALUE : receivedAtMillis + validForMillis;
    }

    /**
     * The access key id. Not secret, so it may be logged; {@link FreshcredsAgent#invalidate(String)}
     * takes it to report rejected credentials.
     *
     * @return the access key id, never null
     */
    public String accessKeyId() {
        return accessKeyId;
    }

    /**
     * The secret access key. Never log it or put it in a message.
     *
     * @return the secret access key, never null
     */
    public String secretAccessKey() {
        return secretAccessKey;
    }

    /**
     * The session token of temporary credentials (always present for instance-role credentials).
     * Secret, like {@link #secretAccessKey()}.
     *
     * @return the session token, or null when the credentials have none (long-term keys)
     */
    public String sessionToken() {
        return sessionToken;
    }

    /**
     * When the credentials expire, as reported by the source. Use {@link #hasExpiration()} before
     * comparing it with a time.
     *
     * @return expiration in epoch milliseconds, or {@link #NO_EXPIRATION} when they do not expire
     */
    public long expirationEpochMillis() {
        return expirationEpochMillis;
    }

    /**
     * Whether the credentials expire.
     *
     * @return false when {@link #expirationEpochMillis()} is {@link #NO_EXPIRATION} (typically
     *         long-term keys from the environment, system properties or a profile)
     */
    public boolean hasExpiration() {
        return expirationEpochMillis != NO_EXPIRATION;
    }

    /**
     * How long, from {@link #receivedAtNanos()}, this snapshot may be used without native code. The
     * period ends where native code's mandatory refresh window starts, before the expiration.
     *
     * @return nanoseconds; {@link Long#MAX_VALUE} means no limit, 0 or less means not at all
     */
    public long validForNanos() {
        return validForNanos;
    }

    /**
     * Counts the credentials native code obtained: of two snapshots from the same agent, the one with
     * the larger generation holds newer credentials, and snapshots with the same generation hold the
     * same credentials.
     *
     * @return the generation; not comparable between agents
     */
    public long generation() {
        return generation;
    }

    /**
     * When this snapshot was constructed, on the JVM's monotonic clock.
     *
     * @return a {@link System#nanoTime()} reading; only meaningful compared with other such readings
     *         in this JVM
     */
    public long receivedAtNanos() {
        return receivedAtNanos;
    }

    /**
     * When this snapshot was constructed, on this host's wall clock.
     *
     * @return a {@link System#currentTimeMillis()} reading, epoch milliseconds
     */
    public long receivedAtWallMillis() {
        return receivedAtWallMillis;
    }

    /**
     * The wall-clock time from which this snapshot must not be used without native code:
     * {@link #receivedAtWallMillis()} plus {@link #validForNanos()}, rounded down to milliseconds.
     *
     * @return epoch milliseconds on the {@link System#currentTimeMillis()} clock; {@link Long#MAX_VALUE}
     *         when there is no deadline
     */
    public long wallDeadlineMillis() {
        return wallDeadlineMillis;
    }

    /**
     * Whether this snapshot may still be used without native code: {@code nowNanos} is inside the
     * validity period and {@code nowWallMillis} is before {@link #wallDeadlineMillis()}. This is the
     * test the agent's hot path makes. Allocation-free. False does not mean expired, only that
     * {@link FreshcredsAgent#currentSnapshot()} should be asked again.
     *
     * @param nowNanos      the current {@link System#nanoTime()} reading
     * @param nowWallMillis the current {@link System#currentTimeMillis()} reading
     * @return true while both clocks are inside the validity period
     */
    public boolean isUsableAt(long nowNanos, long nowWallMillis) {
        return nowNanos - receivedAtNanos < validForNanos && nowWallMillis < wallDeadlineMillis;
    }

    @Override
    public String toString() {
        return "CredentialsSnapshot{accessKeyId=" + accessKeyId
                + ", expiration=" + (hasExpiration() ? java.time.Instant.ofEpochMilli(expirationEpochMillis).toString() : "none")
                + ", generation=" + generation
                + ", sessionToken=" + (sessionToken == null ? "none" : "present")
                + "}";
    }
}
