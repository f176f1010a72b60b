package dev.freshcreds;

import org.junit.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** AgentStats read from statistics documents shaped like the native agent's, at chosen instants. */
public class AgentStatsTest {
    private static final long NOW = Instant.parse("2030-01-01T12:00:00Z").toEpochMilli();

    /** A document shaped as the agent's stats_json writes it, with the members the tests vary. */
    private static String doc(String accessKeyId, String expiration, String lastError, long failures, long offsetMillis,
                              boolean closed) {
        return "{\"source\":\"imds\",\"shadowed\":[\"profile\",\"environment\"],\"generation\":7,\"refreshes\":7,"
                + "\"failures\":" + failures + ",\"sourceCalls\":11,\"rateLimited\":2,\"refresherRestarts\":0,"
                + "\"imdsTokenRequests\":3,\"imdsMetadataRequests\":15,\"imdsRetries\":4,"
                + "\"accessKeyId\":" + json(accessKeyId) + ",\"expiration\":" + json(expiration)
                + ",\"advisoryWindowSeconds\":" + (expiration == null ? "null" : "900")
                + ",\"lastError\":" + json(lastError)
                + ",\"clockSkew\":{\"offsetMillis\":" + offsetMillis + ",\"samples\":5,\"rejectedSamples\":1,"
                + "\"lastChangedEpochMillis\":1893499200000},\"closed\":" + closed + "}";
    }

    private static String json(String s) {
        return s == null ? "null" : "\"" + s + "\"";
    }

    @Test
    public void readsEveryMember() {
        AgentStats s = AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:30:00Z", null, 1, -250, false), NOW);
        assertEquals("imds", s.source());
        assertEquals(Arrays.asList("profile", "environment"), s.shadowed());
        assertEquals(7, s.generation());
        assertEquals(7, s.refreshes());
        assertEquals(1, s.failures());
        assertEquals(11, s.sourceCalls());
        assertEquals(2, s.rateLimited());
        assertEquals(0, s.refresherRestarts());
        assertEquals(3, s.imdsTokenRequests());
        assertEquals(15, s.imdsMetadataRequests());
        assertEquals(4, s.imdsRetries());
        assertEquals("ASIA…WXYZ", s.abbreviatedAccessKeyId());
        assertEquals(Instant.parse("2030-01-01T12:30:00Z"), s.expiration());
        assertEquals(900, s.advisoryWindowSeconds());
        assertNull(s.lastError());
        assertEquals(-250, s.clockOffsetMillis());
        assertEquals(5, s.clockSamples());
        assertEquals(1, s.clockRejectedSamples());
        assertEquals(1893499200000L, s.clockLastChangedEpochMillis());
        assertFalse(s.isClosed());
        assertEquals(NOW, s.capturedAtEpochMillis());
        assertEquals(AgentStats.State.OK, s.state());
        // 30 min on AWS's clock, which is 250 ms behind this host: 1800.25 s, rounded down
        assertEquals(1800, s.secondsToExpiry());
        String text = s.toString();
        assertTrue(text, text.contains("state=OK") && text.contains("generation=7") && text.contains("ASIA…WXYZ"));
    }

    @Test
    public void secondsToExpiryUsesAwsClock() {
        // AWS is 10 min ahead of this host: credentials expiring in 30 min by the host's clock have 20 left
        AgentStats s = AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:30:00Z", null, 0, 600_000, false), NOW);
        assertEquals(1200, s.secondsToExpiry());
        assertEquals(AgentStats.State.OK, s.state());
        // 40 min ahead: already expired on AWS's clock
        s = AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:30:00Z", null, 0, 2_400_000, false), NOW);
        assertEquals(0, s.secondsToExpiry());
        assertEquals(AgentStats.State.FAILING, s.state());
    }

    @Test
    public void fractionalAndOffsetExpirationsParse() {
        AgentStats s = AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T13:00:00.5+01:00", null, 0, 0, false), NOW);
        assertEquals(Instant.parse("2030-01-01T12:00:00.500Z"), s.expiration());
        assertEquals(0, s.secondsToExpiry()); // half a second left, rounded down
        assertEquals(AgentStats.State.OK, s.state());
    }

