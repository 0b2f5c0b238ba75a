package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.SyncCodec;
import io.edgegate.bridge.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Faults of the edge-to-cloud sync with real processes: mosquitto, the packaged edge gateway
 * behind a TCP relay the test cuts (the uplink), and packaged cloud-sync replicas. Each scenario
 * ends with the cloud's view of the node ({@code /v1/services/{s}?site=&node=}) equal to the
 * gateway's registry ({@code /v1/services/{s}}): ids, addresses, ports, tags, meta, health and
 * version. The scenarios run in order on one rig, each starting from the state the last one left.
 */
@Tag("process")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SyncFaultsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long CONVERGE_MILLIS = 20_000;

    private SyncRig rig;

    @BeforeAll
    void start() throws Exception {
        rig = new SyncRig(Map.of());
        rig.startCloud();
        rig.startGateway();
        rig.register("base", "base-1", "a", null);
        rig.register("base", "base-2", "a", null);
        rig.awaitConverged(0, CONVERGE_MILLIS);
    }

    @AfterAll
    void stop() throws Exception {
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    @Order(1)
    void brokerDownWhileInstancesRegisterChangeHealthAndDeregister() throws Exception {
        rig.relay().cut();
        for (int i = 1; i <= 5; i++) {
            rig.register("web", "web-" + i, "a", null);
        }
        // TTL checks: one group is kept passing by heartbeats, the other goes critical on expiry.
        for (int i = 1; i <= 3; i++) {
            rig.register("ttl", "beat-" + i, "a", "{\"ttl\":\"5m\"}");
            rig.register("ttl", "expire-" + i, "a", "{\"ttl\":\"700ms\"}");
            rig.heartbeat("beat-" + i);
            rig.heartbeat("expire-" + i);
        }
        rig.deregister("web-5");
        rig.deregister("base-1"); // the cloud has this one
        await(() -> "critical".equals(edgeHealth("ttl", "expire-3")), "the unrenewed TTL lease expired");
        assertEquals("passing", edgeHealth("ttl", "beat-1"));
        // Local registration and reads never waited on the link.
        assertEquals(4, rig.edgeJson("/v1/services/web").path("instances").size());
        assertFalse(rig.cloudView(0).containsKey("web-1"), "the link really was down");
        rig.relay().restore();
        rig.awaitConverged(0, CONVERGE_MILLIS);
    }

    @Test
    @Order(2)
    void gatewayKilledWhileOfflineThenRestartedThenLinkReturns() throws Exception {
        rig.relay().cut();
        rig.register("crash", "crash-1", "a", null);
        rig.register("crash", "crash-2", "a", null);
        rig.register("crash", "crash-3", "a", null);
        rig.register("web", "web-2", "b", null);
        rig.deregister("web-1"); // known to the cloud: only the broker's read-back remembers it after the kill
        rig.gateway().kill();
        rig.startGateway();
        assertFalse(rig.edgeTruth().containsKey("web-1"));
        assertTrue(rig.edgeTruth().containsKey("crash-3"), "acknowledged writes survive SIGKILL");
        rig.relay().restore();
        rig.awaitConverged(0, CONVERGE_MILLIS);
    }

    @Test
    @Order(3)
    void cloudSyncRestarted() throws Exception {
        rig.cloud(0).kill();
        rig.register("crash", "crash-1", "b", null);
        rig.deregister("crash-3");
        rig.startCloud(0);
        rig.awaitConverged(0, CONVERGE_MILLIS);
    }

    @Test
    @Order(4)
    void secondReplicaStartedLateServesTheSameView() throws Exception {
        rig.register("late", "late-1", "a", null);
        int second = rig.startCloud();
        rig.awaitConverged(second, CONVERGE_MILLIS);
        rig.awaitConverged(0, CONVERGE_MILLIS);
        assertEquals(rig.cloudView(0), rig.cloudView(second));
    }

    @Test
    @Order(5)
    void linkCutMidStream() throws Exception {
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Future<?> stream = writer.submit(() -> {
                for (int round = 0; round < 30; round++) {
                    rig.registerBatch("stream", "s", 0, 200, "r" + round);
                }
            });
            for (int cut = 0; cut < 3; cut++) {
                Thread.sleep(150);
                rig.relay().cut();
                Thread.sleep(150);
                rig.relay().restore();
            }
            stream.get(60, TimeUnit.SECONDS);
        } finally {
            writer.shutdownNow();
        }
        assertEquals(200, rig.edgeJson("/v1/services/stream").path("instances").size());
        rig.awaitConverged(0, CONVERGE_MILLIS);
        rig.awaitConverged(1, CONVERGE_MILLIS);
    }

    @Test
    @Order(6)
    void duplicatedReorderedMalformedAndForeignMessagesAreCountedAndIgnored() throws Exception {
        Topics topics = new Topics(SyncRig.SITE, SyncRig.NODE);
        JsonNode current = rig.cloudJson(0, "/v1/services/web?site=" + SyncRig.SITE + "&node=" + SyncRig.NODE)
                .get(0);
        String id = current.path("id").asText();
        InstanceState now = new InstanceState(
                "web",
                id,
                current.path("address").asText(),
                current.path("port").asInt(),
                java.util.List.of(),
                JSON.convertValue(current.path("meta"), new TypeReference<Map<String, String>>() {}),
                io.edgegate.bridge.SyncHealth.PASSING,
                current.path("epoch").asLong(),
                current.path("index").asLong(),
                System.currentTimeMillis());
        InstanceState older = new InstanceState(
                now.service(),
                id,
                "10.9.9.9",
                1,
                now.tags(),
                Map.of("rev", "old"),
                now.health(),
                now.epoch(),
                now.index() - 1,
                now.timestamp());
        InstanceState olderEpoch = new InstanceState(
                now.service(),
                id,
                "10.9.9.8",
                1,
                now.tags(),
                Map.of("rev", "old-epoch"),
                now.health(),
                now.epoch() - 1,
                now.index() + 1_000,
                now.timestamp());
        long rejectedBefore = rejected(0);
        long ignoredBefore = rig.cloudJson(0, "/v1/stats").path("ignored").asLong();
        MqttClient rogue = new MqttClient(rig.broker().url(), "rogue", new MemoryPersistence());
        rogue.connect();
        try {
            String topic = topics.instance(id);
            // not retained: a replay on the wire, as a broker failover or a bridge loop would make
            rogue.publish(topic, new MqttMessage(SyncCodec.encode(now), 1, false, null)); // duplicate
            rogue.publish(topic, new MqttMessage(SyncCodec.encode(older), 1, false, null)); // reordered
            rogue.publish(topic, new MqttMessage(SyncCodec.encode(olderEpoch), 1, false, null)); // older epoch
            rogue.publish(topic, new MqttMessage("{not json".getBytes(StandardCharsets.UTF_8), 1, false, null));
            rogue.publish(
                    topic,
                    new MqttMessage(
                            "{\"v\":2,\"type\":\"instance\"}".getBytes(StandardCharsets.UTF_8), 1, false, null));
            rogue.publish(
                    "edgegate/v1/" + SyncRig.SITE + "/" + SyncRig.NODE + "/bogus/x",
                    new MqttMessage("x".getBytes(StandardCharsets.UTF_8), 1, false, null));
        } finally {
            rogue.disconnect();
            rogue.close();
        }
        await(
                () -> rejected(0) >= rejectedBefore + 2
                        && rig.cloudJson(0, "/v1/stats").path("ignored").asLong() >= ignoredBefore + 3,
                "counted: stats=" + rig.cloudJson(0, "/v1/stats"));
        assertTrue(rig.cloud(0).alive() && rig.cloud(1).alive(), "never a crash");
        rig.awaitConverged(0, CONVERGE_MILLIS);
        rig.awaitConverged(1, CONVERGE_MILLIS);
    }

    private long rejected(int replica) {
        long n = 0;
        for (JsonNode v : rig.cloudJson(replica, "/v1/stats").path("rejected")) {
            n += v.asLong();
        }
        return n;
    }

    private String edgeHealth(String service, String id) {
        for (JsonNode i : rig.edgeJson("/v1/services/" + service).path("instances")) {
            if (i.path("id").asText().equals(id)) {
                return i.path("health").asText();
            }
        }
        return null;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }
}
