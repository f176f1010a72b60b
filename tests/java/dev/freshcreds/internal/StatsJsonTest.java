package dev.freshcreds.internal;

import org.junit.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The strict JSON reader behind AgentStats: what it accepts, and that it refuses everything else. */
public class StatsJsonTest {
    @Test
    public void readsEveryJsonType() {
        Map<String, Object> m = StatsJson.parseObject(
                " {\"s\":\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\",\"i\":-42,\"z\":0,\"big\":9223372036854775807,"
                        + "\"d\":1.5e2,\"t\":true,\"f\":false,\"n\":null,\"a\":[1,[],{}],\"o\":{\"k\":[\"x\"]}}\r\n\t");
        assertEquals("a\"b\\c/d\n\u00e9\ud83d\ude00", m.get("s"));
        assertEquals(-42L, m.get("i"));
        assertEquals(0L, m.get("z"));
        assertEquals(Long.MAX_VALUE, m.get("big"));
        assertEquals(150.0, m.get("d"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertTrue(m.containsKey("n"));
        assertNull(m.get("n"));
        assertEquals(Arrays.<Object>asList(1L, Arrays.asList(), new LinkedHashMap<String, Object>()), m.get("a"));
        assertEquals(Arrays.asList("s", "i", "z", "big", "d", "t", "f", "n", "a", "o"), Arrays.asList(m.keySet().toArray()));
        assertEquals(Arrays.asList("x"), ((Map<?, ?>) m.get("o")).get("k"));
    }

    @Test
    public void resultsAreUnmodifiable() {
        Map<String, Object> m = StatsJson.parseObject("{\"a\":[1]}");
        try {
            m.put("b", 1L);
            fail("map is modifiable");
        } catch (UnsupportedOperationException expected) {
            // fine
        }
        try {
            ((List<?>) m.get("a")).clear();
            fail("list is modifiable");
        } catch (UnsupportedOperationException expected) {
            // fine
        }
    }

    @Test
    public void refusesWhatRfc8259Refuses() {
        String[] bad = {
            "", " ", "{", "}", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":1}{", "{\"a\":1} x",
            "01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"",
            "\"\\u12g4\"", "\"tab\there\"", "\"nl\nhere\"", "{\"a\":1,\"a\":2}", "[1 2]", "/*c*/1", "1e999",
            "9223372036854775808", "-9223372036854775809", "\u00a01",
        };
        for (String s : bad) {
            try {
                Object v = StatsJson.parse(s);
                fail("accepted " + s + " as " + v);
            } catch (IllegalArgumentException e) {
                assertTrue(s + ": " + e.getMessage(), e.getMessage().startsWith("invalid JSON at offset "));
            }
        }
    }

    @Test
    public void refusesNullAndNonObjects() {
        for (String s : new String[] {null, "[]", "1", "\"x\"", "null"}) {
            try {
                StatsJson.parseObject(s);
                fail("accepted " + s);
            } catch (IllegalArgumentException e) {
                assertFalse(e.getMessage().isEmpty());
            }
        }
    }

    @Test
    public void limitsNesting() {
        StringBuilder ok = new StringBuilder();
        StringBuilder tooDeep = new StringBuilder();
        for (int i = 0; i < StatsJson.MAX_DEPTH; i++) {
            ok.append('[');
        }
        for (int i = 0; i < StatsJson.MAX_DEPTH; i++) {
            ok.append(']');
        }
        StatsJson.parse(ok.toString());
        for (int i = 0; i < 100_000; i++) {
            tooDeep.append('[');
        }
        try {
            StatsJson.parse(tooDeep.toString());
            fail("accepted deep nesting");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nested deeper than " + StatsJson.MAX_DEPTH));
        }
    }

    @Test
    public void errorMessagesQuoteNoInput() {
        String secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for (String s : new String[] {"{\"k\":\"" + secret + "\\q\"}", "{\"" + secret + "\"}", secret}) {
            try {
                StatsJson.parse(s);
                fail("accepted " + s);
            } catch (IllegalArgumentException e) {
                assertFalse(e.getMessage(), e.getMessage().contains("wJalr"));
            }
        }
    }
}
