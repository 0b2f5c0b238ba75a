package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TopicsTest {
    @Test
    void instanceTopicIsUnderSiteAndNode() {
        Topics topics = new Topics("plant-a", "node-1");
        assertEquals("edgegate/v1/plant-a/node-1/instances/llm-1", topics.instance("llm-1"));
        assertEquals("edgegate/v1/plant-a/node-1/status", topics.status());
    }

    @Test
    void wildcardsAndSeparatorsAreNotLevels() {
        assertFalse(Topics.validLevel("a/b"));
        assertFalse(Topics.validLevel("a+"));
        assertFalse(Topics.validLevel("#"));
        assertFalse(Topics.validLevel(""));
        assertTrue(Topics.validLevel("line-3.node_7"));
    }

    @Test
    void badSiteIsRejectedWithItsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Topics("a/b", "n"));
        assertTrue(e.getMessage().contains("site=a/b"), e.getMessage());
    }

    /** The parser as the protocol defines it: split into levels, each valid, then by shape. */
    private static TopicName specifiedParse(String topic) {
        if (topic == null || !topic.startsWith(Topics.ROOT + '/')) {
            return null;
        }
        String[] l = topic.substring(Topics.ROOT.length() + 1).split("/", -1);
        for (String level : l) {
            if (!Topics.validLevel(level)) {
                return null;
            }
        }
        if (l.length < 3) {
            return null;
        }
        if (l[1].equals(Topics.CONFIG)) {
            return l.length == 4 ? new TopicName(TopicName.Kind.SITE_CONFIG, l[0], null, l[2], l[3]) : null;
        }
        return switch (l[2]) {
            case "instances" -> l.length == 4 ? new TopicName(TopicName.Kind.INSTANCE, l[0], l[1], l[3], null) : null;
            case "status" -> l.length == 3 ? new TopicName(TopicName.Kind.STATUS, l[0], l[1], null, null) : null;
            case "digest" -> l.length == 3 ? new TopicName(TopicName.Kind.DIGEST, l[0], l[1], null, null) : null;
            case "manifest" -> l.length == 3 ? new TopicName(TopicName.Kind.MANIFEST, l[0], l[1], null, null) : null;
            case "cmd" ->
                l.length == 4 && l[3].equals("resync")
                        ? new TopicName(TopicName.Kind.RESYNC, l[0], l[1], null, null)
                        : null;
            case "config" -> l.length == 5 ? new TopicName(TopicName.Kind.NODE_CONFIG, l[0], l[1], l[3], l[4]) : null;
            default -> null;
        };
    }

    @Test
    void parseReadsEveryTopicAsTheProtocolSplitsIt() {
        String[] parts = {
            "edgegate",
            "v1",
            "plant-a",
            "node-1",
            "config",
            "instances",
            "status",
            "digest",
            "manifest",
            "cmd",
            "resync",
            "llm-1",
            "",
            "+",
            "#",
            "a b",
            "x".repeat(128),
            "x".repeat(129),
            "\u0001",
            "statu",
            "cmdx"
        };
        java.util.Random random = new java.util.Random(7);
        int parsed = 0;
        for (int i = 0; i < 50_000; i++) {
            StringBuilder b = new StringBuilder(random.nextInt(8) == 0 ? "edgegate/v2" : Topics.ROOT);
            int levels = random.nextInt(7);
            for (int l = 0; l < levels; l++) {
                b.append('/').append(parts[random.nextInt(parts.length)]);
            }
            String topic = b.toString();
            TopicName expected = specifiedParse(topic);
            assertEquals(expected, TopicName.parse(topic), topic);
            if (expected != null) {
                parsed++;
            }
        }
        assertTrue(parsed > 100, "topics of the protocol among them: " + parsed);
        assertEquals(null, TopicName.parse(null));
        assertEquals(null, TopicName.parse("edgegate/v1"));
    }
}
