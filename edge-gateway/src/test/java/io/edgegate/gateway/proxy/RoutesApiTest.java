package io.edgegate.gateway.proxy;

import static io.edgegate.gateway.TestGateway.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole gateway: instances registered through the native API, routes through {@code /v1/routes}. */
class RoutesApiTest {
    private static final String V2_ROUTE = """
            {"match": {"path-prefix": "/app"}, "service": "app", "strip-prefix": true,
             "policy": {"tags": ["version:v2"], "retries": 1, "timeouts": {"total": "5s"}}}""";

    @TempDir
    Path dir;

    private TestGateway gateway;
    private final List<Backend> backends = new ArrayList<>();

    @BeforeEach
    void start() {
        gateway = TestGateway.start(dir);
        register("app-1", "v1");
        register("app-2", "v2");
    }

    @AfterEach
    void close() {
        backends.forEach(Backend::close);
        if (gateway != null) {
            gateway.close();
        }
    }

    private void register(String id, String version) {
        Backend b = new Backend(version);
        backends.add(b);
        HttpResponse<String> res = send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"app\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":" + b.port()
                        + ",\"tags\":[\"version:" + version + "\"]}");
        assertEquals(200, res.statusCode(), res.body());
    }

    private static JsonNode json(HttpResponse<String> res) throws Exception {
        return ProxyJson.MAPPER.readTree(res.body());
    }

    @Test
    void everyRegisteredServiceIsReachableUnderSvc() {
        HttpResponse<String> res = send("GET", gateway.api("/svc/app/hello"), null);

        assertEquals(200, res.statusCode(), res.body());
        assertTrue(res.body().equals("v1") || res.body().equals("v2"), res.body());
    }

    @Test
    void storedRouteTakesEffectOnceAcknowledged() throws Exception {
        assertEquals(404, send("GET", gateway.api("/app/x"), null).statusCode());

        HttpResponse<String> put = send("PUT", gateway.api("/v1/routes/app-v2"), V2_ROUTE);

        assertEquals(200, put.statusCode(), put.body());
        assertTrue(json(put).get("index").asLong() > 0);
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> res = send("GET", gateway.api("/app/x"), null);
            assertEquals("v2", res.body());
        }
        JsonNode listed = json(send("GET", gateway.api("/v1/routes"), null));
        assertEquals("app-v2", listed.get("routes").get(0).get("name").asText());
        assertEquals("api", listed.get("routes").get(0).get("source").asText());
        assertEquals(
                "5000ms",
                listed.get("routes")
                        .get(0)
                        .get("policy")
                        .get("timeouts")
                        .get("total")
                        .asText());
    }

    @Test
    void invalidRouteIs400NamingTheField() throws Exception {
        HttpResponse<String> res = send(
                "PUT",
                gateway.api("/v1/routes/bad"),
                "{\"service\":\"app\",\"policy\":{\"subsets\":[{\"weight\":80,\"tags\":[\"version:v1\"]},"
                        + "{\"weight\":-5}]}}");

        assertEquals(400, res.statusCode());
        JsonNode body = json(res);
        assertEquals("policy.subsets[1].weight", body.get("field").asText());
        assertEquals("range", body.get("rule").asText());
        assertTrue(body.get("error").asText().contains("value=-5"), res.body());

        HttpResponse<String> unknown =
                send("PUT", gateway.api("/v1/routes/bad"), "{\"service\":\"app\",\"balance\":\"x\"}");
        assertEquals("balance", json(unknown).get("field").asText());
        HttpResponse<String> badName = send("PUT", gateway.api("/v1/routes/b%20d"), "{\"service\":\"app\"}");
        assertEquals("name", json(badName).get("field").asText());
        assertEquals(404, send("GET", gateway.api("/v1/routes/bad"), null).statusCode());
    }

    @Test
    void deletedRouteStopsMatching() throws Exception {
        assertEquals(
                200, send("PUT", gateway.api("/v1/routes/app-v2"), V2_ROUTE).statusCode());
        assertEquals("v2", send("GET", gateway.api("/app/x"), null).body());

        HttpResponse<String> deleted = send("DELETE", gateway.api("/v1/routes/app-v2"), null);

        assertEquals(200, deleted.statusCode(), deleted.body());
        assertEquals(404, send("GET", gateway.api("/app/x"), null).statusCode());
        assertEquals(404, send("DELETE", gateway.api("/v1/routes/app-v2"), null).statusCode());
    }

    @Test
    void storedRouteSurvivesARestart() {
        assertEquals(
                200, send("PUT", gateway.api("/v1/routes/app-v2"), V2_ROUTE).statusCode());
        gateway.close();

        gateway = TestGateway.start(dir);

        assertEquals("v2", send("GET", gateway.api("/app/x"), null).body());
    }
}
