package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Active health checking end to end: a real gateway probes real backends on ephemeral ports that
 * the tests start, stop, stall and flip, and routing follows.
 */
class HealthCheckingTest {
    @TempDir
    Path dataDir;

    private TestGateway gateway;
    private HttpServer backend;
    private final AtomicInteger status = new AtomicInteger(200);
    private final AtomicInteger delayMillis = new AtomicInteger();

    @AfterEach
    void stop() {
        if (backend != null) {
            backend.stop(0);
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    private int startBackend(int port) throws IOException {
        backend = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        backend.createContext("/health", exchange -> {
            try {
                Thread.sleep(delayMillis.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = ("{\"status\":" + status.get() + "}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status.get(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        backend.start();
        return backend.getAddress().getPort();
    }

    private Registry registry() {
        return gateway.gateway().registry();
    }

    private void register(String id, int port, String checkJson) {
        String body = "{\"service\":\"llm\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":" + port
                + ",\"check\":" + checkJson + "}";
        HttpResponse<String> response = TestGateway.send("POST", gateway.api("/v1/instances"), body);
        assertEquals(200, response.statusCode(), response.body());
    }

    private static String http(int port, String interval, String timeout, String extra) {
        return "{\"http\":\"http://127.0.0.1:" + port + "/health\",\"interval\":\"" + interval + "\",\"timeout\":\""
                + timeout + "\"" + extra + "}";
    }

    /** Polls until the condition holds; returns the milliseconds it took. */
    private static long await(BooleanSupplier condition, long timeoutMillis, String what) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(5);
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    private Health health(String id) {
        Instance instance = registry().instance(id);
        return instance == null ? null : instance.health();
    }

    private int routable() {
        return registry().service("llm") == null ? 0 : registry().service("llm").routableCount();
    }

    @Test
    void modelStillLoadingGetsNoTrafficUntilItsCheckPasses() throws Exception {
        gateway = TestGateway.start(dataDir);
        status.set(503);
        int port = startBackend(0);
        register("llm-1", port, http(port, "200ms", "500ms", ""));
        Thread.sleep(600);
        assertEquals(0, routable(), "registered but not ready: no traffic");
        status.set(200);
        await(() -> routable() == 1, 15_000, "routable after the model loaded");
    }

    @Test
    void deadBackendLeavesRoutingWithinIntervalPlusTimeout() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend(0);
        register("llm-1", port, http(port, "300ms", "200ms", ""));
        await(() -> routable() == 1, 15_000, "first pass");
        backend.stop(0);
        backend = null;
        long tookMillis = await(() -> routable() == 0, 15_000, "removal from routing");
        // interval + timeout (500 ms), plus the timer tick and generous slack for a loaded machine:
        // the bound that matters is far below what a probe that never times out would take.
        assertTrue(tookMillis <= 3_000, "death noticed after " + tookMillis + " ms");
        assertEquals(Health.CRITICAL, health("llm-1"));
    }

    @Test
    void stalledBackendIsCriticalAtItsTimeout() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend(0);
        register("llm-1", port, http(port, "200ms", "150ms", ""));
        await(() -> routable() == 1, 15_000, "first pass");
        delayMillis.set(2_000);
        await(() -> health("llm-1") == Health.CRITICAL, 15_000, "timeout makes it critical");
        String output = registry().instance("llm-1").checks().get(0).output();
        assertTrue(!output.isEmpty(), "the check says why");
    }

    @Test
    void thresholdsHoldStatusUntilReachedBothWays() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend(0);
        register(
                "llm-1",
                port,
                http(port, "100ms", "500ms", ",\"success-before-passing\":3,\"failures-before-critical\":3"));
        await(() -> health("llm-1") == Health.PASSING, 15_000, "three passes");
        status.set(500);
        long toCritical = await(() -> health("llm-1") == Health.CRITICAL, 15_000, "three failures");
        assertTrue(toCritical >= 150, "one failure must not flip it (" + toCritical + " ms)");
        status.set(200);
        long toPassing = await(() -> health("llm-1") == Health.PASSING, 15_000, "three passes again");
        assertTrue(toPassing >= 150, "one pass must not flip it (" + toPassing + " ms)");
    }

    @Test
    void http429IsWarningAndStillRoutable() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend(0);
        status.set(429);
        register("llm-1", port, http(port, "100ms", "500ms", ""));
        await(() -> health("llm-1") == Health.WARNING, 15_000, "warning");
        assertEquals(1, routable());
    }

    @Test
    void ttlLeaseExpiresOneTtlAfterTheLastHeartbeat() throws Exception {
        gateway = TestGateway.start(dataDir);
        register("llm-1", 9000, "{\"ttl\":\"500ms\"}");
        // Timed from before the heartbeat is sent: the lease starts when the gateway receives it,
        // which on a loaded machine may be well after this thread sent it.
        long start = System.nanoTime();
        assertEquals(
                200,
                TestGateway.send("PUT", gateway.api("/v1/instances/llm-1/heartbeat"), null)
                        .statusCode());
        await(() -> health("llm-1") == Health.CRITICAL, 15_000, "lease expiry");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMillis >= 500 && tookMillis <= 5_000, "critical " + tookMillis + " ms after a 500 ms lease");
    }

    @Test
    void deadInstanceIsDeregisteredAfterDeregisterCriticalServiceAfter() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend(0);
        register("llm-1", port, http(port, "100ms", "100ms", ",\"deregister-critical-after\":\"2s\""));
        await(() -> health("llm-1") == Health.PASSING, 15_000, "first pass");
        backend.stop(0);
        backend = null;
        await(() -> health("llm-1") == Health.CRITICAL, 15_000, "critical");
        Thread.sleep(300);
        assertNotNull(registry().instance("llm-1"), "still there before its time");
        await(() -> registry().instance("llm-1") == null, 15_000, "reaped");
    }

    @Test
    void restartRestoresLastHealthAndResumesProbing() throws Exception {
        gateway = TestGateway.start(dataDir);
        int port = startBackend(0);
        register("llm-1", port, http(port, "100ms", "200ms", ""));
        await(() -> routable() == 1, 15_000, "first pass");
        gateway.close();
        gateway = TestGateway.start(dataDir);
        assertEquals(1, routable(), "routing works at once after a restart, before any probe");
        backend.stop(0);
        backend = null;
        await(() -> routable() == 0, 15_000, "probing resumed after the restart");
    }

    @Test
    void consulDeregisterWithNoTrafficIsImmediate() throws Exception {
        gateway = TestGateway.start(dataDir);
        register("llm-1", 9000, "{\"ttl\":\"10s\"}");
        HttpResponse<String> response =
                TestGateway.send("PUT", gateway.consul("/v1/agent/service/deregister/llm-1"), null);
        assertEquals(200, response.statusCode(), response.body());
        assertNull(registry().instance("llm-1"));
    }
}
