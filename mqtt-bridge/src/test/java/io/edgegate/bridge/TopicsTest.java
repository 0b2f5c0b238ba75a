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
}
