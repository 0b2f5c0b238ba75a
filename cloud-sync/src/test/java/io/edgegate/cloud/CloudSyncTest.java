package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.TcpRelay;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** cloud-sync end to end against a mosquitto process, with edge nodes played by EdgeLink. */
class CloudSyncTest {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    /** The management token of the replicas under test (from a token file, as in production). */
    static final String TOKEN = java.util.UUID.randomUUID().toString();

    MosquittoBroker broker;
    final List<AutoCloseable> closeables = new java.util.ArrayList<>();

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path dir;

    java.nio.file.Path aclFile;

    @BeforeEach
    void startBroker() throws Exception {
        broker = MosquittoBroker.start();
        aclFile = dir.resolve("acl.yaml");
        java.nio.file.Files.writeString(aclFile, """
                policies:
                  catalog-reader: {service-prefix: {"": read}, node: read}
                  llm-reader: {service-prefix: {"llm": read}}
                tokens:
                  - {secret: %s, policies: [global-management]}
                  - {secret: reader-token-0123456789, policies: [catalog-reader]}
                  - {secret: llm-reader-token-0123456789, policies: [llm-reader]}
                """.formatted(TOKEN));
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        broker.close();
    }

    CloudSync replica(String name) {
        CloudSyncConfig base = CloudSyncConfig.load(
                Map.of("CLOUDSYNC_ACL_TOKENS_FILE", aclFile.toString()), (java.nio.file.Path) null);
        CloudSync sync = CloudSync.start(base.toBuilder()
                .ports(0, 0)
                .mqtt(LinkOptions.builder(broker.url(), name)
                        .backoff(20, 200)
                        .keepAliveSeconds(2)
                        .build())
                .build());
        closeables.add(sync);
        try {
            assertTrue(
                    sync.link().link().awaitConnected(15_000),
                    sync.link().link().lastError());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        return sync;
    }

    static final class EdgeHandler implements EdgeLink.Handler {
        final BlockingQueue<Object> downlink = new LinkedBlockingQueue<>();

        @Override
        public void onConnected() {}

        @Override
        public void onResync(ResyncCommand command) {
            downlink.add(command);
        }

        @Override
        public void onConfig(ConfigPush push, boolean siteWide) {
            downlink.add(push);
        }

        @Override
        public void onConfigRemoved(ConfigRemoved removed, boolean siteWide) {
            downlink.add(removed);
        }
    }

    EdgeLink edge(String url, String site, String node, EdgeHandler handler) throws Exception {
        EdgeLink link = EdgeNodes.start(url, site, node, handler);
        closeables.add(link);
        return link;
    }

    static InstanceState state(String service, String id, long index, SyncHealth health) {
        return new InstanceState(
                service, id, "10.0.0.5", 8000, List.of("v2"), Map.of("model", "m"), health, 1, index, 0);
    }

    static void publishAcked(EdgeLink edge, InstanceState s) throws InterruptedException {
        EdgeNodes.publishAcked(edge, s);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(10);
        }
    }

    static JsonNode get(int port, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("X-Consul-Token", TOKEN)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return Http.MAPPER.readTree(r.body());
    }

    static int count(CloudSync sync) {
        return sync.fleet().view().instances(null, null, null).size();
    }

