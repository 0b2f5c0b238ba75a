package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.FaultyBackend;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's traffic per service in {@code GET /v1/services} ({@code proxy}: requests, failures,
 * unavailable, in-flight), through a real gateway to real backends.
 */
class ServiceTrafficTest {
    @TempDir
    Path dir;

    private TestGateway gateway;
    private Backend backend;

    @BeforeEach
    void start() {
        gateway = TestGateway.start(dir);
        backend = new Backend("a");
    }

    @AfterEach
    void stop() {
        backend.close();
        gateway.close();
    }

    private void register(String service, String id, int port) {
        HttpResponse<String> res = TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":" + port
                        + "}");
        assertEquals(200, res.statusCode(), res.body());
    }

    private HttpResponse<String> proxied(String path) {
        return TestGateway.sendAs(null, "GET", gateway.api(path), null);
    }

    private JsonNode traffic(String service) throws Exception {
        JsonNode list = ProxyJson.MAPPER.readTree(
                TestGateway.send("GET", gateway.api("/v1/services"), null).body());
        for (JsonNode s : list.get("services")) {
            if (s.get("service").asText().equals(service)) {
                return s.get("proxy");
            }
        }
        throw new AssertionError("no service " + service + " in " + list);
    }

    @Test
    void requestsForwardedToAServiceAreCounted() throws Exception {
        register("shop", "shop-1", backend.port());
        for (int i = 0; i < 3; i++) {
            assertEquals(200, proxied("/svc/shop/x").statusCode());
        }

        JsonNode traffic = traffic("shop");

        assertEquals(3, traffic.get("requests").asLong(), traffic.toString());
        assertEquals(0, traffic.get("failures").asLong(), traffic.toString());
        assertEquals(0, traffic.get("unavailable").asLong(), traffic.toString());
        assertEquals(0, traffic.get("in-flight").asLong(), traffic.toString());
    }

    @Test
    void serviceNotRoutedToYetHasZeros() throws Exception {
        register("idle", "idle-1", backend.port());

        JsonNode traffic = traffic("idle");

        assertEquals("{\"requests\":0,\"failures\":0,\"unavailable\":0,\"in-flight\":0}", traffic.toString());
    }

    @Test
    void upstreamFailuresAreCountedForTheirService() throws Exception {
        try (FaultyBackend dead = new FaultyBackend(ProxyTesting.Fault.REFUSE)) {
            register("broken", "broken-1", dead.port());

            assertEquals(502, proxied("/svc/broken/x").statusCode());

            JsonNode traffic = traffic("broken");
            assertEquals(1, traffic.get("requests").asLong(), traffic.toString());
            assertEquals(1, traffic.get("failures").asLong(), traffic.toString());
        }
    }

    @Test
    void badGatewayAnswerOfAnInstanceIsCountedAFailure() throws Exception {
        register("flaky", "flaky-1", backend.port());
        backend.failWith = 502;

        assertEquals(502, proxied("/svc/flaky/x").statusCode());

        JsonNode traffic = traffic("flaky");
        assertEquals(1, traffic.get("requests").asLong(), traffic.toString());
        assertEquals(1, traffic.get("failures").asLong(), traffic.toString());
    }

    @Test
    void requestsWithoutAHealthyInstanceAreCountedUnavailable() throws Exception {
        register("down", "down-1", backend.port());
        assertEquals(
                200,
                TestGateway.send("PUT", gateway.api("/v1/instances/down-1/maintenance?enable=true"), null)
                        .statusCode());

        assertEquals(503, proxied("/svc/down/x").statusCode());

        JsonNode traffic = traffic("down");
        assertEquals(1, traffic.get("unavailable").asLong(), traffic.toString());
        assertEquals(0, traffic.get("requests").asLong(), traffic.toString());
    }

    @Test
    void requestInFlightIsCountedUntilItsAnswer() throws Exception {
        register("slow", "slow-1", backend.port());
        CompletableFuture<HttpResponse<String>> slow =
                CompletableFuture.supplyAsync(() -> proxied("/svc/slow/slow?ms=1500"));
        assertTrue(backend.slowStarted.await(10, TimeUnit.SECONDS));

        assertEquals(1, traffic("slow").get("in-flight").asLong());

        assertEquals(200, slow.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(0, traffic("slow").get("in-flight").asLong());
    }
}
