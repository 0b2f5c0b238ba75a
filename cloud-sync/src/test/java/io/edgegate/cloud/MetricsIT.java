package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.edgegate.bridge.testing.MetricsScrape;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Both services' {@code /metrics} as Prometheus scrapes them, from the packaged jars as processes
 * (mosquitto, one edge gateway behind a TCP relay the test cuts, one cloud-sync), each scrape
 * parsed by a parser that is not the writer's: a registration moves the gateway's instances and,
 * once synced, the cloud's; a failing probe moves the gateway's probe counts and its instance to
 * critical; a proxied 502 is counted by route, service and status class; a broker outage turns
 * both links down (the gateway's outbox fills, the cloud marks the node stale) and back.
 * The scenarios run in order on one rig; each reads values relative to the one before.
 */
@Tag("process")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MetricsIT {
    private static final long DEADLINE_SECONDS = 30;
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    private SyncRig rig;
    private HttpServer backend;
    private final AtomicInteger healthStatus = new AtomicInteger(200);

    @BeforeAll
    void start() throws Exception {
        backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        backend.createContext("/health", exchange -> answer(exchange, healthStatus.get()));
        backend.createContext("/fail", exchange -> answer(exchange, 502));
        backend.createContext("/ok", exchange -> answer(exchange, 200));
        backend.start();
        rig = new SyncRig(Map.of());
        rig.startCloud();
        rig.startGateway();
        await("the gateway's link up", () -> edge().value("edgegate_sync_link_up"), 1);
        await("the cloud's link up", () -> cloud().value("edgegate_sync_link_up"), 1);
    }

    @AfterAll
    void stop() throws Exception {
        if (rig != null) {
            rig.close();
        }
        if (backend != null) {
            backend.stop(0);
        }
    }

    private static void answer(HttpExchange exchange, int status) throws IOException {
        byte[] body = ("{\"status\":" + status + "}").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    // ---------------------------------------------------------------- scrapes

    /** The gateway's {@code /metrics}, with the token as Prometheus's {@code credentials_file} sends it. */
    private MetricsScrape edge() {
        return scrape(URI.create("http://127.0.0.1:" + rig.gateway().port() + "/metrics"));
    }

    /** cloud-sync's {@code /metrics}. */
    private MetricsScrape cloud() {
        return scrape(URI.create("http://127.0.0.1:" + rig.cloud(0).port() + "/metrics"));
    }

    private static MetricsScrape scrape(URI uri) {
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + SyncRig.TOKEN)
                .build();
        HttpResponse<String> answer;
        try {
            answer = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("GET " + uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals(200, answer.statusCode(), uri + ": " + answer.body());
        assertTrue(
                answer.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                uri + ": " + answer.headers());
        return MetricsScrape.parse(answer.body());
    }

    /** Scrapes until {@code value} is {@code expected}, or fails with the last value scraped. */
    private static void await(String what, java.util.function.DoubleSupplier value, double expected)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
        double last = value.getAsDouble();
        while (last != expected) {
            assertTrue(System.nanoTime() < deadline, what + ": expected " + expected + ", last scraped " + last);
            Thread.sleep(100);
            last = value.getAsDouble();
        }
    }

    private static double cloudInstances(MetricsScrape s) {
        return s.value("edgegate_cloud_instances");
    }

    private void awaitCloud(String what, ToDoubleFunction<MetricsScrape> value, double expected)
            throws InterruptedException {
        await(what, () -> value.applyAsDouble(cloud()), expected);
    }

    private void register(String service, String id, String check) {
        String body = "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":"
                + backend.getAddress().getPort() + (check == null ? "" : ",\"check\":" + check) + "}";
        HttpResponse<String> answer = rig.edge("POST", "/v1/instances", body);
        assertEquals(200, answer.statusCode(), answer.body());
    }

    // ---------------------------------------------------------------- scenarios

    @Test
    @Order(1)
    void registrationMovesTheGatewaysInstancesAndOnceSyncedTheClouds() throws Exception {
        MetricsScrape edgeBefore = edge();
        double cloudBefore = cloudInstances(cloud());
        double applied = cloud().value("edgegate_cloud_applied_total");

        register("vision", "vision-1", null);

        MetricsScrape edgeAfter = edge();
        assertEquals(1, edgeAfter.value("edgegate_registry_instances", "service", "vision", "health", "passing"));
        assertTrue(edgeAfter.value("edgegate_registry_index") > edgeBefore.value("edgegate_registry_index"));
        assertTrue(edgeAfter.histogramCount("edgegate_journal_force_duration_seconds")
                > edgeBefore.histogramCount("edgegate_journal_force_duration_seconds"));
        awaitCloud("the cloud's instances", MetricsIT::cloudInstances, cloudBefore + 1);
        assertTrue(cloud().value("edgegate_cloud_applied_total") > applied);
        assertEquals(1, cloud().value("edgegate_cloud_nodes"));
        assertEquals(1, cloud().value("edgegate_cloud_sites"));
        await(
                "the gateway's outbox emptied by the broker's acknowledgement",
                () -> edge().value("edgegate_sync_outbox_instances"),
                0);
    }

    @Test
    @Order(2)
    void failingProbeIsCountedAndTurnsItsInstanceCritical() throws Exception {
        healthStatus.set(500);
        register(
                "llm",
                "llm-1",
                "{\"http\":\"http://127.0.0.1:" + backend.getAddress().getPort()
                        + "/health\",\"interval\":\"200ms\",\"timeout\":\"2s\"}");
        await(
                "a critical HTTP probe counted",
                () -> edge().valueOr(0, "edgegate_health_probes_total", "kind", "http", "result", "critical") > 0
                        ? 1
                        : 0,
                1);
        await(
                "the instance critical",
                () -> edge().value("edgegate_registry_instances", "service", "llm", "health", "critical"),
                1);
        assertEquals(0, edge().value("edgegate_health_probes_total", "kind", "http", "result", "passing"));
        healthStatus.set(200);
        await(
                "the instance passing again",
                () -> edge().value("edgegate_registry_instances", "service", "llm", "health", "passing"),
                1);
    }

    @Test
    @Order(3)
    void proxied502IsCountedByRouteServiceAndStatusClass() throws Exception {
        assertEquals(200, rig.edge("GET", "/svc/vision/ok", null).statusCode());
        assertEquals(502, rig.edge("GET", "/svc/vision/fail", null).statusCode());

        MetricsScrape s = edge();
        assertEquals(
                1,
                s.value(
                        "edgegate_proxy_requests_total",
                        "route",
                        "svc:vision",
                        "service",
                        "vision",
                        "status_class",
                        "5xx"));
        assertEquals(
                1,
                s.value(
                        "edgegate_proxy_requests_total",
                        "route",
                        "svc:vision",
                        "service",
                        "vision",
                        "status_class",
                        "2xx"));
        assertEquals(2, s.histogramCount("edgegate_proxy_upstream_duration_seconds", "service", "vision"));
        assertEquals(1, s.value("edgegate_proxy_upstream_failures_total", "service", "vision"));
    }

    @Test
    @Order(4)
    void brokerOutageTurnsBothLinksDownFillsTheOutboxAndMarksTheNodeStale() throws Exception {
        double losses = edge().value("edgegate_sync_link_losses_total");
        rig.relay().cut();
        await("the gateway's link down", () -> edge().value("edgegate_sync_link_up"), 0);
        assertTrue(edge().value("edgegate_sync_link_losses_total") > losses);
        awaitCloud("the node stale (its will)", s -> s.value("edgegate_cloud_stale_nodes"), 1);
        register("vision", "vision-2", null);
        MetricsScrape down = edge();
        assertEquals(1, down.value("edgegate_sync_outbox_instances"));
        assertTrue(down.value("edgegate_sync_acknowledged_lag") >= 1);

        rig.relay().restore();
        await("the gateway's link up again", () -> edge().value("edgegate_sync_link_up"), 1);
        await("the outbox flushed", () -> edge().value("edgegate_sync_outbox_instances"), 0);
        awaitCloud("the node back", s -> s.value("edgegate_cloud_stale_nodes"), 0);

        rig.broker().close();
        awaitCloud("the cloud's link down", s -> s.value("edgegate_sync_link_up"), 0);
        await("the gateway's link down with the broker", () -> edge().value("edgegate_sync_link_up"), 0);
        assertTrue(cloud().value("edgegate_sync_link_losses_total") >= 1);
    }
}
