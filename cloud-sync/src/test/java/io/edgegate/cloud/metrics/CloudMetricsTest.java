package io.edgegate.cloud.metrics;

import static io.edgegate.bridge.testing.MetricsTokens.METRICS;
import static io.edgegate.bridge.testing.MetricsTokens.READER;
import static io.edgegate.bridge.testing.MetricsTokens.awaitValue;
import static io.edgegate.bridge.testing.MetricsTokens.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.testing.JsonLogCapture;
import io.edgegate.bridge.testing.MetricsScrape;
import io.edgegate.bridge.testing.MetricsTokens;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.cloud.CloudSync;
import io.edgegate.cloud.CloudSyncConfig;
import io.edgegate.cloud.EdgeNodes;
import io.edgegate.cloud.Fleet;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
        Map<String, String> all = new HashMap<>(env);
        all.put("CLOUDSYNC_ACL_TOKENS_FILE", MetricsTokens.writeAclFile(dir).toString());
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
        EdgeLink link = EdgeNodes.start(broker.url(), site, node, EdgeNodes.ignoring());
        closeables.add(link);
        return link;
    }

    private static void publish(EdgeLink edge, String service, String id, long index) throws InterruptedException {
        EdgeNodes.publishAcked(
                edge,
                new InstanceState(service, id, "10.0.0.5", 8000, List.of(), Map.of(), SyncHealth.PASSING, 1, index, 0));
    }

    private static MetricsScrape scrape(CloudSync cloud) {
        return MetricsTokens.scrape(URI.create("http://127.0.0.1:" + cloud.port() + "/metrics"));
    }

    @Test
    void fleetShapeMovesAsNodesPublishDieAndComeBack() throws Exception {
        CloudSync cloud = replica(Map.of());
        EdgeLink a = edge("plant-a", "n1");
        edge("plant-b", "n1");
        publish(a, "llm", "llm-1", 1);
        publish(a, "llm", "llm-2", 2);
        awaitValue("instances", () -> scrape(cloud).value("edgegate_cloud_instances"), 2);
        MetricsScrape up = scrape(cloud);
        assertEquals(2, up.value("edgegate_cloud_sites"));
        assertEquals(2, up.value("edgegate_cloud_nodes"));
        assertEquals(0, up.value("edgegate_cloud_stale_nodes"));
        assertEquals(1, up.value("edgegate_sync_link_up"));
        assertTrue(up.value("edgegate_cloud_applied_total") >= 2);
        assertTrue(up.value("edgegate_cloud_apply_lag_seconds") >= 0);

        a.abort(); // dies without a DISCONNECT: the broker publishes its will
        awaitValue("stale node", () -> scrape(cloud).value("edgegate_cloud_stale_nodes"), 1);
        assertEquals(2, scrape(cloud).value("edgegate_cloud_stale_instances"));

        edge("plant-a", "n1");
        awaitValue("node back", () -> scrape(cloud).value("edgegate_cloud_stale_nodes"), 0);
        assertEquals(2, scrape(cloud).value("edgegate_cloud_instances"));
    }

    @Test
    void nodeGoingStaleAndComingBackIsLoggedWithItsSiteAndNode() throws Exception {
        try (JsonLogCapture log = JsonLogCapture.of(Fleet.class.getName(), Map.of("node", "cloud-host"))) {
            CloudSync cloud = replica(Map.of());
            EdgeLink a = edge("plant-a", "n1");
            publish(a, "llm", "llm-1", 1);
            awaitValue("instance", () -> scrape(cloud).value("edgegate_cloud_instances"), 1);
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
        awaitValue("link down", () -> scrape(cloud).value("edgegate_sync_link_up"), 0);
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
