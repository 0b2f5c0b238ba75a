package io.edgegate.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Prefix hashes: shared leading chunks hash alike, whatever the JSON's spacing; models keep theirs apart. */
class PromptPrefixTest {
    private static final String SYSTEM = "You are a maintenance assistant for press line 4. ".repeat(40);

    private static long[] hashes(String model, String json) {
        return PromptPrefix.hashes(model, json.getBytes(StandardCharsets.UTF_8));
    }

    private static String chat(String user) {
        return "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" + SYSTEM
                + "\"},{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
    }

    private static int shared(long[] a, long[] b) {
        int k = 0;
        while (k < a.length && k < b.length && a[k] == b[k]) {
            k++;
        }
        return k;
    }

    @Test
    void requestsWithOneSystemPromptShareItsChunks() {
        long[] one = hashes("m", chat("Which bolt fits?"));
        long[] two = hashes("m", chat("Why does the press stop?"));
        int systemChunks = SYSTEM.length() / PromptPrefix.CHUNK_CHARS;
        assertTrue(shared(one, two) >= systemChunks - 1, "shared " + shared(one, two) + " of " + systemChunks);
        assertNotEquals(one[one.length - 1], two[two.length - 1], "the questions differ");
    }

    @Test
    void nextTurnOfAConversationSharesItsHistory() {
        String first = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(1000) + "\"}]}";
        String next = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(1000)
                + "\"},{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"more\"}]}";
        long[] a = hashes("m", first);
        long[] b = hashes("m", next);
        assertEquals(a.length - 1, shared(a, b), "every full chunk of the first turn is shared");
    }

    @Test
    void spacingOfTheJsonDoesNotMatter() {
        String compact = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
        String spaced =
                "{ \"model\" : \"m\",\n  \"messages\" : [ { \"role\" : \"user\" , \"content\" : \"hello there\" } ] }";
        assertEquals(hashes("m", compact)[0], hashes("m", spaced)[0]);
    }

    @Test
    void anotherModelOrAdapterHashesApart() {
        assertNotEquals(hashes("sql-lora", chat("q"))[0], hashes("chat-lora", chat("q"))[0]);
    }

    @Test
    void completionPromptsAreHashedToo() {
        long[] a = hashes("m", "{\"model\":\"m\",\"prompt\":\"" + "x".repeat(600) + "\"}");
        assertEquals(3, a.length, "two full chunks and a partial one");
        assertEquals(0, hashes("m", "{\"model\":\"m\"}").length, "no prompt, no hashes");
        assertEquals(0, hashes("m", "not json").length);
    }

    @Test
    void onlyTheLeadingChunksAreHashed() {
        long[] a = hashes("m", "{\"model\":\"m\",\"prompt\":\"" + "y".repeat(100_000) + "\"}");
        assertEquals(PromptPrefix.MAX_CHUNKS, a.length);
    }
}
