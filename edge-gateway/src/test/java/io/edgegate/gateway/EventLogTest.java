package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.edgegate.bridge.testing.JsonLogCapture;
import io.edgegate.bridge.testing.MosquittoBroker;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's meaningful events, one log line each, as the JSON log format writes them: the
 * fields {@code service}, {@code instance} (and {@code check}) or {@code route} are there, beside
 * the process's {@code node} and {@code site}.
 */
class EventLogTest {
    private static final Map<String, String> PROCESS = Map.of("node", "node-1", "site", "plant-a");
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    @TempDir
    Path dataDir;

    private JsonLogCapture log;
    private TestGateway gateway;
    private HttpServer backend;
    private final AtomicInteger status = new AtomicInteger(200);

    @BeforeEach
    void capture() {
        log = JsonLogCapture.of("io.edgegate.gateway", PROCESS);
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (backend != null) {
            backend.stop(0);
        }
        log.close();
    }

    private int startBackend() throws IOException {
        backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        backend.createContext("/", exchange -> {
            byte[] body = ("{\"status\":" + status.get() + "}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status.get(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        backend.start();
        return backend.getAddress().getPort();
    }

    private void register(String service, String id, int port, String check) {
        String body = "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":"
                + port + (check == null ? "" : ",\"check\":" + check) + "}";
        HttpResponse<String> answer = TestGateway.send("POST", gateway.api("/v1/instances"), body);
        assertEquals(200, answer.statusCode(), answer.body());
    }

    private static void assertFields(JsonNode line, String... namesAndValues) {
        for (int i = 0; i < namesAndValues.length; i += 2) {
            assertEquals(
                    namesAndValues[i + 1], line.path(namesAndValues[i]).asText(), namesAndValues[i] + " in " + line);
        }
        assertEquals("plant-a", line.path("site").asText(), "process field site in " + line);
        assertTrue(line.hasNonNull("time") && line.hasNonNull("level") && line.hasNonNull("logger"), line.toString());
    }

    @Test
    void healthFlipsAreLoggedWithServiceInstanceAndCheck() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend();
        register(
                "llm",
                "llm-1",
                port,
                "{\"id\":\"llm-1-http\",\"http\":\"http://127.0.0.1:" + port
                        + "/health\",\"interval\":\"100ms\",\"timeout\":\"1s\"}");
        JsonNode passing = log.await("health critical -> passing");
        assertEquals("INFO", passing.get("level").asText());
        assertFields(passing, "service", "llm", "instance", "llm-1", "check", "llm-1-http");
        status.set(500);
        JsonNode critical = log.await("health passing -> critical");
        assertEquals("WARNING", critical.get("level").asText());
        assertFields(critical, "service", "llm", "instance", "llm-1", "check", "llm-1-http");
        assertTrue(critical.get("message").asText().contains("500"), critical.toString());
        assertEquals(1, log.count("health passing -> critical"), "one line per flip, not per failing probe");
    }

    @Test
    void leaseExpiryIsLoggedOnceAsSuch() throws Exception {
        gateway = TestGateway.start(dataDir);
        register("vision", "vision-1", 7000, "{\"id\":\"vision-1-ttl\",\"ttl\":\"1s\"}");
        assertEquals(
                200,
                TestGateway.send("PUT", gateway.api("/v1/instances/vision-1/heartbeat"), null)
                        .statusCode());
        log.await("health critical -> passing");
        JsonNode expired = log.await("lease expired");
        assertEquals("WARNING", expired.get("level").asText());
        assertFields(expired, "service", "vision", "instance", "vision-1", "check", "vision-1-ttl");
        assertTrue(expired.get("message").asText().contains("passing -> critical"), expired.toString());
        Thread.sleep(1_500); // a further TTL: the lease stays expired, nothing more is logged
        assertEquals(1, log.count("lease expired"));
        assertEquals(0, log.count("-> critical (check"), "the expiry is the flip's line");
    }

    @Test
    void deregistrationIsLogged() throws Exception {
        gateway = TestGateway.start(dataDir);
        register("vision", "vision-1", 7000, null);
        assertEquals(
                200,
                TestGateway.send("DELETE", gateway.api("/v1/instances/vision-1"), null)
                        .statusCode());
        JsonNode line = log.await("deregistered");
        assertFields(line, "service", "vision", "instance", "vision-1");
    }

    @Test
    void reapedInstanceIsLoggedWithItsCheck() throws Exception {
        gateway = TestGateway.start(dataDir);
        register(
                "vision",
                "vision-1",
                7000,
                "{\"id\":\"vision-1-ttl\",\"ttl\":\"30s\",\"deregister-critical-after\":\"300ms\"}");
        JsonNode line = log.await("reaped");
        assertEquals("WARNING", line.get("level").asText());
        assertFields(line, "service", "vision", "instance", "vision-1", "check", "vision-1-ttl");
    }

    @Test
    void ejectionIsLoggedWithServiceAndInstance() throws Exception {
        gateway = TestGateway.start(dataDir, Map.of("EDGEGATE_PROXY_OUTLIER_BASE_EJECTION_TIME", "300ms"));
        int good = startBackend();
        register("llm", "llm-good", good, null);
        register("llm", "llm-dead", closedPort(), null);
        for (int i = 0; i < 20 && log.count("upstream ejected") == 0; i++) {
            CLIENT.send(
                    HttpRequest.newBuilder(gateway.api("/svc/llm/x"))
                            .POST(HttpRequest.BodyPublishers.ofString("x"))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
        }
        JsonNode ejected = log.await("upstream ejected");
        assertEquals("WARNING", ejected.get("level").asText());
        assertFields(ejected, "service", "llm", "instance", "llm-dead");
        JsonNode back = log.await("back in rotation");
        assertFields(back, "service", "llm", "instance", "llm-dead");
    }

    @Test
    void routeChangesAreLoggedWithTheRoute() throws Exception {
        gateway = TestGateway.start(dataDir);
        URI route = gateway.api("/v1/routes/llm-canary");
        String body = "{\"match\":{\"path-prefix\":\"/llm\"},\"service\":\"llm\"}";
        assertEquals(200, TestGateway.send("PUT", route, body).statusCode());
        assertFields(log.await("route added"), "route", "llm-canary", "service", "llm");
        assertEquals(
                200,
                TestGateway.send("PUT", route, body.replace("/llm", "/infer")).statusCode());
        assertFields(log.await("route changed"), "route", "llm-canary", "service", "llm");
        assertEquals(200, TestGateway.send("DELETE", route, null).statusCode());
        assertFields(log.await("route removed"), "route", "llm-canary", "service", "llm");
    }

    @Test
    void syncLinkUpAndDownAreLoggedWithTheBroker() throws Exception {
        MosquittoBroker broker = MosquittoBroker.start();
        try (JsonLogCapture link = JsonLogCapture.of("io.edgegate.bridge", PROCESS)) {
            gateway = TestGateway.start(
                    dataDir,
                    Map.of("EDGEGATE_MQTT_URL", broker.url(), "EDGEGATE_SITE", "plant-a", "EDGEGATE_NODE", "node-1"));
            JsonNode up = link.await("MQTT link up");
            assertEquals(broker.url(), up.path("broker").asText(), up.toString());
            assertEquals("edgegate-plant-a-node-1", up.path("client-id").asText(), up.toString());
            assertEquals("node-1", up.path("node").asText());
            broker.close();
            JsonNode down = link.await("MQTT link down");
            assertEquals("WARNING", down.get("level").asText());
            assertEquals(broker.url(), down.path("broker").asText(), down.toString());
            assertEquals(
                    broker.url(), link.await("cannot connect").path("broker").asText());
        } finally {
            broker.close();
        }
    }

    private static int closedPort() throws IOException {
        try (java.net.ServerSocket socket =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
