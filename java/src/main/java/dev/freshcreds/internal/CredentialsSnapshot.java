package dev.freshcreds.internal;

/**
 * One immutable set of credentials as handed over by native code.
 *
 * <p>Native code builds instances through the one constructor (see DEVELOPERS.md, "The JNI
 * contract"). The constructor stamps {@link #receivedAtNanos()} with {@link MonotonicClock#SYSTEM};
 * the snapshot may be handed out without asking native code again while
 * {@code now - receivedAtNanos < validForNanos}, which ends where native code's mandatory refresh
 * window starts.
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
        if (accessKeyId == null || secretAccessKey == null) {
            throw new NullPointerException("accessKeyId and secretAccessKey must not be null");
        }
        this.accessKeyId = accessKeyId;
        this.secretAccessKey = secretAccessKey;
        this.sessionToken = sessionToken;
        this.expirationEpochMillis = expirationEpochMillis;
        this.validForNanos = validForNanos;
        this.generation = generation;
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

    /** True while {@code nowNanos} (from {@link MonotonicClock#SYSTEM}) is inside the validity period. */
    public boolean isUsableAt(long nowNanos) {
        return nowNanos - receivedAtNanos < validForNanos;
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
