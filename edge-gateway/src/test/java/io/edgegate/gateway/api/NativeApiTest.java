package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** The native API against a real gateway on ephemeral ports, one behaviour per test. */
class NativeApiTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String INDEX = "X-Edgegate-Index";

    @TempDir
    Path dataDir;

    private TestGateway gateway;

    @BeforeEach
    void start() {
        gateway = TestGateway.start(dataDir);
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    // ---------------------------------------------------------------- registration

    @Test
    void registerAnswersIdAndIndexOfTheChange() {
        ok(post("/v1/instances", instance("warm-up", "warm-up-1", 1, null)));
        long before = gateway.gateway().registry().index();
        HttpResponse<String> res = post("/v1/instances", """
                {"service":"llm-infer","id":"llm-infer-1","address":"10.42.0.12","port":8080,
                 "tags":["version:v1","region:line-3"],"meta":{"model":"qwen2.5-7b","weight":"100"},
                 "check":{"http":"http://10.42.0.12:8080/health","interval":"10s"}}""");
        JsonNode body = ok(res);
        assertEquals("llm-infer-1", body.get("id").asText());
        long index = body.get("index").asLong();
        assertTrue(index > before, "index " + index + " should be past " + before);
        assertEquals(String.valueOf(index), res.headers().firstValue(INDEX).orElseThrow());
        assertEquals(index, gateway.gateway().registry().index());
    }

    @Test
    void registerWithSameIdUpdatesInPlace() {
        long first = ok(post("/v1/instances", instance("vision", "vision-1", 9000, "\"tags\":[\"v1\"]")))
                .get("index")
                .asLong();
        long second = ok(post("/v1/instances", instance("vision", "vision-1", 9001, "\"tags\":[\"v2\"]")))
                .get("index")
                .asLong();
        assertTrue(second > first);
        JsonNode instances = ok(get("/v1/services/vision")).get("instances");
        assertEquals(1, instances.size(), "one instance, updated in place: " + instances);
        JsonNode instance = instances.get(0);
        assertEquals(9001, instance.get("port").asInt());
        assertEquals("v2", instance.get("tags").get(0).asText());
        assertEquals(first, instance.get("createIndex").asLong());
        assertEquals(second, instance.get("modifyIndex").asLong());
    }

    @Test
    void reRegisteringUnchangedInstanceKeepsItsIndex() {
        String body = instance("vision", "vision-1", 9000, "\"tags\":[\"v1\"]");
        long first = ok(post("/v1/instances", body)).get("index").asLong();
        long again = ok(post("/v1/instances", body)).get("index").asLong();
        assertEquals(first, again);
        assertEquals(first, gateway.gateway().registry().index());
    }

    @Test
    void defaultIdIsServiceAddressPort() {
        JsonNode body = ok(post("/v1/instances", """
                {"service":"plc-adapter","address":"10.0.0.7","port":502}"""));
        assertEquals("plc-adapter-10.0.0.7-502", body.get("id").asText());
        assertEquals(
                "plc-adapter",
                ok(get("/v1/instances/plc-adapter-10.0.0.7-502")).get("service").asText());
    }

    @Test
    void checksArrayWeightsAndCamelCaseAliasesAreAccepted() {
        ok(post("/v1/instances", """
                {"service":"llm","id":"llm-1","address":"10.0.0.1","port":8080,
                 "weights":{"passing":10,"warning":1},
                 "checks":[{"id":"llm-1-http","http":"http://10.0.0.1:8080/health","interval":"5s",
                            "headers":{"Authorization":"Bearer x","X-Multi":["a","b"]},"deregisterCriticalAfter":"1m"},
                           {"id":"llm-1-ttl","ttl":"30s","status":"passing"}]}"""));
        JsonNode instance = ok(get("/v1/instances/llm-1"));
        assertEquals(10, instance.get("weights").get("passing").asInt());
        assertEquals(2, instance.get("checks").size());
        assertEquals("http", instance.get("checks").get(0).get("kind").asText());
        assertEquals("ttl", instance.get("checks").get(1).get("kind").asText());
        assertEquals("passing", instance.get("checks").get(1).get("status").asText());
    }

    @Test
    void newHttpCheckStartsCriticalAndInstanceWithoutChecksIsPassing() {
        ok(post(
                "/v1/instances",
                instance(
                        "svc",
                        "checked",
                        1000,
                        "\"check\":{\"http\":\"http://10.0.0.1:1/health\",\"interval\":\"1h\"}")));
        ok(post("/v1/instances", instance("svc", "unchecked", 1001, null)));
        JsonNode checked = ok(get("/v1/instances/checked"));
        assertEquals("critical", checked.get("health").asText());
        assertFalse(checked.get("routable").asBoolean());
        assertEquals("service:checked", checked.get("checks").get(0).get("id").asText());
        JsonNode unchecked = ok(get("/v1/instances/unchecked"));
        assertEquals("passing", unchecked.get("health").asText());
        assertTrue(unchecked.get("routable").asBoolean());
    }

    @Test
    void batchRegistersEveryInstance() {
        HttpResponse<String> res = post(
                "/v1/instances/batch",
                "{\"instances\":["
                        + instance("cam", "cam-1", 1, null) + "," + instance("cam", "cam-2", 2, null) + ","
                        + instance("plc", "plc-1", 3, null) + "]}");
        JsonNode body = ok(res);
        assertEquals(3, body.get("instances").size());
        long last = body.get("index").asLong();
        assertEquals(body.get("instances").get(2).get("index").asLong(), last);
        assertEquals(String.valueOf(last), res.headers().firstValue(INDEX).orElseThrow());
        assertEquals(3, gateway.gateway().registry().instanceCount());
        assertEquals(2, ok(get("/v1/services/cam")).get("instances").size());
    }

    @Test
    void batchIsAllOrNothing() {
        long before = gateway.gateway().registry().index();
        HttpResponse<String> res = post(
                "/v1/instances/batch",
                "{\"instances\":["
                        + instance("cam", "cam-1", 1, null) + "," + instance("cam", "cam-2", 2, null) + ","
                        + instance("cam", "cam-3", 0, null) + "]}");
        assertEquals(400, res.statusCode(), res.body());
        assertEquals("instances[2].port", json(res).get("field").asText());
        assertEquals(before, gateway.gateway().registry().index());
        assertEquals(0, gateway.gateway().registry().instanceCount());
        assertEquals(0, ok(get("/v1/services/cam")).get("instances").size());
    }

    @Test
    void batchWithIdOfAnotherServiceRegistersNothing() {
        ok(post("/v1/instances", instance("plc", "shared-id", 1, null)));
        long before = gateway.gateway().registry().index();
        HttpResponse<String> res = post(
                "/v1/instances/batch",
                "{\"instances\":[" + instance("cam", "cam-1", 1, null) + "," + instance("cam", "shared-id", 2, null)
                        + "]}");
        assertEquals(409, res.statusCode(), res.body());
        assertEquals("instances[1].id", json(res).get("field").asText());
        assertEquals(before, gateway.gateway().registry().index());
        assertNull(gateway.gateway().registry().instance("cam-1"));
    }

    // ---------------------------------------------------------------- lifecycle

    @Test
    void deregisterRemovesTheInstance() {
        ok(post("/v1/instances", instance("cam", "cam-1", 1, null)));
        HttpResponse<String> res = send("DELETE", "/v1/instances/cam-1", null);
        JsonNode body = ok(res);
        assertEquals("cam-1", body.get("id").asText());
        assertEquals(gateway.gateway().registry().index(), body.get("index").asLong());
        assertEquals(404, get("/v1/instances/cam-1").statusCode());
        assertEquals(0, ok(get("/v1/services/cam")).get("instances").size());
    }

    @Test
    void servicesListsOnlyServicesWithInstances() {
        ok(post("/v1/instances", instance("cam", "cam-1", 1, null)));
        ok(post("/v1/instances", instance("plc", "plc-1", 2, "\"check\":{\"ttl\":\"1h\"}")));
        ok(post("/v1/instances", instance("gone", "gone-1", 3, null)));
        ok(send("DELETE", "/v1/instances/gone-1", null));
        HttpResponse<String> res = get("/v1/services");
        JsonNode body = ok(res);
        List<String> names = new ArrayList<>();
        body.get("services").forEach(s -> names.add(s.get("service").asText()));
        assertEquals(List.of("cam", "plc"), names);
        JsonNode plc = body.get("services").get(1);
        assertEquals(1, plc.get("instances").asInt());
        assertEquals(1, plc.get("critical").asInt());
        assertEquals(0, plc.get("routable").asInt());
        assertEquals(
                String.valueOf(gateway.gateway().registry().index()),
                res.headers().firstValue(INDEX).orElseThrow());
    }

    @Test
    void unknownServiceIsEmptyWithAnIndex() {
        HttpResponse<String> res = get("/v1/services/not-yet");
        JsonNode body = ok(res);
        assertEquals(0, body.get("instances").size());
        assertEquals(body.get("index").asText(), res.headers().firstValue(INDEX).orElseThrow());
    }

    @Test
    void maintenanceTakesInstanceOutOfRouting() {
        ok(post("/v1/instances", instance("llm", "llm-1", 1, null)));
        ok(post("/v1/instances", instance("llm", "llm-2", 2, null)));
        ok(send("PUT", "/v1/instances/llm-1/maintenance?enable=true&reason=driver%20update", null));
        JsonNode one = ok(get("/v1/instances/llm-1"));
        assertTrue(one.get("maintenance").asBoolean());
        assertEquals("driver update", one.get("maintenanceReason").asText());
        assertFalse(one.get("routable").asBoolean());
        assertEquals("critical", one.get("health").asText());
        assertEquals(List.of("llm-2"), ids(ok(get("/v1/services/llm?routable=true"))));
        assertEquals(1, gateway.gateway().registry().service("llm").routableCount());

        ok(send("PUT", "/v1/instances/llm-1/maintenance?enable=false", null));
        assertTrue(ok(get("/v1/instances/llm-1")).get("routable").asBoolean());
        assertEquals(List.of("llm-1", "llm-2"), ids(ok(get("/v1/services/llm?routable=true"))));
    }

    @Test
    void heartbeatRenewsTtlCheck() {
        ok(post("/v1/instances", instance("sensor", "sensor-1", 1, "\"check\":{\"ttl\":\"30s\"}")));
        assertEquals("critical", ok(get("/v1/instances/sensor-1")).get("health").asText());
        JsonNode beat = ok(send("PUT", "/v1/instances/sensor-1/heartbeat", null));
        assertEquals("sensor-1", beat.get("id").asText());
        JsonNode instance = ok(get("/v1/instances/sensor-1"));
        assertEquals("passing", instance.get("health").asText());
        assertEquals("passing", instance.get("checks").get(0).get("status").asText());
        assertTrue(instance.get("routable").asBoolean());
    }

    @Test
    void ttlCheckTurnsCriticalWithoutHeartbeat() throws InterruptedException {
        ok(post("/v1/instances", instance("sensor", "sensor-1", 1, "\"check\":{\"ttl\":\"300ms\"}")));
        ok(send("PUT", "/v1/instances/sensor-1/heartbeat", null));
        assertEquals("passing", ok(get("/v1/instances/sensor-1")).get("health").asText());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String health = "passing";
        while (!health.equals("critical") && System.nanoTime() < deadline) {
            Thread.sleep(50);
            health = ok(get("/v1/instances/sensor-1")).get("health").asText();
        }
        assertEquals("critical", health, "TTL of 300ms expired without a heartbeat");
    }

    // ---------------------------------------------------------------- filters

    @Test
    void tagFilterIsAnd() {
        ok(post("/v1/instances", instance("llm", "a", 1, "\"tags\":[\"version:v1\",\"region:line-3\"]")));
        ok(post("/v1/instances", instance("llm", "b", 2, "\"tags\":[\"version:v1\",\"region:line-4\"]")));
        ok(post("/v1/instances", instance("llm", "c", 3, "\"tags\":[\"version:v2\",\"region:line-3\"]")));
        assertEquals(List.of("a", "b"), ids(ok(get("/v1/services/llm?tag=version:v1"))));
        assertEquals(List.of("a"), ids(ok(get("/v1/services/llm?tag=version:v1&tag=region:line-3"))));
        assertEquals(List.of(), ids(ok(get("/v1/services/llm?tag=version:v2&tag=region:line-4"))));
    }

    @Test
    void metaFilterIsAnd() {
        ok(post("/v1/instances", instance("llm", "a", 1, "\"meta\":{\"model\":\"qwen\",\"gpu\":\"a100\"}")));
        ok(post("/v1/instances", instance("llm", "b", 2, "\"meta\":{\"model\":\"qwen\",\"gpu\":\"t4\"}")));
        ok(post("/v1/instances", instance("llm", "c", 3, "\"meta\":{\"model\":\"llama\",\"gpu\":\"a100\"}")));
        assertEquals(List.of("a", "b"), ids(ok(get("/v1/services/llm?meta=model:qwen"))));
        assertEquals(List.of("a"), ids(ok(get("/v1/services/llm?meta=model:qwen&meta=gpu:a100"))));
    }

    @Test
    void healthFilterIsOr() {
        ok(post("/v1/instances", instance("llm", "pass", 1, null)));
        ok(post("/v1/instances", instance("llm", "warn", 2, "\"check\":{\"ttl\":\"1h\",\"status\":\"warning\"}")));
        ok(post("/v1/instances", instance("llm", "crit", 3, "\"check\":{\"ttl\":\"1h\"}")));
        assertEquals(List.of("warn"), ids(ok(get("/v1/services/llm?health=warning"))));
        assertEquals(List.of("pass", "crit"), ids(ok(get("/v1/services/llm?health=passing&health=critical"))));
        assertEquals(List.of("pass", "warn"), ids(ok(get("/v1/services/llm?routable=true"))));
    }

    // ---------------------------------------------------------------- blocking queries

    @Test
    void blockingQueryReturnsWhenServiceChanges() throws Exception {
        long index = ok(post("/v1/instances", instance("llm", "llm-1", 1, null)))
                .get("index")
                .asLong();
        long start = System.nanoTime();
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/services/llm?index=" + index + "&wait=10s"));
        Thread.sleep(200);
        assertFalse(watcher.isDone(), "the query should block while nothing changes");
        long changed = ok(post("/v1/instances", instance("llm", "llm-2", 2, null)))
                .get("index")
                .asLong();
        HttpResponse<String> res = watcher.get(5, TimeUnit.SECONDS);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        JsonNode body = ok(res);
        assertTrue(elapsedMillis < 5_000, "returned after " + elapsedMillis + " ms, well before the 10s wait");
        assertEquals(changed, body.get("index").asLong());
        assertEquals(String.valueOf(changed), res.headers().firstValue(INDEX).orElseThrow());
        assertEquals(List.of("llm-1", "llm-2"), ids(body));
    }

    @Test
    void blockingQueryWithOtherIndexReturnsAtOnce() {
        long index = ok(post("/v1/instances", instance("llm", "llm-1", 1, null)))
                .get("index")
                .asLong();
        long start = System.nanoTime();
        JsonNode body = ok(get("/v1/services/llm?index=" + (index - 1) + "&wait=10s"));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(elapsedMillis < 2_000, "returned after " + elapsedMillis + " ms");
        assertEquals(index, body.get("index").asLong());
    }

    @Test
    void blockingQueryReturnsSameIndexWhenWaitIsOver() {
        long index = ok(post("/v1/instances", instance("llm", "llm-1", 1, null)))
                .get("index")
                .asLong();
        long start = System.nanoTime();
        HttpResponse<String> res = get("/v1/services/llm?index=" + index + "&wait=300ms");
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(index, ok(res).get("index").asLong());
        assertTrue(elapsedMillis >= 290, "waited " + elapsedMillis + " ms of 300ms");
        assertTrue(elapsedMillis < 3_000, "waited " + elapsedMillis + " ms of 300ms");
    }

    @Test
    void unrelatedServiceChangeDoesNotWakeWatcher() throws Exception {
        long index = ok(post("/v1/instances", instance("llm", "llm-1", 1, null)))
                .get("index")
                .asLong();
        long start = System.nanoTime();
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/services/llm?index=" + index + "&wait=800ms"));
        Thread.sleep(100);
        ok(post("/v1/instances", instance("vision", "vision-1", 2, null)));
        HttpResponse<String> res = watcher.get(5, TimeUnit.SECONDS);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(elapsedMillis >= 780, "woke after " + elapsedMillis + " ms: another service's change woke it");
        assertEquals(index, ok(res).get("index").asLong());
    }

    @Test
    void blockingQueryOnUnknownServiceReturnsWhenItAppears() throws Exception {
        // Not the node's first change: see firstChangeOnFreshNodeWakesWatcherOfUnknownService.
        ok(post("/v1/instances", instance("warm-up", "warm-up-1", 1, null)));
        HttpResponse<String> first = get("/v1/services/later");
        long index = ok(first).get("index").asLong();
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/services/later?index=" + index + "&wait=10s"));
        Thread.sleep(100);
        ok(post("/v1/instances", instance("later", "later-1", 1, null)));
        JsonNode body = ok(watcher.get(5, TimeUnit.SECONDS));
        assertEquals(List.of("later-1"), ids(body));
        assertNotEquals(index, body.get("index").asLong());
    }

    @Test
    void firstChangeOnFreshNodeWakesWatcherOfUnknownService() throws Exception {
        long index = ok(get("/v1/services/later")).get("index").asLong();
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/services/later?index=" + index + "&wait=3s"));
        Thread.sleep(100);
        ok(post("/v1/instances", instance("later", "later-1", 1, null)));
        JsonNode body = ok(watcher.get(2, TimeUnit.SECONDS));
        assertEquals(List.of("later-1"), ids(body));
    }

    @Test
    void blockingServiceListReturnsWhenAnythingChanges() throws Exception {
        ok(post("/v1/instances", instance("warm-up", "warm-up-1", 1, null)));
        long index = ok(get("/v1/services")).get("index").asLong();
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/services?index=" + index + "&wait=10s"));
        Thread.sleep(100);
        assertFalse(watcher.isDone());
        ok(post("/v1/instances", instance("cam", "cam-1", 1, null)));
        JsonNode body = ok(watcher.get(5, TimeUnit.SECONDS));
        assertEquals(2, body.get("services").size(), body.toString());
    }

    // ---------------------------------------------------------------- node

    @Test
    void wrongMethodOnKnownPathIs405NamingAllowedMethods() {
        HttpResponse<String> res = send("PUT", "/v1/instances/cam-1", "{}");
        assertEquals(405, res.statusCode(), res.body());
        assertEquals("GET, DELETE", res.headers().firstValue("Allow").orElse(""));
        assertEquals("method", json(res).get("field").asText());
    }

    @Test
    void statusReportsNodeAndCounts() {
        ok(post("/v1/instances", instance("cam", "cam-1", 1, null)));
        ok(post("/v1/instances", instance("cam", "cam-2", 2, null)));
        ok(post("/v1/instances", instance("plc", "plc-1", 3, null)));
        JsonNode status = ok(get("/v1/status"));
        assertEquals(
                gateway.gateway().config().server().node(), status.get("node").asText());
        assertEquals(
                gateway.gateway().config().server().site(), status.get("site").asText());
        assertEquals(3, status.get("instances").asInt());
        assertEquals(2, status.get("services").asInt());
        assertEquals(gateway.gateway().registry().index(), status.get("index").asLong());
        assertTrue(status.has("errors"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void openApiDocumentIsServed() {
        for (String path : List.of("/v1/openapi", "/openapi")) {
            HttpResponse<String> res = get(path);
            assertEquals(200, res.statusCode(), path);
            assertTrue(
                    res.headers().firstValue("Content-Type").orElse("").startsWith("application/yaml"),
                    "content type " + res.headers().firstValue("Content-Type"));
            Map<String, Object> doc = new Yaml().load(res.body());
            assertTrue(String.valueOf(doc.get("openapi")).startsWith("3.0"), "openapi version " + doc.get("openapi"));
            Map<String, Object> paths = (Map<String, Object>) doc.get("paths");
            for (String p : List.of(
                    "/v1/instances",
                    "/v1/instances/batch",
                    "/v1/instances/{id}",
                    "/v1/instances/{id}/heartbeat",
                    "/v1/instances/{id}/maintenance",
                    "/v1/services",
                    "/v1/services/{service}",
                    "/v1/status",
                    "/v1/openapi")) {
                assertTrue(paths.containsKey(p), "document lists " + p);
            }
            Map<String, Object> schemas =
                    (Map<String, Object>) ((Map<String, Object>) doc.get("components")).get("schemas");
            Map<String, Object> error = (Map<String, Object>) schemas.get("Error");
            assertEquals(List.of("error", "field", "rule"), error.get("required"));
        }
    }

    @Test
    void registrationSurvivesRestart() {
        long index = ok(post(
                        "/v1/instances",
                        instance("llm", "llm-1", 8080, "\"tags\":[\"version:v1\"],\"meta\":{\"model\":\"qwen\"}")))
                .get("index")
                .asLong();
        gateway.close();
        gateway = TestGateway.start(dataDir);
        JsonNode instance = ok(get("/v1/instances/llm-1"));
        assertEquals(8080, instance.get("port").asInt());
        assertEquals("version:v1", instance.get("tags").get(0).asText());
        assertEquals("qwen", instance.get("meta").get("model").asText());
        assertEquals(index, instance.get("modifyIndex").asLong());
        assertTrue(gateway.gateway().registry().index() >= index, "index never goes back after a restart");
    }

    // ---------------------------------------------------------------- helpers

    /** A registration body; {@code extra} is more JSON members, or null. */
    static String instance(String service, String id, int port, String extra) {
        return "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"10.0.0.1\",\"port\":" + port
                + (extra == null ? "" : "," + extra) + "}";
    }

    private HttpResponse<String> post(String path, String body) {
        return send("POST", path, body);
    }

    @Test
    void writeAnswersAreWhatJacksonWrites() {
        List<io.edgegate.gateway.registry.Change> changes = List.of(
                new io.edgegate.gateway.registry.Change("a", 1),
                new io.edgegate.gateway.registry.Change("say-\"hi\"-" + "x".repeat(300), Long.MAX_VALUE),
                new io.edgegate.gateway.registry.Change("tab\there\\é", 0));
        for (int n = 0; n <= changes.size(); n++) {
            List<io.edgegate.gateway.registry.Change> some = changes.subList(0, n);
            assertEquals(
                    new String(NativeApi.batchAnswerByJackson(some, 7), java.nio.charset.StandardCharsets.UTF_8),
                    new String(NativeApi.batchAnswer(some, 7), java.nio.charset.StandardCharsets.UTF_8));
        }
        for (io.edgegate.gateway.registry.Change change : changes) {
            assertEquals(
                    Json.MAPPER
                            .createObjectNode()
                            .put("id", change.id())
                            .put("index", change.index())
                            .toString(),
                    new String(NativeApi.changeAnswer(change), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private HttpResponse<String> get(String path) {
        return send("GET", path, null);
    }

    private HttpResponse<String> send(String method, String path, String body) {
        return TestGateway.send(method, gateway.api(path), body);
    }

    private static JsonNode ok(HttpResponse<String> res) {
        assertEquals(200, res.statusCode(), () -> res.request().method() + " " + res.uri() + " answered " + res.body());
        return json(res);
    }

    private static JsonNode json(HttpResponse<String> res) {
        try {
            return MAPPER.readTree(res.body());
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + res.body(), e);
        }
    }

    private static List<String> ids(JsonNode service) {
        List<String> ids = new ArrayList<>();
        service.get("instances").forEach(i -> ids.add(i.get("id").asText()));
        return ids;
    }
}
