package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the registry's graceful drain relies on: the proxy counts requests in flight per instance. */
class DrainTest {
    @TempDir
    Path dir;

    @Test
    void inFlightCountsASlowRequestUntilItEnds() throws Exception {
        try (Harness h = Harness.start(dir);
                Backend slow = new Backend("slow")) {
            h.register("svc", "slow-1", slow.port());
            assertEquals(0, h.proxy.inFlight("slow-1"));

            CompletableFuture<HttpResponse<String>> request =
                    CompletableFuture.supplyAsync(() -> ProxyTesting.get(h.uri("/svc/svc/slow?ms=800")));
            assertTrue(slow.slowStarted.await(5, TimeUnit.SECONDS));
            assertEquals(1, h.proxy.inFlight("slow-1"));

            // Out of routing (as a draining instance is): new requests get 503, the one in flight ends well.
            h.maintenance("slow-1", true);
            assertEquals(503, ProxyTesting.get(h.uri("/svc/svc/x")).statusCode());
            assertEquals(1, h.proxy.inFlight("slow-1"));

            HttpResponse<String> res = request.get(10, TimeUnit.SECONDS);
            assertEquals(200, res.statusCode());
            assertEquals("slow", res.body());
            // the proxy's thread counts down just after the client has the last byte
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (h.proxy.inFlight("slow-1") != 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(0, h.proxy.inFlight("slow-1"));
            assertEquals(0, h.proxy.inFlight("unknown-id"));
            assertEquals(2, h.lean.requests(), "served by the lean connection handler");
        }
    }

    @Test
    void deregisteredInstanceFinishesItsRequestInFlight() throws Exception {
        try (TestGateway gateway = TestGateway.start(dir);
                Backend slow = new Backend("slow")) {
            HttpResponse<String> registered = TestGateway.send(
                    "POST",
                    gateway.api("/v1/instances"),
                    "{\"service\":\"svc\",\"id\":\"slow-1\",\"address\":\"127.0.0.1\",\"port\":" + slow.port() + "}");
            assertEquals(200, registered.statusCode(), registered.body());
            CompletableFuture<HttpResponse<String>> request =
                    CompletableFuture.supplyAsync(() -> ProxyTesting.get(gateway.api("/svc/svc/slow?ms=1000")));
            assertTrue(slow.slowStarted.await(5, TimeUnit.SECONDS));

            long started = System.nanoTime();
            CompletableFuture<HttpResponse<String>> deregistration = CompletableFuture.supplyAsync(
                    () -> TestGateway.send("DELETE", gateway.api("/v1/instances/slow-1"), null));
            // Draining: out of routing at once, while its request goes on.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            int status;
            while ((status = ProxyTesting.get(gateway.api("/svc/svc/x")).statusCode()) != 503
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(503, status, "a draining instance takes no new request");

            HttpResponse<String> res = request.get(10, TimeUnit.SECONDS);
            assertEquals(200, res.statusCode());
            assertEquals("slow", res.body());
            assertEquals(200, deregistration.get(10, TimeUnit.SECONDS).statusCode());
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(tookMillis >= 300, "the deregistration waited for the request: " + tookMillis + " ms");
        }
    }
}
