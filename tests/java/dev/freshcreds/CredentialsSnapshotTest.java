package dev.freshcreds;

import dev.freshcreds.internal.MonotonicClock;
import org.junit.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

public class CredentialsSnapshotTest {
    private static final String SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private static final String TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN";

    @Test
    public void toStringShowsKeyIdAndExpirationButNoSecretOrToken() {
        CredentialsSnapshot s = new CredentialsSnapshot("ASIAEXAMPLE", SECRET, TOKEN, 1_700_000_000_000L,
                TimeUnit.SECONDS.toNanos(5), 3);
        String t = s.toString();
        assertTrue(t, t.contains("ASIAEXAMPLE"));
        assertTrue(t, t.contains("2023-11-14T22:13:20Z"));
        assertFalse(t, t.contains(SECRET));
        assertFalse(t, t.contains(TOKEN));
        assertEquals(3, s.generation());
        assertEquals(TOKEN, s.sessionToken());
        assertEquals(SECRET, s.secretAccessKey());
    }

    @Test
    public void noTokenNoExpiration() {
        CredentialsSnapshot s = new CredentialsSnapshot("AKIAEXAMPLE", SECRET, null, Long.MIN_VALUE, 0, 1);
        assertNull(s.sessionToken());
        assertFalse(s.hasExpiration());
        assertTrue(s.toString(), s.toString().contains("expiration=none"));
        assertFalse("validForNanos 0: never usable without native code", s.isUsableAt(MonotonicClock.SYSTEM.nanoTime(), s.receivedAtWallMillis()));
    }

    @Test
    public void validityIsMeasuredFromReceipt() {
        long before = MonotonicClock.SYSTEM.nanoTime();
        CredentialsSnapshot s = new CredentialsSnapshot("ASIA", SECRET, TOKEN, 0, TimeUnit.SECONDS.toNanos(10), 1);
        long after = MonotonicClock.SYSTEM.nanoTime();
        assertTrue(s.receivedAtNanos() >= before && s.receivedAtNanos() <= after);
        long wall = s.receivedAtWallMillis(); // inside the wall-clock bound: only the monotonic one decides
        assertTrue(s.isUsableAt(after, wall));
        assertTrue(s.isUsableAt(s.receivedAtNanos() + TimeUnit.SECONDS.toNanos(10) - 1, wall));
        assertFalse(s.isUsableAt(s.receivedAtNanos() + TimeUnit.SECONDS.toNanos(10), wall));
    }
}
