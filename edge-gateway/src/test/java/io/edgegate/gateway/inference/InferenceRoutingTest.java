package io.edgegate.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The score balancer through a real gateway, in front of engines that export vLLM's metrics:
 * load, KV-cache, prefix and adapter affinity, the fallback when signals go stale, streaming, and
 * the models the engines serve in {@code /v1/models} and Consul's service metadata.
 */
class InferenceRoutingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    /** Long enough for any stall of a loaded machine; the stale test waits it out. */
    private static final long MAX_AGE_MILLIS = 2_000;

    private static final long DEADLINE_MILLIS = 20_000;

    @TempDir
    Path dir;

    private TestGateway gw;
    private final List<FakeEngine> engines = new ArrayList<>();

    @AfterEach
    void close() {
        for (FakeEngine e : engines) {
            e.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start() {
        gw = TestGateway.start(
                dir,
                Map.of(
                        "EDGEGATE_INFERENCE_SCRAPE_INTERVAL", "50ms",
                        "EDGEGATE_INFERENCE_SIGNAL_MAX_AGE", MAX_AGE_MILLIS + "ms",
                        "EDGEGATE_INFERENCE_MODELS_INTERVAL", "200ms"));
    }

    private FakeEngine engine(String id) {
        FakeEngine e = new FakeEngine(id);
        engines.add(e);
        String body = "{\"service\":\"llm\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":" + e.port()
                + ",\"meta\":{\"engine\":\"vllm\"}}";
        HttpResponse<String> res = TestGateway.send("POST", gw.api("/v1/instances"), body);
        assertEquals(200, res.statusCode(), res.body());
        return e;
    }

    // ---------------------------------------------------------------- helpers

    private JsonNode signals(String id) {
        JsonNode status =
                json(TestGateway.send("GET", gw.api("/v1/status"), null).body());
        return status.path("inference").path("signals").path(id);
    }

    /** Waits until the gateway's view of the instance's signals satisfies {@code test}. */
    private void awaitSignals(String id, Predicate<JsonNode> test, String what) {
        long deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
        JsonNode last = null;
        while (System.currentTimeMillis() < deadline) {
            last = signals(id);
            if (test.test(last)) {
                return;
            }
            sleep(20);
        }
        fail("signals of " + id + " never " + what + "; last: " + last);
    }

    /** Waits until {@code /v1/models} lists {@code model} on {@code instances} instances. */
    private void awaitModelOnInstances(String model, int instances) {
        long deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
        JsonNode list = null;
        while (System.currentTimeMillis() < deadline) {
            list = json(getBody("/v1/models").body());
            for (JsonNode m : list.path("data")) {
                if (model.equals(m.path("id").asText()) && m.path("instances").asInt() == instances) {
                    return;
                }
            }
            sleep(20);
        }
        fail(model + " never listed on " + instances + " instances; last: " + list);
    }

    private void awaitFresh(String id, double running, double waiting) {
        awaitSignals(
                id,
                s -> s.path("fresh").asBoolean(false)
                        && s.path("running").asDouble(-1) == running
                        && s.path("waiting").asDouble(-1) == waiting,
                "fresh with running=" + running + ", waiting=" + waiting);
    }

    private static String chat(String model, String system, String user, boolean stream) {
        Map<String, Object> body = new HashMap<>();
        body.put("model", model);
        body.put("stream", stream);
        List<Map<String, String>> messages = new ArrayList<>();
        if (system != null) {
            messages.add(Map.of("role", "system", "content", system));
        }
        messages.add(Map.of("role", "user", "content", user));
        body.put("messages", messages);
        try {
            return JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private HttpResponse<String> post(String path, String body) {
        HttpRequest request = HttpRequest.newBuilder(gw.api(path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sends a chat request through /svc/llm and answers who served it. */
    private String servedBy(String model, String system, String user) {
        HttpResponse<String> res = post("/svc/llm/v1/chat/completions", chat(model, system, user, false));
        assertEquals(200, res.statusCode(), res.body());
        return json(res.body()).path("served_by").asText();
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(text, e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String systemPrompt(char seed) {
        StringBuilder s = new StringBuilder("You are the assistant of line " + seed + ". ");
        while (s.length() < 2_000) {
            s.append("Answer with the part numbers of station ")
                    .append(seed)
                    .append(' ')
                    .append(s.length())
                    .append(". ");
        }
        return s.toString();
    }

    // ---------------------------------------------------------------- tests

    @Test
    void hotInstanceShedsLoad() {
        start();
        FakeEngine a = engine("a");
        FakeEngine b = engine("b");
        a.metrics = FakeEngine.vllm(16, 10, 0.97, "");
        b.metrics = FakeEngine.vllm(2, 0, 0.2, "");
        awaitFresh("a", 16, 10);
        awaitFresh("b", 2, 0);
        for (int i = 0; i < 10; i++) {
            assertEquals("b", servedBy("base", null, "question " + i), "request " + i + " went to the hot instance");
        }
        a.metrics = FakeEngine.vllm(2, 0, 0.2, "");
        b.metrics = FakeEngine.vllm(16, 10, 0.97, "");
        awaitFresh("a", 2, 0);
        awaitFresh("b", 16, 10);
        for (int i = 0; i < 10; i++) {
            assertEquals(
                    "a", servedBy("base", null, "other question " + i), "request " + i + " went to the hot instance");
        }
        assertEquals(10, a.served.get());
        assertEquals(10, b.served.get());
    }

    @Test
    void staleSignalFallsBackToLeastRequest() throws Exception {
        start();
        FakeEngine a = engine("a");
        FakeEngine b = engine("b");
        a.metrics = FakeEngine.vllm(16, 10, 0.97, "");
        b.metrics = FakeEngine.vllm(0, 0, 0.1, "");
        awaitFresh("a", 16, 10);
        awaitFresh("b", 0, 0);
        // Two requests held in flight on b, which fresh signals favour.
        b.hold = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String body = chat("base", null, "held " + i, false);
            held.add(CompletableFuture.supplyAsync(() -> post("/svc/llm/v1/chat/completions", body)));
        }
        long deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
        while (b.inFlight.get() < 2 && System.currentTimeMillis() < deadline) {
            sleep(10);
        }
        assertEquals(2, b.inFlight.get(), "both held requests reached b");
        // Both engines stop answering their metrics: their signals age past signal-max-age.
        a.metricsStatus = 500;
        b.metricsStatus = 500;
        awaitSignals("a", s -> !s.path("fresh").asBoolean(true), "stale");
        awaitSignals("b", s -> !s.path("fresh").asBoolean(true), "stale");
        // b's stale signals still say idle, a's still say overloaded: least-request goes by the
        // gateway's own counts (b has two in flight, a none) and answers.
        assertEquals("a", servedBy("base", null, "after the signals went stale"));
        b.hold.countDown();
        for (CompletableFuture<HttpResponse<String>> f : held) {
            assertEquals(200, f.get().statusCode());
        }
    }

    @Test
    void prefixSticksToItsInstanceUntilThatInstanceIsOverloaded() {
        start();
        FakeEngine a = engine("a");
        FakeEngine b = engine("b");
        a.metrics = FakeEngine.vllm(0, 0, 0.1, "");
        b.metrics = FakeEngine.vllm(0, 0, 0.1, "");
        awaitFresh("a", 0, 0);
        awaitFresh("b", 0, 0);
        String system = systemPrompt('7');
        String first = servedBy("base", system, "which part fits station 7?");
        FakeEngine owner = first.equals("a") ? a : b;
        FakeEngine other = owner == a ? b : a;
        for (int i = 0; i < 5; i++) {
            assertEquals(first, servedBy("base", system, "and station 7 bolt " + i + "?"), "the prefix moved");
        }
        // Some load on its instance: less than the prefix is worth, it stays.
        owner.metrics = FakeEngine.vllm(2, 0, 0.1, "");
        awaitFresh(owner.name, 2, 0);
        assertEquals(first, servedBy("base", system, "a question under load"), "the prefix left a busy instance");
        // Overloaded: a long queue outweighs the cached prefix.
        owner.metrics = FakeEngine.vllm(16, 8, 0.9, "");
        awaitFresh(owner.name, 16, 8);
        assertEquals(
                other.name,
                servedBy("base", system, "a question when overloaded"),
                "the prefix stuck to an overloaded instance");
    }

    @Test
    void engineWhoseScrapesFailIsAskedLessOftenAndTakenBackWhenItAnswers() {
        start();
        FakeEngine a = engine("a");
        awaitFresh("a", 0, 0);
        a.metricsStatus = 500;
        awaitSignals("a", s -> s.hasNonNull("error"), "failing");
        int before = a.scrapes.get();
        sleep(2_000);
        int during = a.scrapes.get() - before;
        // Every 50 ms would be about 40 in those 2 s; doubling waits (100, 200, 400, 800 ms...) a handful.
        assertTrue(during <= 10, "a failing engine was scraped " + during + " times in 2 s");
        a.metricsStatus = 200;
        awaitFresh("a", 0, 0);
    }

    @Test
    void adapterRequestReachesAnInstanceWithTheAdapterLoaded() {
        start();
        FakeEngine a = engine("a");
        FakeEngine b = engine("b");
        a.models = FakeEngine.models("base", "sql-lora", "chat-lora");
        b.models = FakeEngine.models("base", "sql-lora", "chat-lora");
        a.metrics = FakeEngine.vllm(1, 0, 0.3, "chat-lora");
        b.metrics = FakeEngine.vllm(1, 0, 0.3, "sql-lora");
        awaitSignals(
                "a",
                s -> s.path("fresh").asBoolean(false)
                        && s.path("adapters").toString().contains("chat-lora"),
                "with chat-lora");
        awaitSignals(
                "b",
                s -> s.path("fresh").asBoolean(false)
                        && s.path("adapters").toString().contains("sql-lora"),
                "with sql-lora");
        // Both engines' model lists reached the gateway (their own interval): both may serve either adapter.
        awaitModelOnInstances("sql-lora", 2);
        awaitModelOnInstances("chat-lora", 2);
        for (int i = 0; i < 8; i++) {
            assertEquals("b", servedBy("sql-lora", null, "select the parts of order " + i));
            assertEquals("a", servedBy("chat-lora", null, "hello number " + i));
        }
    }

    @Test
    void streamedResponseIsPassedThroughEventByEvent() throws Exception {
        start();
        FakeEngine a = engine("a");
        awaitFresh("a", 0, 0);
        HttpResponse<String> route = TestGateway.send(
                "PUT",
                gw.api("/v1/routes/chat"),
                "{\"match\":{\"path-prefix\":\"/chat\"},\"service\":\"llm\",\"strip-prefix\":true,"
                        + "\"policy\":{\"balancer\":\"score\",\"scoring\":{\"prefix\":6}}}");
        assertEquals(200, route.statusCode(), route.body());
        a.holdStream = new CountDownLatch(1);
        HttpRequest request = HttpRequest.newBuilder(gw.api("/chat/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(chat("base", null, "stream it", true)))
                .build();
        HttpResponse<InputStream> res = CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, res.statusCode());
        try (BufferedReader events = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            String firstEvent = events.readLine();
            assertTrue(firstEvent.contains("a-0"), firstEvent);
            // The engine is held after its first event: a proxy that buffered would show nothing yet.
            assertEquals(1, a.inFlight.get(), "the engine has not finished");
            a.holdStream.countDown();
            List<String> rest = new ArrayList<>();
            String line;
            while ((line = events.readLine()) != null) {
                if (!line.isEmpty()) {
                    rest.add(line);
                }
            }
            assertEquals(3, rest.size(), rest.toString());
            assertTrue(rest.get(0).contains("a-1") && rest.get(1).contains("a-2"), rest.toString());
            assertEquals("data: [DONE]", rest.get(2));
        }
    }

    @Test
    void modelsListAggregatesWhatEveryEngineServes() {
        start();
        FakeEngine a = engine("a");
        FakeEngine b = engine("b");
        a.models = FakeEngine.models("llama-3-8b", "sql-lora");
        b.models = FakeEngine.models("qwen2.5-7b");
        long deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
        JsonNode list = null;
        while (System.currentTimeMillis() < deadline) {
            list = json(getBody("/v1/models").body());
            if (list.path("data").size() == 3) {
                break;
            }
            sleep(50);
        }
        assertEquals("list", list.path("object").asText());
        Map<String, JsonNode> byId = new HashMap<>();
        list.path("data").forEach(m -> byId.put(m.path("id").asText(), m));
        assertEquals(
                List.of("llama-3-8b", "qwen2.5-7b", "sql-lora"),
                byId.keySet().stream().sorted().toList(),
                list.toString());
        for (JsonNode m : byId.values()) {
            assertEquals("model", m.path("object").asText());
            assertEquals("llm", m.path("services").get(0).asText());
            assertEquals(1, m.path("instances").asInt());
        }
        // An adapter is asked for as a model: the request reaches the engine that serves it.
        a.metrics = FakeEngine.vllm(0, 0, 0, "");
        b.metrics = FakeEngine.vllm(0, 0, 0, "");
        awaitFresh("a", 0, 0);
        awaitFresh("b", 0, 0);
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> res = post("/v1/chat/completions", chat("sql-lora", null, "q" + i, false));
            assertEquals("a", json(res.body()).path("served_by").asText());
            res = post("/v1/chat/completions", chat("qwen2.5-7b", null, "q" + i, false));
            assertEquals("b", json(res.body()).path("served_by").asText());
        }
    }

    private HttpResponse<String> getBody(String path) {
        return TestGateway.send("GET", gw.api(path), null);
    }

    @Test
    void consulServiceMetaCarriesTheModelsAndAdaptersOfEachInstance() {
        start();
        FakeEngine a = engine("a");
        FakeEngine b = engine("b");
        a.models = FakeEngine.models("llama-3-8b", "sql-lora", "chat-lora");
        b.models = FakeEngine.models("llama-3-8b");
        long deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
        Map<String, JsonNode> meta = new HashMap<>();
        while (System.currentTimeMillis() < deadline) {
            meta.clear();
            JsonNode catalog = json(TestGateway.send("GET", gw.consul("/v1/catalog/service/llm"), null)
                    .body());
            catalog.forEach(e -> meta.put(e.path("ServiceID").asText(), e.path("ServiceMeta")));
            if (meta.size() == 2 && meta.values().stream().allMatch(m -> m.has("engine-models"))) {
                break;
            }
            sleep(50);
        }
        assertEquals("llama-3-8b", meta.get("a").path("engine-models").asText(), meta.toString());
        assertEquals("chat-lora,sql-lora", meta.get("a").path("engine-adapters").asText(), meta.toString());
        assertEquals("vllm", meta.get("a").path("engine").asText(), "the registration's own metadata stays");
        assertEquals("llama-3-8b", meta.get("b").path("engine-models").asText(), meta.toString());
        assertTrue(!meta.get("b").has("engine-adapters"), meta.toString());
        // The health endpoint (what Consul clients discover with) carries the same metadata.
        JsonNode health = json(TestGateway.send("GET", gw.consul("/v1/health/service/llm?passing"), null)
                .body());
        boolean found = false;
        for (JsonNode entry : health) {
            if (entry.path("Service").path("ID").asText().equals("a")) {
                assertEquals(
                        "chat-lora,sql-lora",
                        entry.path("Service")
                                .path("Meta")
                                .path("engine-adapters")
                                .asText());
                found = true;
            }
        }
        assertTrue(found, health.toString());
        // An adapter the engine drops leaves the metadata.
        a.models = FakeEngine.models("llama-3-8b", "sql-lora");
        deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
        String adapters = null;
        while (System.currentTimeMillis() < deadline) {
            JsonNode catalog = json(TestGateway.send("GET", gw.consul("/v1/catalog/service/llm"), null)
                    .body());
            for (JsonNode e : catalog) {
                if (e.path("ServiceID").asText().equals("a")) {
                    adapters = e.path("ServiceMeta").path("engine-adapters").asText();
                }
            }
            if ("sql-lora".equals(adapters)) {
                break;
            }
            sleep(50);
        }
        assertEquals("sql-lora", adapters);
    }
}
