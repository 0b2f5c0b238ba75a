package io.edgegate.cloud.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.JsonLogCapture;
import io.edgegate.bridge.testing.MetricsScrape;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.cloud.CloudSync;
import io.edgegate.cloud.CloudSyncConfig;
import io.edgegate.cloud.Fleet;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cloud-sync's {@code /metrics}, scraped over HTTP with a metrics-only token ({@code Authorization:
 * Bearer}) and parsed by an independent parser, against a mosquitto process with edge nodes played
 * by {@link EdgeLink}: the fleet's shape moves as nodes publish, die and come back, the broker
 * link's state with a broker outage; the node events are logged with their fields.
 */
class CloudMetricsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MANAGEMENT = "management-token-0123456789";
    private static final String METRICS = "metrics-token-0123456789abcdef";
    private static final String READER = "reader-token-0123456789abcdef";
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    @TempDir
    Path dir;

    private MosquittoBroker broker;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void startBroker() throws Exception {
        broker = MosquittoBroker.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    private CloudSync replica(Map<String, String> env) throws Exception {
        Path acl = dir.resolve("acl.yaml");
        Files.writeString(acl, """
                policies:
                  metrics: {agent: read}
                  catalog: {service-prefix: {"": read}, node: read}
                tokens:
                  - {secret: %s, policies: [global-management]}
                  - {secret: %s, policies: [metrics]}
                  - {secret: %s, policies: [catalog]}
                """.formatted(MANAGEMENT, METRICS, READER));
        Map<String, String> all = new HashMap<>(env);
        all.put("CLOUDSYNC_ACL_TOKENS_FILE", acl.toString());
        CloudSync cloud = CloudSync.start(CloudSyncConfig.load(all, (Path) null).toBuilder()
                .ports(0, 0)
                .mqtt(LinkOptions.builder(broker.url(), "cloud-1")
                        .backoff(20, 200)
                        .keepAliveSeconds(2)
                        .build())
                .build());
        closeables.add(cloud);
        assertTrue(
                cloud.link().link().awaitConnected(15_000), cloud.link().link().lastError());
        return cloud;
    }

    private EdgeLink edge(String site, String node) throws Exception {
        EdgeLink link = EdgeLink.start(
                LinkOptions.builder(broker.url(), "edge-" + site + "-" + node)
                        .backoff(20, 200)
                        .keepAliveSeconds(2)
                        .build(),
                new Topics(site, node),
                "10.0.0.2",
                1,
                new EdgeLink.Handler() {
                    @Override
                    public void onConnected() {}

                    @Override
                    public void onResync(ResyncCommand command) {}

                    @Override
                    public void onConfig(ConfigPush push, boolean siteWide) {}

                    @Override
                    public void onConfigRemoved(ConfigRemoved removed, boolean siteWide) {}
                });
        closeables.add(link);
        assertTrue(link.link().awaitConnected(15_000), link.link().lastError());
        return link;
    }

    private static void publish(EdgeLink edge, String service, String id, long index) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        InstanceState state =
                new InstanceState(service, id, "10.0.0.5", 8000, List.of(), Map.of(), SyncHealth.PASSING, 1, index, 0);
        assertEquals(MqttLink.Send.SENT, edge.publishState(state, ok -> done.countDown()));
        assertTrue(done.await(10, TimeUnit.SECONDS));
    }

    private static HttpResponse<String> get(URI uri, String bearer) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static MetricsScrape scrape(CloudSync cloud) {
        try {
            HttpResponse<String> answer = get(URI.create("http://127.0.0.1:" + cloud.port() + "/metrics"), METRICS);
            assertEquals(200, answer.statusCode(), answer.body());
            return MetricsScrape.parse(answer.body());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void await(String what, DoubleSupplier value, double expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        double last = value.getAsDouble();
        while (last != expected) {
            assertTrue(System.nanoTime() < deadline, what + ": expected " + expected + ", last scraped " + last);
            Thread.sleep(50);
            last = value.getAsDouble();
        }
    }

    @Test
    void fleetShapeMovesAsNodesPublishDieAndComeBack() throws Exception {
        CloudSync cloud = replica(Map.of());
        EdgeLink a = edge("plant-a", "n1");
        edge("plant-b", "n1");
        publish(a, "llm", "llm-1", 1);
        publish(a, "llm", "llm-2", 2);
        await("instances", () -> scrape(cloud).value("edgegate_cloud_instances"), 2);
        MetricsScrape up = scrape(cloud);
        assertEquals(2, up.value("edgegate_cloud_sites"));
        assertEquals(2, up.value("edgegate_cloud_nodes"));
        assertEquals(0, up.value("edgegate_cloud_stale_nodes"));
        assertEquals(1, up.value("edgegate_sync_link_up"));
        assertTrue(up.value("edgegate_cloud_applied_total") >= 2);
        assertTrue(up.value("edgegate_cloud_apply_lag_seconds") >= 0);

        a.abort(); // dies without a DISCONNECT: the broker publishes its will
        await("stale node", () -> scrape(cloud).value("edgegate_cloud_stale_nodes"), 1);
        assertEquals(2, scrape(cloud).value("edgegate_cloud_stale_instances"));

        edge("plant-a", "n1");
        await("node back", () -> scrape(cloud).value("edgegate_cloud_stale_nodes"), 0);
        assertEquals(2, scrape(cloud).value("edgegate_cloud_instances"));
    }

    @Test
    void nodeGoingStaleAndComingBackIsLoggedWithItsSiteAndNode() throws Exception {
        try (JsonLogCapture log = JsonLogCapture.of(Fleet.class.getName(), Map.of("node", "cloud-host"))) {
            CloudSync cloud = replica(Map.of());
            EdgeLink a = edge("plant-a", "n1");
            publish(a, "llm", "llm-1", 1);
            await("instance", () -> scrape(cloud).value("edgegate_cloud_instances"), 1);
            a.abort();
            JsonNode offline = log.await("node offline");
            assertEquals("WARNING", offline.get("level").asText());
            assertEquals("plant-a", offline.get("site").asText());
            assertEquals("n1", offline.get("node").asText());
            assertTrue(offline.get("message").asText().contains("1 instance"), offline.toString());
            edge("plant-a", "n1");
            JsonNode back = log.await("node back online");
            assertEquals("plant-a", back.get("site").asText());
            assertEquals("n1", back.get("node").asText());
            assertEquals(1, log.count("node offline"));
        }
    }

    @Test
    void brokerOutageTurnsTheLinkDown() throws Exception {
        CloudSync cloud = replica(Map.of());
        assertEquals(1, scrape(cloud).value("edgegate_sync_link_up"));
        broker.close();
        broker = null;
        await("link down", () -> scrape(cloud).value("edgegate_sync_link_up"), 0);
        assertEquals(1, scrape(cloud).value("edgegate_sync_link_losses_total"));
    }

    @Test
    void scrapeNeedsAgentReadOnBothListeners() throws Exception {
        CloudSync cloud = replica(Map.of());
        URI metrics = URI.create("http://127.0.0.1:" + cloud.port() + "/metrics");
        assertEquals(403, get(metrics, null).statusCode());
        HttpResponse<String> reader = get(metrics, READER);
        assertEquals(403, reader.statusCode(), reader.body());
        assertTrue(reader.body().contains("agent:read"), reader.body());
        URI consul = URI.create("http://127.0.0.1:" + cloud.consulPort() + "/v1/agent/metrics");
        HttpResponse<String> denied = get(consul, READER);
        assertEquals(403, denied.statusCode());
        assertTrue(denied.body().contains("'agent:read'"), denied.body());
        HttpResponse<String> json = get(consul, METRICS);
        assertEquals(200, json.statusCode(), json.body());
        assertTrue(JSON.readTree(json.body()).get("Gauges").isArray());
        HttpResponse<String> text = get(URI.create(consul + "?format=prometheus"), METRICS);
        assertEquals(1, MetricsScrape.parse(text.body()).value("edgegate_sync_link_up"));
    }

    @Test
    void metricsOffAnswer404() throws Exception {
        CloudSync cloud = replica(Map.of("CLOUDSYNC_METRICS_ENABLED", "false"));
        HttpResponse<String> answer = get(URI.create("http://127.0.0.1:" + cloud.port() + "/metrics"), METRICS);
        assertEquals(404, answer.statusCode(), answer.body());
        assertTrue(answer.body().contains("cloudsync.metrics.enabled=false"), answer.body());
    }
}
