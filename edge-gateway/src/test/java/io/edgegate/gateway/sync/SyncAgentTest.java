package io.edgegate.gateway.sync;

import static io.edgegate.gateway.sync.EdgeSyncRig.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.SyncCodec;
import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.TcpRelay;
import io.edgegate.gateway.registry.Registry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The edge end of the sync against a real (embedded) MQTT broker, with the link cut and restored
 * through a TCP relay the test controls, and an observer client standing in for the cloud.
 */
class SyncAgentTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SITE = EdgeSyncRig.SITE;
    private static final String NODE = EdgeSyncRig.NODE;

    @TempDir
    Path dataDir;

    private EdgeSyncRig rig;
    private TcpRelay relay;
    private MqttClient observer;
    /** Retained instance state the observer holds: id to payload (removed on an empty payload). */
    private final Map<String, JsonNode> seen = new ConcurrentHashMap<>();

    @BeforeEach
    void startBroker() throws Exception {
        rig = EdgeSyncRig.start(dataDir);
        relay = rig.relay;
    }

    @AfterEach
    void stop() throws Exception {
        rig.close();
    }

    private void observe() throws Exception {
        observer = rig.observe(new Topics(SITE, NODE).instancesFilter(), (topic, message) -> {
            String id = topic.substring(topic.lastIndexOf('/') + 1);
            if (message.getPayload().length == 0) {
                seen.remove(id);
            } else {
                seen.put(id, JSON.readTree(message.getPayload()));
            }
        });
    }

    private Registry registry() {
        return rig.registry();
    }

    private SyncAgent sync() {
        return rig.sync();
    }

    private void register(String id, String rev) {
        rig.register(id, "{\"rev\":\"" + rev + "\"}");
    }

    @Test
    void registrationReachesTheBrokerAsRetainedState() throws Exception {
        rig.startGateway();
        await(() -> sync().connected(), "connected");
        register("llm-1", "a");
        await(() -> sync().pending() == 0, "acknowledged");
        observe();
        await(() -> seen.containsKey("llm-1"), "retained state delivered to a late subscriber");
        JsonNode state = seen.get("llm-1");
        assertEquals("llm", state.get("service").asText());
        assertEquals("passing", state.get("health").asText());
        assertEquals(sync().epoch(), state.get("epoch").asLong());
        assertEquals(
                registry().instance("llm-1").modifyIndex(), state.get("index").asLong());
    }

    @Test
    void changesWhileOfflineAreCompactedToOneMessagePerInstance() throws Exception {
        relay.cut();
        rig.startGateway();
        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < 100; i++) {
                register("llm-" + i, "r" + round);
            }
        }
        assertEquals(100, sync().pending(), "the outbox holds the newest state per instance, not 1,000 changes");
        assertEquals(0, sync().published());
        relay.restore();
        await(() -> sync().pending() == 0, "converged after reconnect");
        assertTrue(sync().published() <= 100 + 5, "messages on reconnect: " + sync().published());
        observe();
        await(() -> seen.size() == 100, "all instances on the broker");
        assertEquals("r9", seen.get("llm-42").get("meta").get("rev").asText());
        assertTrue(registry().index() > 0);
    }

    @Test
    void deregistrationWhileOfflineClearsTheRetainedState() throws Exception {
        rig.startGateway();
        await(() -> sync().connected(), "connected");
        register("llm-1", "a");
        register("llm-2", "a");
        await(() -> sync().pending() == 0, "acknowledged");
        relay.cut();
        rig.deregister("llm-1");
        relay.restore();
        await(() -> sync().connected() && sync().pending() == 0, "reconnected and drained");
        observe();
        await(() -> seen.containsKey("llm-2"), "the other instance is still retained");
        Thread.sleep(200);
        assertTrue(!seen.containsKey("llm-1"), "the deregistered instance was cleared from the broker");
    }

    @Test
    void restartWhileOfflineRebuildsTheOutboxFromTheRegistry() throws Exception {
        relay.cut();
        rig.startGateway();
        register("llm-1", "before-restart");
        rig.restartGateway();
        assertEquals(1, sync().pending(), "nothing acknowledged yet: rebuilt from the journal");
        relay.restore();
        await(() -> sync().pending() == 0, "published after the link returned");
        observe();
        await(() -> seen.containsKey("llm-1"), "on the broker");
        assertEquals("before-restart", seen.get("llm-1").get("meta").get("rev").asText());
        long acked = sync().acknowledgedIndex();
        rig.restartGateway();
        await(() -> sync().acknowledgedIndex() >= acked, "acknowledged index kept");
        assertEquals(0, sync().pending(), "acknowledged changes are not sent again");
    }

    @Test
    void pushedConfigurationIsAppliedAndKeptOffline() throws Exception {
        rig.startGateway();
        await(() -> sync().connected(), "connected");
        observe();
        JsonNode body = JSON.readTree("{\"service\":\"llm\",\"weights\":{\"v1\":80,\"v2\":20}}");
        byte[] payload = SyncCodec.encode(new ConfigPush("route", "canary", 1, System.currentTimeMillis(), body));
        MqttMessage message = new MqttMessage(payload);
        message.setQos(1);
        message.setRetained(true);
        observer.publish(new Topics(SITE, NODE).nodeConfig("route", "canary"), message);
        await(() -> registry().config("route").containsKey("canary"), "applied");
        relay.cut();
        rig.restartGateway();
        assertEquals(
                body,
                JSON.readTree(registry().config("route").get("canary").getBytes(StandardCharsets.UTF_8)),
                "kept across a restart with the link down");
    }
}
