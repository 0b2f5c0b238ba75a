package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The published tables by id: every live key found, removed ones gone, dead keys not kept forever. */
class SingleWriterTableTest {
    @Test
    void everyKeyIsFoundByAnEqualStringAfterTheTableGrew() {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        for (int n = 0; n < 100_000; n++) {
            assertNull(table.put("big-i-" + n, "v" + n));
        }
        assertEquals(100_000, table.size());
        for (int n = 0; n < 100_000; n++) {
            // A copy of the key, as an id parsed from a request would be.
            assertEquals("v" + n, table.get(new String("big-i-" + n)), "big-i-" + n);
        }
        assertNull(table.get("big-i-100000"));
    }

    @Test
    void keysWithTheSameHashAreToldApart() {
        // "Aa" and "BB" have the same String.hashCode, so do any concatenations of them.
        SingleWriterTable<String> table = new SingleWriterTable<>();
        List<String> keys = List.of("AaAa", "AaBB", "BBAa", "BBBB");
        for (String key : keys) {
            table.put(key, "value of " + key);
        }
        table.remove("AaBB");
        assertEquals("value of AaAa", table.get(new String("AaAa")));
        assertNull(table.get(new String("AaBB")));
        assertEquals("value of BBAa", table.get(new String("BBAa")), "found past the removed key");
        assertEquals("value of BBBB", table.get(new String("BBBB")));
        assertNull(table.get("AaAaAa"));
    }

    @Test
    void putReplacesTheValueAndAnswersTheOldOne() {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        String first = "first";
        assertNull(table.put("llm-1", first));
        assertSame(first, table.put("llm-1", "second"));
        assertEquals("second", table.get("llm-1"));
        assertEquals(1, table.size());
    }

    @Test
    void aRemovedKeyIsAbsentUntilPutAgain() {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        table.put("llm-1", "one");
        table.put("llm-2", "two");
        assertEquals("one", table.remove("llm-1"));
        assertNull(table.get("llm-1"));
        assertNull(table.remove("llm-1"), "removed twice");
        assertNull(table.remove("llm-3"), "never there");
        assertEquals(1, table.size());
        assertNull(table.put("llm-1", "back"), "a removed key has no value to replace");
        assertEquals("back", table.get("llm-1"));
        assertEquals(2, table.size());
    }

    @Test
    void nullValuesAreRefused() {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        assertThrows(NullPointerException.class, () -> table.put("llm-1", null));
        assertEquals(0, table.size());
    }

    /** Registrations and deregistrations of ever new ids: the dead keys go at rebuilds, the table stays small. */
    @Test
    void churnOfNewKeysKeepsTheTableInProportionToTheLiveOnes() {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        for (int n = 0; n < 200_000; n++) {
            table.put("churn-" + n, "v" + n);
            if (n >= 100) {
                assertEquals("v" + (n - 100), table.remove("churn-" + (n - 100)));
            }
        }
        assertEquals(100, table.size());
        assertTrue(table.capacity() <= 512, "capacity " + table.capacity() + " for 100 live keys");
        for (int n = 199_900; n < 200_000; n++) {
            assertEquals("v" + n, table.get("churn-" + n));
        }
        assertNull(table.get("churn-199899"));
    }

    @Test
    void removingMostKeysShrinksTheTableAndKeepsTheRest() {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        for (int n = 0; n < 100_000; n++) {
            table.put("big-i-" + n, "v" + n);
        }
        int full = table.capacity();
        for (int n = 10; n < 100_000; n++) {
            table.remove("big-i-" + n);
        }
        assertEquals(10, table.size());
        assertTrue(
                table.capacity() <= 256, "capacity " + table.capacity() + " for 10 live keys, " + full + " when full");
        for (int n = 0; n < 10; n++) {
            assertEquals("v" + n, table.get("big-i-" + n));
        }
        assertNull(table.get("big-i-10"));
    }

    /**
     * While the writer grows the table, removes keys and puts them back, and churns keys through
     * rebuilds, readers always find the keys that stay, never find a removed key's value under
     * another key, and never see a value for a key that was never put.
     */
    @Test
    @Tag("concurrency")
    void readersFindEveryLiveKeyAndOnlyItsOwnValueWhileTheWriterChurns() throws Exception {
        SingleWriterTable<String> table = new SingleWriterTable<>();
        int stable = 10_000;
        for (int n = 0; n < stable; n++) {
            table.put("stable-" + n, "stable-" + n);
        }
        AtomicInteger done = new AtomicInteger();
        AtomicReference<String> wrong = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int seed = r + 1;
            readers.add(Thread.ofPlatform().start(() -> {
                int k = seed;
                while (done.get() == 0 && wrong.get() == null) {
                    k = (k * 1_103_515_245 + 12_345) & Integer.MAX_VALUE;
                    String key = "stable-" + k % stable;
                    if (!key.equals(table.get(key))) {
                        wrong.set("stable key not found: " + key);
                    }
                    String flapping = "flap-" + k % 1_000;
                    String value = table.get(flapping);
                    if (value != null && !value.startsWith(flapping + "@")) {
                        wrong.set("value of another key under " + flapping + ": " + value);
                    }
                    if (table.get("never-" + k % 1_000) != null) {
                        wrong.set("a value under a key never put");
                    }
                }
            }));
        }
        for (int round = 0; round < 200 && wrong.get() == null; round++) {
            for (int n = 0; n < 1_000; n++) {
                table.put("flap-" + n, "flap-" + n + "@" + round);
                table.put("churn-" + round + "-" + n, "churn");
            }
            for (int n = 0; n < 1_000; n += 2) {
                table.remove("flap-" + n);
                table.remove("churn-" + round + "-" + n);
            }
        }
        done.set(1);
        for (Thread reader : readers) {
            reader.join(30_000);
        }
        assertNull(wrong.get());
        assertEquals(stable + 500 + 200 * 500, table.size());
    }
}
