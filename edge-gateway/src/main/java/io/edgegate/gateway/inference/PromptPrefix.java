package io.edgegate.gateway.inference;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.Arrays;

/**
 * The prefix hashes of an OpenAI-compatible request's prompt: its {@code messages} (chat), or
 * {@code prompt} (completions), or {@code input} (embeddings), read as the stream of its field
 * names and values (so the JSON's spacing does not matter), cut into chunks of
 * {@value #CHUNK_CHARS} characters (about 64 tokens, a few KV-cache blocks). Hash {@code k} covers
 * everything up to the end of chunk {@code k} (the last one may be partial), seeded with the
 * model: two prompts share hash {@code k} when they share their first {@code k + 1} chunks, as a
 * conversation's next turn shares its history and two requests of one application share their
 * system prompt. At most {@value #MAX_CHUNKS} chunks are hashed: what follows the first 16 K
 * characters does not decide where a prompt's cache is. Stateless.
 */
final class PromptPrefix {
    static final int CHUNK_CHARS = 256;
    static final int MAX_CHUNKS = 64;

    private static final JsonFactory JSON = new JsonFactory();
    private static final long[] NONE = new long[0];
    /** Separates tokens, so that ["ab","c"] and ["a","bc"] differ. */
    private static final char SEPARATOR = 0x1F;

    private PromptPrefix() {}

    /** The request's prefix hashes, oldest chunk first; empty when it has no prompt to hash. */
    static long[] hashes(String model, byte[] body) {
        if (body == null || body.length == 0) {
            return NONE;
        }
        Hasher h = new Hasher(model == null ? "" : model);
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return NONE;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("messages") || field.equals("prompt") || field.equals("input")) {
                    feed(p, value, h);
                    break;
                }
                p.skipChildren();
            }
        } catch (IOException | RuntimeException e) {
            // a malformed body: what was hashed before the fault stands (the upstream judges the rest)
        }
        return h.hashes();
    }

    private static void feed(JsonParser p, JsonToken first, Hasher h) throws IOException {
        if (first == JsonToken.START_ARRAY || first == JsonToken.START_OBJECT) {
            int depth = 1;
            while (depth > 0 && !h.full()) {
                JsonToken t = p.nextToken();
                if (t == null) {
                    return;
                }
                switch (t) {
                    case START_ARRAY, START_OBJECT -> depth++;
                    case END_ARRAY, END_OBJECT -> depth--;
                    default -> h.feed(p);
                }
            }
        } else if (first != null && first.isScalarValue()) {
            h.feed(p);
        }
    }

    /** Cumulative FNV-1a over the characters, a hash recorded at every chunk's end. Owned by one request. */
    private static final class Hasher {
        private final long[] out = new long[MAX_CHUNKS];
        private int count;
        private int inChunk;
        private long h;

        Hasher(String model) {
            h = 0xcbf29ce484222325L;
            for (int i = 0; i < model.length(); i++) {
                step(model.charAt(i));
            }
            step(SEPARATOR);
        }

        boolean full() {
            return count == MAX_CHUNKS;
        }

        void feed(JsonParser p) throws IOException {
            char[] chars = p.getTextCharacters();
            int offset = p.getTextOffset();
            int length = p.getTextLength();
            for (int i = 0; i < length && !full(); i++) {
                add(chars[offset + i]);
            }
            if (!full()) {
                add(SEPARATOR);
            }
        }

        private void add(char c) {
            step(c);
            if (++inChunk == CHUNK_CHARS) {
                out[count++] = mix(h);
                inChunk = 0;
            }
        }

        private void step(char c) {
            h ^= c;
            h *= 0x100000001b3L;
        }

        long[] hashes() {
            if (inChunk > 0 && count < MAX_CHUNKS) {
                out[count++] = mix(h);
                inChunk = 0;
            }
            return count == 0 ? NONE : Arrays.copyOf(out, count);
        }

        /** MurmurHash3's fmix64. */
        private static long mix(long x) {
            x ^= x >>> 33;
            x *= 0xff51afd7ed558ccdL;
            x ^= x >>> 33;
            x *= 0xc4ceb9fe1a85ec53L;
            x ^= x >>> 33;
            return x;
        }
    }
}
