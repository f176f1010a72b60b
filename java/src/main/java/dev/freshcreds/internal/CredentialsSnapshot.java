package dev.freshcreds.internal;

/**
 * One immutable set of credentials as handed over by native code.
 *
 * <p>Native code builds instances through the one constructor (see DEVELOPERS.md, "The JNI
 * contract"). The constructor stamps {@link #receivedAtNanos()} with {@link MonotonicClock#SYSTEM}
 * and {@link #receivedAtWallMillis()} with {@link WallClock#SYSTEM}; the snapshot may be handed out
 * without asking native code again while {@code now - receivedAtNanos < validForNanos} on the
 * monotonic clock <em>and</em> the wall clock is before {@link #wallDeadlineMillis()}
 * ({@code receivedAtWallMillis + validForNanos}). The period ends where native code's mandatory
 * refresh window starts. Both clocks are needed: the monotonic clock ({@code System.nanoTime()})
 * stops while the machine is suspended, so after a resume it alone would keep handing out
 * credentials that expired during the sleep; the wall clock keeps running through a suspend but can
 * be stepped back, which the monotonic clock cannot.
 *
 * <p>{@link #toString()} shows the access key id and expiration only, never the secret or token.
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
     * Called by native code. Do not change the parameter list: it is part of the JNI contract,
     * signature {@code (Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJJ)V}.
     *
     * @param accessKeyId           access key id, never null
     * @param secretAccessKey       secret access key, never null
     * @param sessionToken          session token, null when there is none
     * @param expirationEpochMillis expiration, {@link #NO_EXPIRATION} when there is none
     * @param validForNanos         how long from receipt Java may hand this out without native code
     * @param generation            increases each time native code obtains new credentials
     */
    public CredentialsSnapshot(String accessKeyId, String secretAccessKey, String sessionToken,
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

    public String accessKeyId() {
        return accessKeyId;
    }

    public String secretAccessKey() {
        return secretAccessKey;
    }

    /** The session token, or null when the credentials have none. */
    public String sessionToken() {
        return sessionToken;
    }

    /** Expiration in epoch milliseconds, or {@link #NO_EXPIRATION}. */
    public long expirationEpochMillis() {
        return expirationEpochMillis;
    }

    public boolean hasExpiration() {
        return expirationEpochMillis != NO_EXPIRATION;
    }

    /** How long, from {@link #receivedAtNanos()}, this snapshot may be used without native code. */
    public long validForNanos() {
        return validForNanos;
    }

    public long generation() {
        return generation;
    }

    /** {@link MonotonicClock#SYSTEM} reading taken when this snapshot was constructed. */
    public long receivedAtNanos() {
        return receivedAtNanos;
    }

    /** {@link WallClock#SYSTEM} reading taken when this snapshot was constructed. */
    public long receivedAtWallMillis() {
        return receivedAtWallMillis;
    }

    /** The wall-clock time ({@link WallClock#SYSTEM}) from which this snapshot must not be used without native code. */
    public long wallDeadlineMillis() {
        return wallDeadlineMillis;
    }

    /**
     * True while {@code nowNanos} (from {@link MonotonicClock#SYSTEM}) is inside the validity period.
     * Checks the monotonic clock only; {@link #isUsableAt(long, long)} also checks the wall clock.
     */
    public boolean isUsableAt(long nowNanos) {
        return nowNanos - receivedAtNanos < validForNanos;
    }

    /**
     * True while {@code nowNanos} (from {@link MonotonicClock#SYSTEM}) is inside the validity period and
     * {@code nowWallMillis} (from {@link WallClock#SYSTEM}) is before {@link #wallDeadlineMillis()}: the
     * test the agent's hot path makes. Allocation-free.
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
