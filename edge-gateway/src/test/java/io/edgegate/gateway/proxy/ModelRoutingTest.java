package io.edgegate.gateway.proxy;

import static io.edgegate.gateway.proxy.ProxyTesting.get;
import static io.edgegate.gateway.proxy.ProxyTesting.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OpenAI-compatible requests routed by the model in their body. */
class ModelRoutingTest {
    @TempDir
    Path dir;

    private Harness h;
    private final List<Backend> backends = new ArrayList<>();

    @BeforeEach
    void start() {
        h = Harness.start(dir);
        register("llm", "llama-1", Map.of("model", "llama3"));
        register("llm", "llama-2", Map.of("model", "llama3"));
        register("llm", "qwen-1", Map.of("models", "qwen2, qwen2-vl"));
        register("embed", "embed-1", Map.of("model", "bge-m3"));
    }

    @AfterEach
    void close() {
        backends.forEach(Backend::close);
        h.close();
    }

    private void register(String service, String id, Map<String, String> meta) {
        Backend b = new Backend(id);
        backends.add(b);
        h.register(service, id, b.port(), List.of(), meta, 1);
    }

    private static String chat(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    private static JsonNode json(HttpResponse<String> res) throws Exception {
        return ProxyJson.MAPPER.readTree(res.body());
    }

    @Test
    void modelPicksTheInstancesAdvertisingIt() throws Exception {
        Map<String, Integer> served = new HashMap<>();
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> res = send("POST", h.uri("/v1/chat/completions"), chat("llama3"));
            assertEquals(200, res.statusCode(), res.body());
            served.merge(json(res).get("served_by").asText(), 1, Integer::sum);
        }
        assertEquals(
                List.of("llama-1", "llama-2"), served.keySet().stream().sorted().toList());

        HttpResponse<String> qwen = send("POST", h.uri("/v1/completions"), "{\"prompt\":\"x\",\"model\":\"qwen2-vl\"}");
        assertEquals("qwen-1", json(qwen).get("served_by").asText());
        HttpResponse<String> embed = send("POST", h.uri("/v1/embeddings"), "{\"model\":\"bge-m3\",\"input\":\"x\"}");
        assertEquals("embed-1", json(embed).get("served_by").asText());
        assertEquals(22, h.lean.requests(), "served by the lean connection handler");
    }

    @Test
    void modelRoutingAppliesUnderSvcToo() throws Exception {
        HttpResponse<String> res = send("POST", h.uri("/svc/llm/v1/chat/completions"), chat("qwen2"));

        assertEquals(200, res.statusCode(), res.body());
        assertEquals("qwen-1", json(res).get("served_by").asText());
    }

    @Test
    void unknownModelIs404NamingIt() throws Exception {
        HttpResponse<String> res = send("POST", h.uri("/v1/chat/completions"), chat("gpt-9"));

        assertEquals(404, res.statusCode());
        JsonNode body = json(res);
        assertEquals("model", body.get("field").asText());
        assertEquals("unknown-model", body.get("rule").asText());
        assertTrue(body.get("error").asText().contains("gpt-9"), res.body());
        assertTrue(body.get("error").asText().contains("llama3"), "lists what is served: " + res.body());

        HttpResponse<String> svc = send("POST", h.uri("/svc/llm/v1/chat/completions"), chat("bge-m3"));
        assertEquals(404, svc.statusCode(), "bge-m3 is not a model of service llm");
        assertEquals("llm", json(svc).get("service").asText());
    }

    @Test
    void requestWithoutModelIs400NamingTheField() throws Exception {
        HttpResponse<String> res = send("POST", h.uri("/v1/chat/completions"), "{\"messages\":[]}");

        assertEquals(400, res.statusCode());
        assertEquals("model", json(res).get("field").asText());
    }

    @Test
    void modelsListsTheModelsOfHealthyInstances() throws Exception {
        h.maintenance("embed-1", true);

        HttpResponse<String> res = get(h.uri("/v1/models"));

        assertEquals(200, res.statusCode());
        JsonNode body = json(res);
        assertEquals("list", body.get("object").asText());
        List<String> ids = new ArrayList<>();
        body.get("data").forEach(m -> ids.add(m.get("id").asText()));
        assertEquals(List.of("llama3", "qwen2", "qwen2-vl"), ids);
        assertEquals(2, body.get("data").get(0).get("instances").asInt());
        assertEquals("llm", body.get("data").get(0).get("owned_by").asText());
    }

    @Test
    void tenMegabytePromptPassesByteForByte() throws Exception {
        StringBuilder prompt = new StringBuilder(10_500_000);
        prompt.append("{\"messages\":[{\"role\":\"user\",\"content\":\"");
        while (prompt.length() < 10_000_000) {
            prompt.append("the quick brown fox jumps over the lazy dog \\u00e9 ");
        }
        prompt.append("\"}],\"stream\":false,\"model\":\"llama3\"}");
        byte[] body = prompt.toString().getBytes(StandardCharsets.UTF_8);

        HttpResponse<String> res = ProxyTesting.send(HttpRequest.newBuilder(h.uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build());

        assertEquals(200, res.statusCode(), res.body());
        JsonNode answer = json(res);
        assertEquals(body.length, answer.get("bytes").asInt());
        assertEquals(ProxyTesting.sha256(body), answer.get("sha256").asText());
        assertTrue(answer.get("served_by").asText().startsWith("llama-"), res.body());
    }
}
