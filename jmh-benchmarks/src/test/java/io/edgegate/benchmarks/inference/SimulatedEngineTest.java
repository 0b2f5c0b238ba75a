package io.edgegate.benchmarks.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The simulated engine behaves as the benchmark says: a repeated prompt prefix is served from its
 * cache (no prefill), an adapter is loaded once while it stays, answers stream event by event,
 * and /metrics carries vLLM's names.
 */
class SimulatedEngineTest {
    private static final HttpClient CLIENT =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final SimulatedEngine.Config FAST =
            new SimulatedEngine.Config(8, 200, 1, 2, 1.0, 0.001, 0.1, 4096, 5.0, 2);

    private static String chat(String model, String system, String user, int maxTokens) {
        return "{\"model\":\"" + model + "\",\"stream\":true,\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"system\",\"content\":\"" + system
                + "\"},{\"role\":\"user\",\"content\":\""
                + user + "\"}]}";
    }

    private static List<String> events(SimulatedEngine engine, String body) throws Exception {
        HttpResponse<java.util.stream.Stream<String>> res = CLIENT.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + engine.port() + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(20))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, res.statusCode());
        return res.body().filter(l -> l.startsWith("data: ")).toList();
    }

    @Test
    void repeatedPrefixIsServedFromTheCache() throws Exception {
        try (SimulatedEngine engine = new SimulatedEngine("e", FAST)) {
            String system = "word ".repeat(1_000); // 5,000 characters: 19 full blocks
            events(engine, chat(SimulatedEngine.BASE_MODEL, system, "first", 3));
            assertEquals(0, engine.cachedTokens.get(), "nothing cached before");
            events(engine, chat(SimulatedEngine.BASE_MODEL, system, "second", 3));
            assertEquals(19L * SimulatedEngine.BLOCK_TOKENS, engine.cachedTokens.get());
            events(engine, chat("ad-0", system, "third", 3));
            assertEquals(19L * SimulatedEngine.BLOCK_TOKENS, engine.cachedTokens.get(), "an adapter has its own cache");
        }
    }

    @Test
    void adapterIsLoadedOnceWhileItStaysAndAnotherEvictsIt() throws Exception {
        try (SimulatedEngine engine = new SimulatedEngine("e", FAST)) {
            events(engine, chat("ad-0", "s", "q", 2));
            events(engine, chat("ad-0", "s", "q", 2));
            assertEquals(1, engine.adapterLoads.get());
            events(engine, chat("ad-1", "s", "q", 2));
            events(engine, chat("ad-0", "s", "q", 2));
            assertEquals(3, engine.adapterLoads.get(), "max_lora 1: each switch loads");
        }
    }

    @Test
    void answerStreamsOneEventPerTokenGroupThenDone() throws Exception {
        try (SimulatedEngine engine = new SimulatedEngine("e", FAST)) {
            List<String> events = events(engine, chat(SimulatedEngine.BASE_MODEL, "s", "q", 7));
            // the first token, then groups of 2 (7 = 1 + 2 + 2 + 2), the finish event, [DONE]
            assertEquals(6, events.size(), events.toString());
            assertEquals("data: [DONE]", events.get(events.size() - 1));
            assertEquals(1, engine.completed.get());
        }
    }

    @Test
    void metricsCarryVllmNames() throws Exception {
        try (SimulatedEngine engine = new SimulatedEngine("e", FAST)) {
            String metrics = CLIENT.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + engine.port() + "/metrics"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            for (String name : List.of(
                    "vllm:num_requests_running",
                    "vllm:num_requests_waiting",
                    "vllm:kv_cache_usage_perc",
                    "vllm:lora_requests_info{max_lora=\"1\"")) {
                assertTrue(metrics.contains(name), name + " missing from " + metrics);
            }
        }
    }
}
