package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InstanceScannerTest {
    private static final String ID = "llm-10.0.0.5-8000";
    private static final TopicName TOPIC = TopicName.parse(SyncCodecTest.T.instance(ID));

    private static InstanceState state(int tagCount, int metaCount, SyncHealth health) {
        List<String> tags = new ArrayList<>();
        for (int i = 0; i < tagCount; i++) {
            tags.add("tag-" + i);
        }
        Map<String, String> meta = new LinkedHashMap<>();
        for (int i = 0; i < metaCount; i++) {
            meta.put("key-" + i, "value " + i);
        }
        return new InstanceState(
                "llm", ID, "10.0.0.5", 8000, tags, meta, health, 1_764_000_000_000L, 42, 1_764_000_000_123L);
    }

    /** What the tree decoder alone makes of a payload. */
    private static Decoded tree(byte[] payload) {
        return SyncCodec.decode(SyncCodecTest.T.instance(ID), payload, false);
    }

    @Test
    void readsWhatTheCodecWritesAsTheTreeDecoderDoes() {
        for (int tags = 0; tags <= 5; tags++) {
            for (int meta = 0; meta <= 5; meta++) {
                for (SyncHealth health : SyncHealth.values()) {
                    InstanceState s = state(tags, meta, health);
                    byte[] payload = SyncCodec.encode(s);
                    InstanceState scanned = InstanceScanner.scan(payload, TOPIC);
                    assertNotNull(scanned, () -> new String(payload, StandardCharsets.UTF_8));
                    assertEquals(s, scanned);
                    assertEquals(
                            assertInstanceOf(Decoded.Accepted.class, tree(payload))
                                    .message(),
                            scanned);
                }
            }
        }
    }

    @Test
    void readsBlanksNullsAndAnyFieldOrder() {
        String payload = " \r\n\t{ \"ts\" : 5 ,\"tags\":null,\"meta\" : null, \"index\":0,\"epoch\":0,"
                + "\"port\":0,\"health\":\"critical\",\"address\":\"\",\"id\":\"" + ID + "\","
                + "\"service\":\"s\",\"type\":\"instance\",\"v\":1 }\n ";
        byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
        InstanceState scanned = InstanceScanner.scan(bytes, TOPIC);
        assertEquals(new InstanceState("s", ID, "", 0, List.of(), Map.of(), SyncHealth.CRITICAL, 0, 0, 5), scanned);
        assertEquals(assertInstanceOf(Decoded.Accepted.class, tree(bytes)).message(), scanned);
    }

    @Test
    void leavesToTheFullDecoderWhatItDoesNotRead() {
        String good = new String(SyncCodec.encode(state(1, 1, SyncHealth.PASSING)), StandardCharsets.UTF_8);
        List<String[]> edits = List.of(
                new String[] {"\"address\":\"10.0.0.5\"", "\"address\":\"10.0.0.\\u0035\""},
                new String[] {"\"service\":\"llm\"", "\"service\":\"llm-é\""},
                new String[] {"\"port\":8000", "\"port\":-0"},
                new String[] {"\"port\":8000", "\"port\":08000"},
                new String[] {"\"port\":8000", "\"port\":8e3"},
                new String[] {"\"ts\":1764000000123", "\"ts\":-1"},
                new String[] {"\"index\":42", "\"index\":1234567890123456789"},
                new String[] {"{\"v\":1,", "{\"v\":1,\"extra\":1,"},
                new String[] {"{\"v\":1,", "{\"\\u0076\":1,"},
                new String[] {"\"tags\":[\"tag-0\"]", "\"tags\":[\"tag-0\",]"},
                new String[] {"\"meta\":{\"key-0\":\"value 0\"}", "\"meta\":{\"key-0\":\"value 0\",\"key-0\":\"x\"}"});
        for (String[] edit : edits) {
            String variant = good.replace(edit[0], edit[1]);
            assertEquals(false, variant.equals(good), "the edit applies: " + edit[0]);
            byte[] payload = variant.getBytes(StandardCharsets.UTF_8);
            assertNull(InstanceScanner.scan(payload, TOPIC), variant);
            assertEquals(tree(payload), SyncCodec.decode(SyncCodecTest.T.instance(ID), payload), variant);
        }
    }

    /**
     * Payloads mutated at random (bytes replaced by JSON's punctuation, digits, quotes, blanks,
     * bytes outside ASCII; bytes removed, repeated, inserted): whatever the scanner reads, the tree
     * decoder reads the same; the decoder's answer with the fast readers is the tree decoder's.
     */
    @Test
    void neverReadsAPayloadOtherwiseThanTheTreeDecoder() {
        Random random = new Random(19);
        byte[] alphabet = "{}[]\":,0123456789-.eE \n\tnul\\abcvtype".getBytes(StandardCharsets.US_ASCII);
        List<byte[]> seeds = List.of(
                SyncCodec.encode(state(0, 0, SyncHealth.PASSING)),
                SyncCodec.encode(state(2, 3, SyncHealth.WARNING)),
                SyncCodec.encode(state(5, 1, SyncHealth.CRITICAL)));
        int scanned = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] p = seeds.get(random.nextInt(seeds.size())).clone();
            int edits = 1 + random.nextInt(3);
            for (int e = 0; e < edits && p.length > 1; e++) {
                int at = random.nextInt(p.length);
                byte b = random.nextInt(10) == 0
                        ? (byte) (0x80 + random.nextInt(0x80))
                        : alphabet[random.nextInt(alphabet.length)];
                p = switch (random.nextInt(4)) {
                    case 0 -> {
                        p[at] = b;
                        yield p;
                    }
                    case 1 -> splice(p, at, 1, new byte[0]);
                    case 2 -> splice(p, at, 0, new byte[] {b});
                    default ->
                        splice(
                                p,
                                at,
                                0,
                                java.util.Arrays.copyOfRange(p, at, Math.min(p.length, at + 1 + random.nextInt(12))));
                };
            }
            byte[] payload = p;
            Decoded expected = tree(payload);
            InstanceState s = InstanceScanner.scan(payload, TOPIC);
            if (s != null) {
                scanned++;
                Decoded.Accepted a = assertInstanceOf(
                        Decoded.Accepted.class, expected, () -> new String(payload, StandardCharsets.ISO_8859_1));
                assertEquals(a.message(), s, () -> new String(payload, StandardCharsets.ISO_8859_1));
            }
            assertEquals(
                    expected,
                    SyncCodec.decode(SyncCodecTest.T.instance(ID), payload),
                    () -> new String(payload, StandardCharsets.ISO_8859_1));
        }
        // the mutations left some payloads valid (a blank added, a digit changed): the scanner read them
        int read = scanned;
        assertEquals(true, read > 100, () -> "payloads the scanner read: " + read);
    }

    private static byte[] splice(byte[] p, int at, int remove, byte[] insert) {
        byte[] out = new byte[p.length - remove + insert.length];
        System.arraycopy(p, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(p, at + remove, out, at + insert.length, p.length - at - remove);
        return out;
    }
}