    @Test
    void instancesOfTwoSitesAreServedOnTheRestApi() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        EdgeLink b = edge(broker.url(), "plant-b", "n1", new EdgeHandler());
        publishAcked(a, state("llm", "llm-1", 1, SyncHealth.PASSING));
        publishAcked(b, state("llm", "llm-2", 1, SyncHealth.CRITICAL));
        publishAcked(b, state("vision", "v-1", 2, SyncHealth.PASSING));
        await("3 instances", () -> count(cloud) == 3);
        assertEquals(2, get(cloud.port(), "/v1/sites").size());
        assertEquals(1, get(cloud.port(), "/v1/services/llm?site=plant-b").size());
        assertEquals(1, get(cloud.port(), "/v1/services/llm?health=passing").size());
        JsonNode nodes = get(cloud.port(), "/v1/sites/plant-a/nodes");
        assertEquals("n1", nodes.get(0).get("node").asText());
        assertTrue(nodes.get(0).get("online").asBoolean());
    }

    @Test
    void modelsAndAdaptersAreListedPerSiteFromTheInstancesMetadata() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        EdgeLink b = edge(broker.url(), "plant-b", "n2", new EdgeHandler());
        publishAcked(
                a,
                withMeta(
                        state("llm", "gpu-0", 1, SyncHealth.PASSING),
                        Map.of(
                                "engine",
                                "vllm",
                                "engine-models",
                                "llama-3-8b",
                                "engine-adapters",
                                "sql-lora,summarize-lora")));
        publishAcked(
                a,
                withMeta(
                        state("llm", "gpu-1", 2, SyncHealth.CRITICAL),
                        Map.of("engine", "vllm", "engine-models", "llama-3-8b")));
        publishAcked(b, withMeta(state("vision", "cam-1", 1, SyncHealth.PASSING), Map.of("model", "yolo-v8")));
        await("3 instances", () -> count(cloud) == 3);

        JsonNode models = get(cloud.port(), "/v1/models");
        assertEquals("plant-a/llama-3-8b plant-a/sql-lora plant-a/summarize-lora plant-b/yolo-v8", names(models));
        JsonNode llama = models.get(0);
        assertFalse(llama.get("adapter").asBoolean());
        assertEquals(2, llama.get("instances").asInt());
        assertEquals(1, llama.get("passing").asInt());
        assertEquals("[\"n1\"]", llama.get("nodes").toString());
        assertEquals("[\"llm\"]", llama.get("services").toString());
        assertTrue(models.get(1).get("adapter").asBoolean(), models.toString());
        assertEquals(1, models.get(1).get("instances").asInt());
        assertEquals("plant-b/yolo-v8", names(get(cloud.port(), "/v1/models?site=plant-b")));
    }

    @Test
    void modelsOfServicesTheTokenMayNotReadAreLeftOut() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        publishAcked(a, withMeta(state("llm", "gpu-0", 1, SyncHealth.PASSING), Map.of("engine-models", "llama-3-8b")));
        publishAcked(a, withMeta(state("vision", "cam-1", 2, SyncHealth.PASSING), Map.of("model", "yolo-v8")));
        await("2 instances", () -> count(cloud) == 2);

        HttpResponse<String> r = request("GET", cloud.port(), "/v1/models", "llm-reader-token-0123456789");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("plant-a/llama-3-8b", names(Http.MAPPER.readTree(r.body())));
        assertEquals(
                "true",
                r.headers().firstValue("X-Consul-Results-Filtered-By-ACLs").orElse(null));
    }

    static InstanceState withMeta(InstanceState s, Map<String, String> meta) {
        return new InstanceState(
                s.service(), s.id(), s.address(), s.port(), s.tags(), meta, s.health(), s.epoch(), s.index(), 0);
    }

    /** "site/model" of each entry, in the answer's order. */
    static String names(JsonNode models) {
        List<String> out = new java.util.ArrayList<>();
        models.forEach(
                m -> out.add(m.get("site").asText() + "/" + m.get("model").asText()));
        return String.join(" ", out);
    }

    @Test
    void consulCatalogAnswersWithDatacenterEqualToSite() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        EdgeLink b = edge(broker.url(), "plant-b", "n2", new EdgeHandler());
        publishAcked(a, state("llm", "llm-1", 1, SyncHealth.PASSING));
        publishAcked(b, state("llm", "llm-2", 1, SyncHealth.PASSING));
        await("2 instances", () -> count(cloud) == 2);
        assertEquals(
                "[\"plant-a\",\"plant-b\"]",
                get(cloud.consulPort(), "/v1/catalog/datacenters").toString());
        assertEquals(
                "{\"llm\":[\"v2\"]}",
                get(cloud.consulPort(), "/v1/catalog/services?dc=plant-a").toString());
        JsonNode entries = get(cloud.consulPort(), "/v1/health/service/llm?dc=plant-b&passing");
        assertEquals(1, entries.size());
        JsonNode e = entries.get(0);
        assertEquals("plant-b", e.get("Node").get("Datacenter").asText());
        assertEquals("n2", e.get("Node").get("Node").asText());
        assertEquals("llm-2", e.get("Service").get("ID").asText());
        assertEquals(8000, e.get("Service").get("Port").asInt());
        assertEquals("serfHealth", e.get("Checks").get(0).get("CheckID").asText());
        JsonNode catalog = get(cloud.consulPort(), "/v1/catalog/service/llm?dc=plant-a");
        assertEquals("llm-1", catalog.get(0).get("ServiceID").asText());
        assertEquals("plant-a", catalog.get(0).get("Datacenter").asText());
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cloud.consulPort() + "/v1/catalog/services"))
                        .header("X-Consul-Token", TOKEN)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(Long.parseLong(r.headers().firstValue("X-Consul-Index").orElseThrow()) >= 1);
    }

    @Test
    void aNodeThatDiesWithoutDisconnectIsOfflineAndItsInstancesStale() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        publishAcked(a, state("llm", "llm-1", 1, SyncHealth.PASSING));
        await(
                "online instance",
                () -> count(cloud) == 1
                        && !cloud.fleet()
                                .view()
                                .instances(null, null, null)
                                .get(0)
                                .stale());
        a.abort();
        await(
                "stale instance",
                () -> cloud.fleet().view().instances(null, null, null).get(0).stale());
        JsonNode node = get(cloud.port(), "/v1/sites/plant-a/nodes").get(0);
        assertEquals(false, node.get("online").asBoolean());
        assertTrue(node.get("offlineSince").asLong() > 0);
        assertEquals(
                0, get(cloud.consulPort(), "/v1/health/service/llm?passing").size());
        assertEquals(1, get(cloud.consulPort(), "/v1/health/service/llm").size());
    }

    @Test
    void aReplicaStartedLateOrRestartedServesTheSameFleet() throws Exception {
        CloudSync first = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        for (int i = 0; i < 50; i++) {
            publishAcked(a, state("llm", "llm-" + i, i + 1, SyncHealth.PASSING));
        }
        CountDownLatch removed = new CountDownLatch(1);
        a.publishRemoval("llm-7", ok -> removed.countDown());
        assertTrue(removed.await(5, TimeUnit.SECONDS));
        await("49 instances", () -> count(first) == 49);
        CloudSync late = replica("cloud-2");
        await("late replica has 49", () -> count(late) == 49);
        assertEquals(
                get(first.port(), "/v1/services/llm").toString().replaceAll("\"(lastSeen|modifyIndex)\":\\d+", ""),
                get(late.port(), "/v1/services/llm").toString().replaceAll("\"(lastSeen|modifyIndex)\":\\d+", ""));
        first.close();
        closeables.remove(first);
        CloudSync restarted = replica("cloud-1");
        await("restarted replica has 49", () -> count(restarted) == 49);
    }

    @Test
    void aMalformedOrForeignPayloadIsCountedAndIgnored() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        try (MqttLink rogue = MqttLink.start(LinkOptions.of(broker.url(), "rogue"), List.of(), null, (t, p, r) -> {})) {
            assertTrue(rogue.awaitConnected(15_000));
            rogue.publish(
                    "edgegate/v1/plant-a/n1/instances/x", "garbage".getBytes(StandardCharsets.UTF_8), false, null);
            rogue.publish("edgegate/v1/plant-a/n1/status", "{\"v\":9}".getBytes(StandardCharsets.UTF_8), false, null);
            rogue.publish(
                    "edgegate/v1/plant-a/n1/digest", "{\"hello\":1}".getBytes(StandardCharsets.UTF_8), false, null);
            await("3 rejected", () -> cloud.fleet().rejectedCount() == 3);
        }
        publishAcked(a, state("llm", "llm-1", 1, SyncHealth.PASSING));
        await("still applies", () -> count(cloud) == 1);
        assertTrue(get(cloud.port(), "/v1/stats").get("rejected").has("bad-json"));
    }

    @Test
    void changesMadeWhileTheLinkIsCutConvergeAfterReconnect() throws Exception {
        CloudSync cloud = replica("cloud-1");
        try (TcpRelay relay = new TcpRelay(broker.port())) {
            EdgeHandler handler = new EdgeHandler();
            EdgeLink a = edge(relay.url(), "plant-a", "n1", handler);
            for (int i = 0; i < 20; i++) {
                publishAcked(a, state("llm", "llm-" + i, i + 1, SyncHealth.PASSING));
            }
            await("20 instances", () -> count(cloud) == 20);
            relay.cut();
            await("edge sees the cut", () -> !a.connected());
            // the edge's truth moves on while offline: the outbox (edge side) would keep the newest of each
            relay.restore();
            assertTrue(a.link().awaitConnected(10_000));
            for (int i = 0; i < 20; i++) {
                publishAcked(
                        a, state("llm", "llm-" + i, 100 + i, i % 2 == 0 ? SyncHealth.CRITICAL : SyncHealth.PASSING));
            }
            await(
                    "converged",
                    () -> cloud.fleet().view().instances(null, null, null).stream()
                                    .filter(x -> !x.stale() && x.state().index() >= 100)
                                    .count()
                            == 20);
        }
    }

    @Test
    void configPushedOverRestReachesTheNodeRetained() throws Exception {
        CloudSync cloud = replica("cloud-1");
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + cloud.port() + "/v1/config/plant-a/weights/llm"))
                        .header("X-Consul-Token", TOKEN)
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"v1\":80,\"v2\":20}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(cloud.link().connected());
        assertEquals(200, r.statusCode(), r.body());
        EdgeHandler handler = new EdgeHandler();
        edge(broker.url(), "plant-a", "n1", handler);
        Object got = handler.downlink.poll(5, TimeUnit.SECONDS);
        ConfigPush push = (ConfigPush) got;
        assertEquals("weights", push.kind());
        assertEquals(20, push.body().get("v2").asInt());
    }

    static HttpResponse<String> request(String method, int port, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(
                        method,
                        method.equals("PUT")
                                ? HttpRequest.BodyPublishers.ofString("{\"v1\":80}")
                                : HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("X-Consul-Token", token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void configPushNeedsOperatorWriteAndARefusalSendsNothing() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeHandler handler = new EdgeHandler();
        edge(broker.url(), "plant-a", "n1", handler);
        for (String token : new String[] {null, "reader-token-0123456789"}) {
            HttpResponse<String> r = request("PUT", cloud.port(), "/v1/config/plant-a/weights/llm", token);
            assertEquals(403, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"needs\":\"operator:write\""), r.body());
        }
        HttpResponse<String> unknown =
                request("PUT", cloud.port(), "/v1/config/plant-a/weights/llm", "no-such-token-0123456789");
        assertEquals(403, unknown.statusCode());
        assertTrue(unknown.body().contains("ACL not found"), unknown.body());
        assertEquals(
                403,
                request("POST", cloud.port(), "/v1/resync/plant-a/n1", "reader-token-0123456789")
                        .statusCode());
        assertEquals(null, handler.downlink.poll(500, TimeUnit.MILLISECONDS), "no push and no resync reached the node");
    }

    @Test
    void catalogIsFilteredByTheTokensServiceRights() throws Exception {
        CloudSync cloud = replica("cloud-1");
        EdgeLink a = edge(broker.url(), "plant-a", "n1", new EdgeHandler());
        publishAcked(a, state("llm", "llm-1", 1, SyncHealth.PASSING));
        publishAcked(a, state("vision", "vision-1", 2, SyncHealth.PASSING));
        await("both instances", () -> count(cloud) == 2);

        HttpResponse<String> llmOnly =
                request("GET", cloud.consulPort(), "/v1/catalog/services", "llm-reader-token-0123456789");
        assertEquals(200, llmOnly.statusCode());
        assertTrue(llmOnly.body().contains("\"llm\"") && !llmOnly.body().contains("vision"), llmOnly.body());
        assertEquals(
                "true",
                llmOnly.headers()
                        .firstValue("X-Consul-Results-Filtered-By-ACLs")
                        .orElse(null));

        HttpResponse<String> all =
                request("GET", cloud.consulPort(), "/v1/catalog/services", "reader-token-0123456789");
        assertTrue(all.body().contains("vision") && all.body().contains("llm"), all.body());
        assertTrue(all.headers().firstValue("X-Consul-Results-Filtered-By-ACLs").isEmpty());

        HttpResponse<String> anonymous = request("GET", cloud.consulPort(), "/v1/health/service/vision", null);
        assertEquals(200, anonymous.statusCode());
        assertEquals("[]", anonymous.body());
        HttpResponse<String> fleet = request("GET", cloud.port(), "/v1/services/vision", "llm-reader-token-0123456789");
        assertEquals("[]", fleet.body());

        HttpResponse<String> self = request("GET", cloud.consulPort(), "/v1/agent/self", "reader-token-0123456789");
        assertEquals(403, self.statusCode());
        assertTrue(self.body().startsWith("Permission denied"), self.body());
        assertEquals(
                403,
                request("GET", cloud.port(), "/v1/sites", "llm-reader-token-0123456789")
                        .statusCode());
        assertEquals(
                200,
                request("GET", cloud.port(), "/v1/sites", "reader-token-0123456789")
                        .statusCode());
        assertEquals(200, request("GET", cloud.port(), "/readyz", null).statusCode());
    }

    @Test
    void tokenSelfNamesTheCallersTokenWithoutItsSecret() throws Exception {
        CloudSync cloud = replica("cloud-1");
        HttpResponse<String> r = request("GET", cloud.consulPort(), "/v1/acl/token/self", "reader-token-0123456789");
        assertEquals(200, r.statusCode());
        JsonNode token = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
        assertEquals("catalog-reader", token.get("Policies").get(0).get("Name").asText());
        assertFalse(r.body().contains("reader-token-0123456789"), "the secret is never echoed");
    }
}
