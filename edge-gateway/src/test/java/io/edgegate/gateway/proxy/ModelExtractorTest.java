package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Reading the model of an OpenAI-compatible body. */
class ModelExtractorTest {
    private static String model(String json) {
        return ModelExtractor.model(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void modelIsFoundAfterNestedFieldsItSkips() {
        assertEquals(
                "llama3",
                model(
                        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\\\"model\\\":\\\"x\\\"\"}]}],"
                                + "\"options\":{\"model\":\"nested-is-not-it\"},\"model\":\"llama3\"}"));
        assertEquals("m", model("{\"model\":\"m\",\"stream\":true}"));
    }

    @Test
    void missingModelIsNull() {
        assertNull(model("{\"prompt\":\"x\"}"));
    }

    @Test
    void badBodiesAre400() {
        assertEquals(
                "body", assertThrows(ProxyException.class, () -> model("[1]")).field());
        assertEquals(
                "body",
                assertThrows(ProxyException.class, () -> model("{\"model\":")).field());
        assertEquals(
                "model",
                assertThrows(ProxyException.class, () -> model("{\"model\":7}")).field());
    }

    @Test
    void inferencePathsAreTheOpenAiOnes() {
        assertTrue(ModelExtractor.inferencePath("/v1/chat/completions"));
        assertTrue(ModelExtractor.inferencePath("/v1/completions"));
        assertTrue(ModelExtractor.inferencePath("/v1/embeddings"));
        assertFalse(ModelExtractor.inferencePath("/v1/models"));
    }
}