    @Test
    public void statesFollowCredentialsAndLastError() {
        // valid credentials, last refresh failed: serving stale
        AgentStats stale = AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:05:00Z", "IMDS answered 500", 3, 0, false), NOW);
        assertEquals(AgentStats.State.SERVING_STALE, stale.state());
        assertEquals("IMDS answered 500", stale.lastError());
        assertEquals(300, stale.secondsToExpiry());
        // an earlier failure, then a success: OK again
        assertEquals(AgentStats.State.OK,
                AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:05:00Z", null, 3, 0, false), NOW).state());
        // expired credentials: failing, with or without an error
        assertEquals(AgentStats.State.FAILING,
                AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T11:59:59Z", "IMDS answered 500", 3, 0, false), NOW).state());
        assertEquals(AgentStats.State.FAILING,
                AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:00:00Z", null, 0, 0, false), NOW).state());
        // no credentials after a failure: failing; before any attempt: starting
        AgentStats none = AgentStats.parse(doc(null, null, "no role attached", 1, 0, false), NOW);
        assertEquals(AgentStats.State.FAILING, none.state());
        assertEquals(-1, none.secondsToExpiry());
        assertEquals(-1, none.advisoryWindowSeconds());
        assertEquals(AgentStats.State.STARTING, AgentStats.parse(doc(null, null, null, 0, 0, false), NOW).state());
        // credentials that do not expire (static keys): OK, no expiry
        AgentStats forever = AgentStats.parse(doc("AKIA…WXYZ", null, null, 0, 0, false), NOW);
        assertEquals(AgentStats.State.OK, forever.state());
        assertNull(forever.expiration());
        assertEquals(-1, forever.secondsToExpiry());
        // closed wins
        AgentStats closed = AgentStats.parse(doc("ASIA…WXYZ", "2030-01-01T12:05:00Z", null, 0, 0, true), NOW);
        assertEquals(AgentStats.State.CLOSED, closed.state());
        assertTrue(closed.isClosed());
        assertEquals(-1, closed.secondsToExpiry());
    }

    @Test
    public void stateCodesAreOrderedBySeverity() {
        AgentStats.State[] states = AgentStats.State.values();
        assertEquals(Arrays.asList(AgentStats.State.OK, AgentStats.State.STARTING, AgentStats.State.SERVING_STALE,
                AgentStats.State.FAILING, AgentStats.State.CLOSED), Arrays.asList(states));
        for (int i = 0; i < states.length; i++) {
            assertEquals(i, states[i].code());
        }
    }

    @Test
    public void missingMembersReadAsEmptyAndUnknownOnesAreIgnored() {
        AgentStats s = AgentStats.parse("{\"generation\":2,\"someFutureField\":{\"x\":[1]}}", NOW);
        assertEquals(2, s.generation());
        assertNull(s.source());
        assertEquals(Collections.emptyList(), s.shadowed());
        assertEquals(0, s.clockOffsetMillis());
        assertEquals(-1, s.clockLastChangedEpochMillis());
        assertNull(s.lastError());
        assertEquals(AgentStats.State.STARTING, s.state());
    }

    @Test
    public void membersOfTheWrongTypeAreRefusedWithoutQuotingThem() {
        String secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        String[] bad = {
            "{\"generation\":\"" + secret + "\"}",
            "{\"generation\":1.5}",
            "{\"generation\":-1}",
            "{\"shadowed\":\"" + secret + "\"}",
            "{\"shadowed\":[1]}",
            "{\"source\":1}",
            "{\"expiration\":\"" + secret + "\"}",
            "{\"clockSkew\":[]}",
            "{\"clockSkew\":{\"offsetMillis\":\"" + secret + "\"}}",
            "{\"closed\":\"" + secret + "\"}",
            "[]",
            "{\"lastError\":\"" + secret + "\"",
        };
        for (String json : bad) {
            try {
                AgentStats s = AgentStats.parse(json, NOW);
                fail("accepted " + json + " as " + s);
            } catch (IllegalArgumentException e) {
                assertFalse(e.getMessage(), e.getMessage().contains("wJalr"));
            }
        }
    }

    @Test
    public void ofRefusesNull() {
        try {
            AgentStats.of(null);
            fail();
        } catch (InvalidConfigurationException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("agent"));
        }
    }
}
