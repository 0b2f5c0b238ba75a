package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.health.ScriptedHttpServer.Reply;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Check targets a gateway accepts: those in {@code edgegate.health.allowed-check-networks}
 * ({@code 127.0.0.0/8} here) beside the instance's own address, over both APIs, and host names
 * (judged at each probe, not at registration). An accepted check in an allowed network is probed.
 */
class AllowedCheckNetworksTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path dataDir;

    private static TestGateway gateway;

    @BeforeAll
    static void start() {
        gateway = TestGateway.start(dataDir, Map.of("EDGEGATE_HEALTH_ALLOWED_CHECK_NETWORKS", "127.0.0.0/8"));
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @Test
    void nativeCheckInAnAllowedNetworkIsAccepted() {
        HttpResponse<String> res = TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"web\",\"id\":\"web-1\",\"address\":\"10.1.2.3\",\"port\":80,\"check\":{\"http\":"
                        + "\"http://127.0.0.1:" + gateway.gateway().port() + "/v1/status\",\"interval\":\"1h\"}}");

        assertEquals(200, res.statusCode(), res.body());
    }

    @Test
    void consulCheckInAnAllowedNetworkIsAccepted() {
        HttpResponse<String> res = TestGateway.send(
                "PUT",
                gateway.consul("/v1/agent/service/register"),
                "{\"Name\":\"web\",\"ID\":\"web-2\",\"Address\":\"10.1.2.3\",\"Port\":80,\"Check\":{\"TCP\":"
                        + "\"127.0.0.1:" + gateway.gateway().port() + "\",\"Interval\":\"1h\"}}");

        assertEquals(200, res.statusCode(), res.body());
    }

    @Test
    void hostNameTargetIsAcceptedAtRegistration() {
        HttpResponse<String> res = TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"web\",\"id\":\"web-3\",\"address\":\"10.1.2.3\",\"port\":80,\"check\":{\"http\":"
                        + "\"http://health.example.invalid/health\",\"interval\":\"1h\"}}");

        assertEquals(200, res.statusCode(), res.body());
    }

    @Test
    void checkInAnAllowedNetworkIsProbedToPassing() throws Exception {
        try (ScriptedHttpServer backend = new ScriptedHttpServer(line -> Reply.ok("up"))) {
            HttpResponse<String> res = TestGateway.send(
                    "POST",
                    gateway.api("/v1/instances"),
                    "{\"service\":\"web\",\"id\":\"web-4\",\"address\":\"10.1.2.3\",\"port\":80,\"check\":{\"http\":"
                            + "\"http://127.0.0.1:" + backend.port() + "/health\",\"interval\":\"200ms\"}}");
            assertEquals(200, res.statusCode(), res.body());

            JsonNode instance = null;
            for (int i = 0; i < 100; i++) {
                instance = MAPPER.readTree(TestGateway.send("GET", gateway.api("/v1/instances/web-4"), null)
                        .body());
                if (instance.path("health").asText().equals("passing")) {
                    break;
                }
                Thread.sleep(100);
            }

            assertEquals("passing", instance.path("health").asText(), instance.toString());
            assertTrue(backend.requests.get() >= 1);
        }
    }
}
