package io.edgegate.gateway.metrics;

import static io.edgegate.bridge.testing.MetricsTokens.METRICS;
import static io.edgegate.bridge.testing.MetricsTokens.READER;
import static io.edgegate.bridge.testing.MetricsTokens.awaitValue;
import static io.edgegate.bridge.testing.MetricsTokens.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.edgegate.bridge.testing.MetricsScrape;
import io.edgegate.bridge.testing.MetricsTokens;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.gateway.TestGateway;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.hawkular.agent.prometheus.types.MetricType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway's {@code /metrics}, scraped over HTTP as Prometheus does ({@code Authorization:
 * Bearer} with a metrics-only token) and parsed by an independent parser: values move with what
 * the gateway does (a registration, a failing probe, a proxied 502, a broker outage), the Consul
 * listener serves the same in both of Consul's shapes, and nothing is served without the right.
 */
class GatewayMetricsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    @TempDir
    Path dir;

    private TestGateway gateway;
    private HttpServer backend;
    private MosquittoBroker broker;
    private final AtomicInteger healthStatus = new AtomicInteger(200);

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (backend != null) {
            backend.stop(0);
        }
        if (broker != null) {
            broker.close();
        }
    }

    /**
     * A gateway whose token file has the management token, a metrics-only token (the README's
     * policy: {@code agent: read} alone) and a catalog reader without it.
     */
    private TestGateway start(Map<String, String> env) throws IOException {
        Map<String, String> all = new HashMap<>(env);
        all.put("EDGEGATE_ACL_TOKENS_FILE", MetricsTokens.writeAclFile(dir).toString());
        gateway = TestGateway.start(dir.resolve("data"), all);
        TestGateway.rememberToken(gateway.gateway().port(), MetricsTokens.MANAGEMENT);
        TestGateway.rememberToken(gateway.gateway().consulPort(), MetricsTokens.MANAGEMENT);
        return gateway;
    }

    private MetricsScrape scrape() {
        return MetricsTokens.scrape(gateway.api("/metrics"));
    }

    private int startBackend() throws IOException {
        backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        backend.createContext("/health", exchange -> answer(exchange, healthStatus.get()));
        backend.createContext("/fail", exchange -> answer(exchange, 502));
        backend.createContext("/ok", exchange -> answer(exchange, 200));
        backend.createContext("/missing", exchange -> answer(exchange, 404));
        backend.start();
        return backend.getAddress().getPort();
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status) throws IOException {
        byte[] body = ("{\"status\":" + status + "}").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private void register(String service, String id, int port, String check) {
        String body = "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":"
                + port + (check == null ? "" : ",\"check\":" + check) + "}";
        HttpResponse<String> answer = TestGateway.send("POST", gateway.api("/v1/instances"), body);
        assertEquals(200, answer.statusCode(), answer.body());
    }

    @Test
    void scrapeWithoutTheAgentReadRightIsRefused() throws Exception {
        start(Map.of());
        HttpResponse<String> none = get(gateway.api("/metrics"), null);
        assertEquals(403, none.statusCode(), none.body());
        assertTrue(none.body().contains("agent:read"), none.body());
        HttpResponse<String> reader = get(gateway.api("/metrics"), READER);
        assertEquals(403, reader.statusCode(), reader.body());
        HttpResponse<String> consul = get(gateway.consul("/v1/agent/metrics"), READER);
        assertEquals(403, consul.statusCode(), consul.body());
        assertTrue(consul.body().startsWith("Permission denied"), consul.body());
        assertTrue(consul.body().contains("'agent:read'"), consul.body());
        HttpResponse<String> unknown = get(gateway.api("/metrics"), "nobody-issued-this-token-0123");
        assertEquals(403, unknown.statusCode(), unknown.body());
    }

    @Test
    void registrationMovesInstancesByServiceAndHealthAndTheJournal() throws Exception {
        start(Map.of());
        MetricsScrape before = scrape();
        double index = before.value("edgegate_registry_index");
        long batches = before.histogramCount("edgegate_journal_write_batch_records");

        register("vision", "vision-1", 7000, "{\"ttl\":\"30s\"}");
        MetricsScrape registered = scrape();
        assertEquals(MetricType.GAUGE, registered.type("edgegate_registry_instances"));
        assertEquals(1, registered.value("edgegate_registry_instances", "service", "vision", "health", "critical"));
        assertEquals(0, registered.value("edgegate_registry_instances", "service", "vision", "health", "passing"));
        assertTrue(registered.value("edgegate_registry_index") > index);
        assertTrue(registered.histogramCount("edgegate_journal_write_batch_records") > batches);
        assertTrue(registered.histogramCount("edgegate_journal_force_duration_seconds") > batches);
        assertTrue(registered.value("edgegate_journal_records_total") >= 1);

        assertEquals(
                200,
                TestGateway.send("PUT", gateway.api("/v1/instances/vision-1/heartbeat"), null)
                        .statusCode());
        MetricsScrape passing = scrape();
        assertEquals(1, passing.value("edgegate_registry_instances", "service", "vision", "health", "passing"));
        assertEquals(0, passing.value("edgegate_registry_instances", "service", "vision", "health", "critical"));
    }

    @Test
    void unchangedReRegistrationIsCountedAndWritesNoRecord() throws Exception {
        start(Map.of());
        register("vision", "vision-1", 7000, "{\"ttl\":\"30s\"}");
        MetricsScrape before = scrape();
        register("vision", "vision-1", 7000, "{\"ttl\":\"30s\"}");
        MetricsScrape after = scrape();
        assertEquals(
                before.value("edgegate_registry_unchanged_registrations_total") + 1,
                after.value("edgegate_registry_unchanged_registrations_total"));
        assertEquals(before.value("edgegate_journal_records_total"), after.value("edgegate_journal_records_total"));
    }

    @Test
    void failingProbeIsCountedByKindAndResult() throws Exception {
        start(Map.of());
        int port = startBackend();
        healthStatus.set(500);
        register(
                "llm",
                "llm-1",
                port,
                "{\"http\":\"http://127.0.0.1:" + port + "/health\",\"interval\":\"100ms\",\"timeout\":\"1s\"}");
        awaitValue(
                "critical HTTP probes",
                () -> scrape().valueOr(0, "edgegate_health_probes_total", "kind", "http", "result", "critical") >= 2
                        ? 1
                        : 0,
                1);
        MetricsScrape scrape = scrape();
        assertEquals(0, scrape.value("edgegate_health_probes_total", "kind", "http", "result", "passing"));
        assertEquals(1, scrape.value("edgegate_registry_instances", "service", "llm", "health", "critical"));
        healthStatus.set(200);
        awaitValue(
                "the instance passing once its probe passes",
                () -> scrape().value("edgegate_registry_instances", "service", "llm", "health", "passing"),
                1);
        assertTrue(scrape().value("edgegate_health_probes_total", "kind", "http", "result", "passing") >= 1);
    }

    @Test
    void proxied502IsCountedByRouteServiceAndStatusClass() throws Exception {
        start(Map.of());
        int port = startBackend();
        register("llm", "llm-1", port, null);
        assertEquals(200, get(gateway.api("/svc/llm/ok"), null).statusCode());
        assertEquals(502, get(gateway.api("/svc/llm/fail"), null).statusCode());
        assertEquals(502, get(gateway.api("/svc/llm/fail"), null).statusCode());

        MetricsScrape scrape = scrape();
        String[] route = {"route", "svc:llm", "service", "llm"};
        assertEquals(2, scrape.value("edgegate_proxy_requests_total", with(route, "status_class", "5xx")));
        assertEquals(1, scrape.value("edgegate_proxy_requests_total", with(route, "status_class", "2xx")));
        assertEquals(0, scrape.value("edgegate_proxy_requests_total", with(route, "status_class", "4xx")));
        assertEquals(3, scrape.histogramCount("edgegate_proxy_upstream_duration_seconds", "service", "llm"));
        assertEquals(3, scrape.value("edgegate_proxy_upstream_requests_total", "service", "llm"));
        assertEquals(2, scrape.value("edgegate_proxy_upstream_failures_total", "service", "llm"));
        assertEquals(0, scrape.value("edgegate_proxy_requests_in_flight", "service", "llm"));
        assertTrue(scrape.value("edgegate_proxy_upstream_connections_opened_total") >= 1);
        assertTrue(scrape.value("edgegate_proxy_upstream_connections_reused_total") >= 1);
    }

    /**
     * The same proxied requests are counted alike whichever server read them: the proxy's lean
     * connection handler (the default) or Helidon's request path ({@code lean-connections: false}).
     * An upstream's 200, 404 and 502 relayed, and the proxy's own 400 for a model-routed request
     * that names no model.
     */
    @ParameterizedTest(name = "lean connections: {0}")
    @ValueSource(booleans = {true, false})
    void proxiedAnswersAreCountedAlikeOnTheLeanAndHelidonPaths(boolean lean) throws Exception {
        start(Map.of("EDGEGATE_PROXY_LEAN_CONNECTIONS", Boolean.toString(lean)));
        int port = startBackend();
        register("llm", "llm-1", port, null);
        assertEquals(200, get(gateway.api("/svc/llm/ok"), null).statusCode());
        assertEquals(404, get(gateway.api("/svc/llm/missing"), null).statusCode());
        assertEquals(502, get(gateway.api("/svc/llm/fail"), null).statusCode());
        HttpResponse<String> noModel = CLIENT.send(
                HttpRequest.newBuilder(gateway.api("/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[]}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, noModel.statusCode(), noModel.body());

        JsonNode proxy = JSON.readTree(
                        TestGateway.send("GET", gateway.api("/v1/status"), null).body())
                .get("proxy");
        assertEquals(lean ? 4 : 0, proxy.get("lean-requests").asLong(), proxy.toString());
        MetricsScrape scrape = scrape();
        // the lean handler's own counters: its four requests; the scrapes and /v1/status it handed to Helidon
        assertEquals(lean ? 4 : 0, scrape.value("edgegate_proxy_lean_requests_total"));
        double handedOff = scrape.value("edgegate_proxy_lean_handed_off_total");
        assertTrue(lean ? handedOff >= 1 : handedOff == 0, "connections handed to Helidon: " + handedOff);
        String[] route = {"route", "svc:llm", "service", "llm"};
        assertEquals(1, scrape.value("edgegate_proxy_requests_total", with(route, "status_class", "2xx")));
        assertEquals(1, scrape.value("edgegate_proxy_requests_total", with(route, "status_class", "4xx")));
        assertEquals(1, scrape.value("edgegate_proxy_requests_total", with(route, "status_class", "5xx")));
        String[] model = {"route", "model"};
        assertEquals(1, scrape.value("edgegate_proxy_requests_total", with(model, "status_class", "4xx")));
        assertEquals(0, scrape.value("edgegate_proxy_requests_total", with(model, "status_class", "2xx")));
        assertEquals(3, scrape.histogramCount("edgegate_proxy_upstream_duration_seconds", "service", "llm"));
    }

    /** With {@code lean-platform-threads} set, a proxied request's connection is counted as served by a platform thread. */
    @Test
    void leanConnectionsOnPlatformThreadsAreCounted() throws Exception {
        start(Map.of("EDGEGATE_PROXY_LEAN_PLATFORM_THREADS", "4", "EDGEGATE_PROXY_EVENT_LOOPS", "0"));
        int port = startBackend();
        register("llm", "llm-1", port, null);
        assertEquals(200, get(gateway.api("/svc/llm/ok"), null).statusCode());

        MetricsScrape scrape = scrape();
        assertEquals(1, scrape.value("edgegate_proxy_lean_requests_total"));
        double onPlatform = scrape.value("edgegate_proxy_lean_platform_thread_connections_total");
        assertTrue(onPlatform >= 1, "connections on platform threads: " + onPlatform);
        assertEquals(0, scrape.value("edgegate_proxy_lean_platform_threads_busy_total"));
    }

    /** With {@code event-loops} set, a proxied request's connection is counted as served by an event loop. */
    @Test
    void leanConnectionsOnEventLoopsAreCounted() throws Exception {
        start(Map.of("EDGEGATE_PROXY_EVENT_LOOPS", "1"));
        int port = startBackend();
        register("llm", "llm-1", port, null);
        assertEquals(200, get(gateway.api("/svc/llm/ok"), null).statusCode());

        MetricsScrape scrape = scrape();
        assertEquals(1, scrape.value("edgegate_proxy_lean_requests_total"));
        // the registration, answered by the lean connection itself
        assertEquals(1, scrape.value("edgegate_proxy_lean_api_requests_total"));
        double onLoops = scrape.value("edgegate_proxy_lean_event_loop_connections_total");
        assertTrue(onLoops >= 1, "connections on event loops: " + onLoops);
        assertEquals(0, scrape.value("edgegate_proxy_lean_platform_thread_connections_total"));
    }

    private static String[] with(String[] labels, String name, String value) {
        String[] all = java.util.Arrays.copyOf(labels, labels.length + 2);
        all[labels.length] = name;
        all[labels.length + 1] = value;
        return all;
    }

    @Test
    void consulListenerServesTheSameMetricsInBothOfConsulsShapes() throws Exception {
        start(Map.of());
        register("vision", "vision-1", 7000, null);

        HttpResponse<String> text = get(gateway.consul("/v1/agent/metrics?format=prometheus"), METRICS);
        assertEquals(200, text.statusCode(), text.body());
        MetricsScrape scrape = MetricsScrape.parse(text.body());
        assertEquals(1, scrape.value("edgegate_registry_instances", "service", "vision", "health", "passing"));

        HttpResponse<String> json = get(gateway.consul("/v1/agent/metrics"), METRICS);
        assertEquals(200, json.statusCode(), json.body());
        JsonNode body = JSON.readTree(json.body());
        for (String field : new String[] {"Timestamp", "Gauges", "Points", "Counters", "Samples"}) {
            assertTrue(body.has(field), field + " in " + json.body());
        }
        boolean found = false;
        for (JsonNode gauge : body.get("Gauges")) {
            if (gauge.get("Name").asText().equals("edgegate_registry_instances")
                    && gauge.get("Labels").get("service").asText().equals("vision")
                    && gauge.get("Labels").get("health").asText().equals("passing")) {
                assertEquals(1, gauge.get("Value").asDouble());
                found = true;
            }
        }
        assertTrue(found, json.body());
    }

    @Test
    void metricsOffAnswer404OnBothListeners() throws Exception {
        start(Map.of("EDGEGATE_METRICS_ENABLED", "false"));
        HttpResponse<String> metrics = get(gateway.api("/metrics"), METRICS);
        assertEquals(404, metrics.statusCode(), metrics.body());
        assertTrue(metrics.body().contains("edgegate.metrics.enabled=false"), metrics.body());
        assertEquals(404, get(gateway.consul("/v1/agent/metrics"), METRICS).statusCode());
    }

    @Test
    void brokerOutageTurnsTheLinkDownAndFillsTheOutbox() throws Exception {
        broker = MosquittoBroker.start();
        start(Map.of("EDGEGATE_MQTT_URL", broker.url(), "EDGEGATE_SITE", "plant-a", "EDGEGATE_NODE", "node-1"));
        awaitValue("link up", () -> scrape().value("edgegate_sync_link_up"), 1);
        register("vision", "vision-1", 7000, null);
        awaitValue("change acknowledged", () -> scrape().value("edgegate_sync_outbox_instances"), 0);
        assertTrue(scrape().value("edgegate_sync_published_total") >= 1);

        broker.close();
        broker = null;
        awaitValue("link down", () -> scrape().value("edgegate_sync_link_up"), 0);
        assertEquals(1, scrape().value("edgegate_sync_link_losses_total"));
        register("vision", "vision-2", 7001, null);
        MetricsScrape down = scrape();
        assertEquals(1, down.value("edgegate_sync_outbox_instances"));
        assertTrue(down.value("edgegate_sync_acknowledged_lag") >= 1);
    }
}
