package io.edgegate.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The engines' own metric texts and JSON answers (test resources, written from each engine's
 * documentation) read into the signals the scorer uses.
 */
class EngineMetricsTest {
    static String resource(String name) {
        try (InputStream in = EngineMetricsTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("no test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void vllmV1ReadsQueueRunningKvCacheAndTheNewestLoraSeries() {
        EngineReading r = EngineMetrics.parse(resource("vllm-v1.txt"));
        assertEquals(Engine.VLLM, r.engine());
        assertEquals(7.0, r.running());
        assertEquals(3.0, r.waiting());
        assertEquals(0.8125, r.kvCacheUsage());
        // Two series of vllm:lora_requests_info: the newer one (larger timestamp) holds.
        assertEquals(Set.of("sql-lora", "chat-lora", "summary-lora"), r.adapters());
        assertEquals(4, r.maxLora());
    }

    @Test
    void vllmV0ReadsTheOlderKvCacheGauge() {
        EngineReading r = EngineMetrics.parse(resource("vllm-v0.txt"));
        assertEquals(Engine.VLLM, r.engine());
        assertEquals(2.0, r.running());
        assertEquals(0.0, r.waiting());
        assertEquals(0.25, r.kvCacheUsage());
        assertEquals(Set.of(), r.adapters());
        assertEquals(1, r.maxLora());
    }

    @Test
    void sglangReadsItsQueueRunningAndTokenUsage() {
        EngineReading r = EngineMetrics.parse(resource("sglang.txt"));
        assertEquals(Engine.SGLANG, r.engine());
        assertEquals(48.0, r.running());
        assertEquals(12.0, r.waiting());
        assertEquals(0.28, r.kvCacheUsage());
    }

    @Test
    void tgiReadsQueueSizeAndBatchSizeWithoutKvCache() {
        EngineReading r = EngineMetrics.parse(resource("tgi.txt"));
        assertEquals(Engine.TGI, r.engine());
        assertEquals(32.0, r.running());
        assertEquals(5.0, r.waiting());
        assertTrue(Double.isNaN(r.kvCacheUsage()), "TGI exports no KV-cache use");
    }

    @Test
    void tritonTensorRtLlmReadsRequestTypesAndKvBlockFraction() {
        EngineReading r = EngineMetrics.parse(resource("triton-trtllm.txt"));
        assertEquals(Engine.TRITON, r.engine());
        assertEquals(6.0, r.running(), "scheduled requests");
        assertEquals(4.0, r.waiting(), "waiting requests, not the per-model pending count");
        assertEquals(0.5, r.kvCacheUsage());
    }

    @Test
    void tritonWithoutTensorRtLlmReadsThePendingRequestsOfEveryModel() {
        EngineReading r = EngineMetrics.parse(resource("triton.txt"));
        assertEquals(Engine.TRITON, r.engine());
        assertEquals(5.0, r.waiting());
        assertTrue(Double.isNaN(r.running()));
    }

    @Test
    void tritonKvUseIsUsedOverMaxWhenTheFractionIsMissing() {
        String text = resource("triton-trtllm.txt").replaceAll("(?m)^.*kv_cache_block_type=\"fraction\".*\n", "");
        assertEquals(3120.0 / 6239.0, EngineMetrics.parse(text).kvCacheUsage(), 1e-9);
    }

    @Test
    void llamaCppReadsProcessingDeferredAndKvRatio() {
        EngineReading r = EngineMetrics.parse(resource("llamacpp.txt"));
        assertEquals(Engine.LLAMA_CPP, r.engine());
        assertEquals(2.0, r.running());
        assertEquals(1.0, r.waiting());
        assertEquals(0.4375, r.kvCacheUsage());
    }

    @Test
    void llamaCppSlotsCountTheBusyOnes() {
        assertArrayEquals(new int[] {2, 4}, EngineJson.slots(resource("llamacpp-slots.json")));
        assertArrayEquals(new int[] {1, 2}, EngineJson.slots("[{\"id\":0,\"state\":1},{\"id\":1,\"state\":0}]"));
    }

    @Test
    void untypedAndUnknownFamiliesAreReadAsGaugesAndOpenMetricsTypesSkipped() {
        String text = """
                # TYPE build info
                build_info{version="0.9.1"} 1
                # TYPE vllm:num_requests_waiting untyped
                vllm:num_requests_waiting{model_name="m"} 6
                # TYPE phase stateset
                phase{phase="warm"} 1
                # TYPE vllm:num_requests_running unknown
                vllm:num_requests_running{model_name="m"} 2
                """;
        EngineReading r = EngineMetrics.parse(text);
        assertEquals(6.0, r.waiting());
        assertEquals(2.0, r.running());
    }

    @Test
    void garbageYieldsNoSignalsAndNoException() {
        EngineReading r = EngineMetrics.parse("<html><body>404 page not found</body></html>\n");
        assertNull(r.engine());
        assertTrue(!r.hasSignals());
        EngineReading partial = EngineMetrics.parse(
                "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 4\n# TYPE x gauge\nx{a=\"b} 1\n");
        assertEquals(4.0, partial.waiting(), "what came before the malformed line stands");
    }

    @Test
    void modelListSeparatesBaseModelsFromLoraAdapters() {
        EngineJson.Served served = EngineJson.models(resource("vllm-models.json"));
        assertEquals(Set.of("meta-llama/Llama-3.1-8B-Instruct"), served.models());
        assertEquals(Set.of("sql-lora", "chat-lora"), served.adapters());
        EngineJson.Served ollama = EngineJson.models(resource("ollama-models.json"));
        assertEquals(Set.of("llama3.2:latest", "qwen2.5:7b"), ollama.models());
        assertEquals(Set.of(), ollama.adapters());
        assertNull(EngineJson.models("{\"served_by\":\"b\"}"), "not a model list");
        assertNull(EngineJson.models("not json"));
    }

    @Test
    void ollamaPsListsLoadedModelsWithAndWithoutTheLatestTag() {
        assertEquals(Set.of("llama3.2:latest", "llama3.2"), EngineJson.loadedModels(resource("ollama-ps.json")));
    }
}
