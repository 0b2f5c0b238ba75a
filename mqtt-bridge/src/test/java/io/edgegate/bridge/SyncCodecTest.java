package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SyncCodecTest {
    static final Topics T = new Topics("plant-a", "node-1");

    static InstanceState state(String id, long epoch, long index) {
        return new InstanceState(
                "llm",
                id,
                "10.0.0.5",
                8000,
                List.of("version:v2"),
                Map.of("model", "llama3"),
                SyncHealth.PASSING,
                epoch,
                index,
                1_700_000_000_000L);
    }

    @Test
    void instanceStateRoundTrips() {
        InstanceState s = state("llm-1", 3, 42);
        Decoded d = SyncCodec.decode(T.instance("llm-1"), SyncCodec.encode(s));
        Decoded.Accepted a = assertInstanceOf(Decoded.Accepted.class, d);
        assertEquals(s, a.message());
        assertEquals(TopicName.Kind.INSTANCE, a.topic().kind());
        assertEquals("node-1", a.topic().node());
    }

    @Test
    void everyMessageTypeRoundTrips() {
        NodeStatus status = new NodeStatus(true, 2, 9, 77, 123, "10.0.0.2");
        assertEquals(status, accepted(T.status(), status));
        Digest.Accumulator acc = new Digest.Accumulator();
        acc.add("a", 1);
        Digest digest = acc.digest(2, 9, 5);
        assertEquals(digest, accepted(T.digest(), digest));
        ResyncCommand resync = new ResyncCommand("digest-mismatch", 0, 5);
        assertEquals(resync, accepted(T.resync(), resync));
        ConfigPush push = new ConfigPush(
                "weights", "llm", 4, 5, SyncCodec.MAPPER.createObjectNode().put("v2", 20));
        assertEquals(push, accepted(T.nodeConfig("weights", "llm"), push));
        assertEquals(push, accepted(Topics.siteConfig("plant-a", "weights", "llm"), push));
    }

    private static SyncMessage accepted(String topic, SyncMessage m) {
        return assertInstanceOf(Decoded.Accepted.class, SyncCodec.decode(topic, SyncCodec.encode(m)))
                .message();
    }

    @Test
    void emptyInstancePayloadIsARemoval() {
        Decoded.Accepted a = assertInstanceOf(Decoded.Accepted.class, SyncCodec.decode(T.instance("x"), new byte[0]));
        assertEquals(new InstanceRemoved("x"), a.message());
    }

    @Test
    void malformedAndForeignPayloadsAreRejectedWithAReason() {
        assertRejected(T.instance("x"), "not json", "bad-json");
        assertRejected(T.instance("x"), "[1,2]", "foreign");
        assertRejected(T.instance("x"), "{\"hello\":1}", "foreign");
        assertRejected(T.instance("x"), "{\"v\":2,\"type\":\"instance\"}", "version");
        assertRejected(T.instance("x"), "{\"v\":1,\"type\":\"status\",\"state\":\"online\"}", "type");
        String valid = new String(SyncCodec.encode(state("llm-1", 1, 1)), StandardCharsets.UTF_8);
        assertRejected(T.instance("other"), valid, "id-mismatch");
        assertRejected(T.instance("llm-1"), valid.replace("\"port\":8000", "\"port\":\"8000\""), "field");
        assertRejected(T.instance("llm-1"), valid.replace("passing", "sleepy"), "field");
        assertRejected(T.instance("llm-1"), valid + "{}", "bad-json");
        assertRejected(T.instance("llm-1"), valid.replace("{\"v\":1,", "{\"v\":1,\"v\":1,"), "bad-json");
        assertRejected("elsewhere/topic", valid, "foreign-topic");
        assertRejected(T.status(), "", "empty");
    }

    private static void assertRejected(String topic, String payload, String reason) {
        Decoded d = SyncCodec.decode(topic, payload.getBytes(StandardCharsets.UTF_8));
        Decoded.Rejected r = assertInstanceOf(Decoded.Rejected.class, d, payload);
        assertEquals(reason, r.reason(), r.detail());
    }

    @Test
    void unknownExtraFieldsAreIgnored() {
        String valid = new String(SyncCodec.encode(state("llm-1", 1, 1)), StandardCharsets.UTF_8);
        String extended = valid.replace("{\"v\":1,", "{\"v\":1,\"future\":{\"x\":1},");
        assertInstanceOf(
                Decoded.Accepted.class,
                SyncCodec.decode(T.instance("llm-1"), extended.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void epochOrdersBeforeIndex() {
        assertTrue(SyncOrder.isNewer(2, 1, 1, 100));
        assertFalse(SyncOrder.isNewer(1, 100, 2, 1));
        assertTrue(SyncOrder.isNewer(1, 6, 1, 5));
        assertFalse(SyncOrder.isNewer(1, 5, 1, 5));
    }

    @Test
    void offlineWinsWithinASessionAndANewSessionWinsOverIt() {
        NodeStatus online = new NodeStatus(true, 1, 5, 10, 1, "");
        NodeStatus will = new NodeStatus(false, 1, 5, 10, 0, "");
        NodeStatus next = new NodeStatus(true, 1, 5, 11, 2, "");
        assertTrue(will.supersedes(online));
        assertFalse(online.supersedes(will));
        assertTrue(next.supersedes(will));
        assertFalse(will.supersedes(next));
    }

    @Test
    void digestIsOrderIndependentAndIncremental() {
        Digest.Accumulator a = new Digest.Accumulator();
        a.add("x", 1);
        a.add("y", 2);
        Digest.Accumulator b = new Digest.Accumulator();
        b.add("y", 2);
        b.add("z", 3);
        b.add("x", 1);
        b.remove("z", 3);
        assertEquals(a.hash(), b.hash());
        assertTrue(a.matches(b.digest(0, 0, 0)));
        b.remove("x", 1);
        b.add("x", 4);
        assertFalse(a.matches(b.digest(0, 0, 0)));
        assertEquals(16, a.hash().length());
    }

    @Test
    void bytesOfAnInstanceChangeStayUnderAQuarterKilobyte() {
        byte[] wire = SyncCodec.encode(state("llm-10.0.0.5-8000", 1, 123_456));
        assertTrue(wire.length < 256, "payload of " + wire.length + " bytes");
        assertArrayEquals(new byte[0], SyncCodec.encode(new InstanceRemoved("x")));
    }

    @Test
    void topicsParseBack() {
        assertEquals(
                new TopicName(TopicName.Kind.SITE_CONFIG, "plant-a", null, "routing", "r1"),
                TopicName.parse(Topics.siteConfig("plant-a", "routing", "r1")));
        assertEquals(TopicName.Kind.RESYNC, TopicName.parse(T.resync()).kind());
        assertNull(TopicName.parse("edgegate/v1/a/b/instances"));
        assertNull(TopicName.parse("edgegate/v2/a/b/status"));
    }

    @Test
    void digestBucketsRoundTripAndNameWhereTwoSetsDiffer() {
        Digest.Accumulator edge = new Digest.Accumulator();
        Digest.Accumulator cloud = new Digest.Accumulator();
        for (int i = 0; i < 500; i++) {
            edge.add("llm-" + i, i + 1);
            cloud.add("llm-" + i, i + 1);
        }
        cloud.add("ghost-1", 7); // removed at the edge while the cloud did not listen
        cloud.remove("llm-3", 4);
        cloud.add("llm-3", 2); // an older state
        Digest digest = edge.digest(1, 600, 9);
        Digest decoded = (Digest) accepted(T.digest(), digest);
        assertEquals(digest, decoded);
        assertEquals(Digest.BUCKETS, decoded.buckets().size());
        List<Integer> differ = cloud.differingBuckets(decoded);
        assertEquals(
                java.util.stream.Stream.of(Digest.bucketOf("ghost-1"), Digest.bucketOf("llm-3"))
                        .distinct()
                        .sorted()
                        .toList(),
                differ);
        assertEquals(List.of(), edge.differingBuckets(decoded));
    }

    @Test
    void digestWithoutBucketsFromAnOlderNodeStillCompares() {
        Digest.Accumulator a = new Digest.Accumulator();
        a.add("x", 1);
        byte[] old = ("{\"v\":1,\"type\":\"digest\",\"epoch\":1,\"index\":1,\"count\":1,\"hash\":\"" + a.hash()
                        + "\",\"ts\":0}")
                .getBytes(StandardCharsets.UTF_8);
        Digest d = (Digest) ((Decoded.Accepted) SyncCodec.decode(T.digest(), old)).message();
        assertTrue(a.matches(d));
        Digest.Accumulator b = new Digest.Accumulator();
        assertEquals(Digest.allBuckets(), b.differingBuckets(d), "no buckets to say where: all of them");
    }

    @Test
    void digestWhoseBucketsDoNotAddUpIsRejected() {
        Digest.Accumulator a = new Digest.Accumulator();
        a.add("x", 1);
        String wire = new String(SyncCodec.encode(a.digest(1, 1, 0)), StandardCharsets.UTF_8);
        String tampered = wire.replaceFirst("\"hash\":\"[0-9a-f]{16}\"", "\"hash\":\"0000000000000001\"");
        Decoded.Rejected r = assertInstanceOf(
                Decoded.Rejected.class, SyncCodec.decode(T.digest(), tampered.getBytes(StandardCharsets.UTF_8)));
        assertEquals("field", r.reason());
    }

    @Test
    void resyncOfBucketsAndManifestsRoundTrip() {
        ResyncCommand resync = new ResyncCommand("digest-mismatch", 0, 5, List.of(3, 17));
        assertEquals(resync, accepted(T.resync(), resync));
        Manifest m = new Manifest(
                2, 99, 17, 0, 1, List.of(new Manifest.Entry("llm-1", 40), new Manifest.Entry("llm-2", 99)));
        assertEquals(m, accepted(T.manifest(), m));
        assertEquals(TopicName.Kind.MANIFEST, TopicName.parse(T.manifest()).kind());
        assertTrue(Topics.uplinkFilters().contains("edgegate/v1/+/+/manifest"));
    }

    @Test
    void largeBucketManifestIsSplitIntoPartsUnderThePayloadLimit() {
        List<Manifest.Entry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            entries.add(
                    new Manifest.Entry("inference-server-" + i + "-10.42.0." + (i % 250) + "-8000", 1_000_000L + i));
        }
        List<Manifest> parts = Manifest.of(3, 2_000_000, 5, entries);
        assertTrue(parts.size() > 1);
        int total = 0;
        for (Manifest part : parts) {
            byte[] wire = SyncCodec.encode(part);
            assertTrue(wire.length <= SyncCodec.MAX_PAYLOAD_BYTES, "part of " + wire.length + " bytes");
            assertEquals(part, accepted(T.manifest(), part));
            assertEquals(parts.size(), part.parts());
            total += part.entries().size();
        }
        assertEquals(entries.size(), total);
    }

    @Test
    void bucketOfAnIdIsStable() {
        // Part of the protocol: producers and consumers in other languages must agree.
        assertEquals(33, Digest.bucketOf("llm-infer-1"));
        assertEquals(55, Digest.bucketOf("vision-1"));
        assertEquals(0, Digest.bucketOf("a"));
        assertEquals("f23e849c20242c7d", Digest.hex(Digest.pairHash("llm-infer-1", 42)));
        int[] seen = new int[Digest.BUCKETS];
        for (int i = 0; i < 64_000; i++) {
            seen[Digest.bucketOf("svc-" + i)]++;
        }
        for (int count : seen) {
            assertTrue(count > 700 && count < 1_300, "buckets are filled evenly: " + java.util.Arrays.toString(seen));
        }
    }

    @Test
    void theStreamedInstanceReaderAcceptsExactlyWhatTheTreeDecoderAccepts() {
        String good = new String(SyncCodec.encode(state("llm-1", 3, 42)), StandardCharsets.UTF_8);
        List<String[]> edits = List.of(
                new String[] {"", ""},
                new String[] {"\"tags\":[\"version:v2\"]", "\"tags\":null"},
                new String[] {"\"tags\":[\"version:v2\"]", "\"tags\":[\"a\",null]"},
                new String[] {"{\"v\":1,", "{\"v\":1,\"extra\":{\"a\":[1,{\"b\":2}]},"},
                new String[] {"\"port\":8000", "\"port\":8000,\"port\":8001"},
                new String[] {"\"port\":8000", "\"port\":-1"},
                new String[] {"\"port\":8000", "\"port\":80.5"},
                new String[] {"\"port\":8000", "\"port\":70000"},
                new String[] {"\"index\":42", "\"index\":99999999999999999999"},
                new String[] {"\"epoch\":3", "\"epoch\":-3"},
                new String[] {"\"health\":\"passing\"", "\"health\":\"maintenance\""},
                new String[] {"\"address\":\"10.0.0.5\"", "\"address\":null"},
                new String[] {"\"v\":1", "\"v\":2"},
                new String[] {"\"v\":1", "\"v\":\"1\""},
                new String[] {"\"meta\":{\"model\":\"llama3\"}", "\"meta\":{\"model\":7}"},
                new String[] {"\"meta\":{\"model\":\"llama3\"}", "\"meta\":{\"model\":\"a\",\"model\":\"b\"}"},
                new String[] {"\"meta\":{\"model\":\"llama3\"}", "\"meta\":[]"},
                new String[] {"{\"v\":1,", "{\"v\":1,\"extra\":{\"a\":1,\"a\":2},"},
                new String[] {"\"id\":\"llm-1\"", "\"id\":\"llm-1\",\"id\":\"llm-1\""},
                new String[] {",\"ts\":1700000000000", ""},
                new String[] {"\"id\":\"llm-1\"", "\"id\":\"llm-2\""},
                new String[] {"\"service\":\"llm\"", "\"service\":\"\""},
                new String[] {"\"type\":\"instance\"", "\"type\":\"status\""},
                new String[] {"}", "} {}"},
                new String[] {"\"address\":\"10.0.0.5\"", "\"address\":\"10.0.0.\\u0035\""});
        String topic = T.instance("llm-1");
        for (String[] edit : edits) {
            String variant = edit[0].isEmpty() ? good : good.replace(edit[0], edit[1]);
            assertTrue(edit[0].isEmpty() || !variant.equals(good), "the edit applies: " + edit[0]);
            byte[] payload = variant.getBytes(StandardCharsets.UTF_8);
            assertEquals(SyncCodec.decode(topic, payload, false), SyncCodec.decode(topic, payload, true), variant);
        }
        assertInstanceOf(Decoded.Accepted.class, SyncCodec.decode(topic, good.getBytes(StandardCharsets.UTF_8)));
    }

    /** The specification of an instance's digest term, written out as the README gives it. */
    static long specifiedPairHash(String id, long index) {
        long h = 0xcbf29ce484222325L;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h *= 0x100000001b3L;
        for (char c : Long.toString(index).toCharArray()) {
            h = (h ^ c) * 0x100000001b3L;
        }
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }

    @Test
    void pairHashFollowsTheSpecificationForAsciiAndOtherIdsAndEveryDigitCount() {
        long[] indexes = {
            0, 1, 9, 10, 99, 100, 1_042, 999_999_999_999_999_999L, 1_000_000_000_000_000_000L, Long.MAX_VALUE
        };
        for (String id : List.of("llm-10.0.0.5-8000", "a", "é-ü-ß", "日本-1", "x\u007f")) {
            for (long index : indexes) {
                assertEquals(specifiedPairHash(id, index), Digest.pairHash(id, index), id + " at " + index);
            }
        }
    }
}
