package io.edgegate.gateway.sync;

import static io.edgegate.gateway.sync.EdgeSyncRig.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.SyncCodec;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.EmbeddedBroker;
import io.edgegate.bridge.testing.TcpRelay;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The edge reads its own retained instances back on every connect and clears the ones its
 * registry no longer has: a removal made offline and forgotten across a restart, a leftover of an
 * older epoch, an unreadable payload. Embedded broker, link cut and restored through a relay.
 */
class SyncReadBackTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Topics TOPICS = EdgeSyncRig.TOPICS;

    @TempDir
    Path dataDir;

    private EdgeSyncRig rig;
    private EmbeddedBroker broker;
    private TcpRelay relay;

    @BeforeEach
    void startBroker() throws Exception {
        rig = EdgeSyncRig.start(dataDir);
        broker = rig.broker;
        relay = rig.relay;
    }

    @AfterEach
    void stop() throws Exception {
        rig.close();
    }

    private void startGateway(String protocol) {
        rig.startGateway("EDGEGATE_MQTT_PROTOCOL", protocol);
    }

    private SyncAgent sync() {
        return rig.sync();
    }

    private void register(String id) {
        rig.register(id);
    }

    private void deregister(String id) {
        rig.deregister(id);
    }

    /** The retained instances the broker holds for the node now, as a fresh subscriber gets them. */
    private Map<String, JsonNode> retained() throws Exception {
        Map<String, JsonNode> seen = new ConcurrentHashMap<>();
        MqttClient reader = new MqttClient(broker.url(), "reader-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        reader.connect(options);
        try {
            IMqttMessageListener listener = (topic, message) -> {
                String id = topic.substring(topic.lastIndexOf('/') + 1);
                byte[] payload = message.getPayload();
                seen.put(id, payload.length > 0 && payload[0] == '{' ? JSON.readTree(payload) : JSON.nullNode());
            };
            reader.subscribe(
                    new MqttSubscription[] {new MqttSubscription(TOPICS.instancesFilter(), 1)},
                    new IMqttMessageListener[] {listener});
            // retained messages follow the SUBACK at once; on loopback 300 ms is ample
            Thread.sleep(300);
        } finally {
            reader.disconnect();
            reader.close();
        }
        return seen;
    }

    /** Publishes a retained payload on the node's instance topic as another client would. */
    private void plant(String id, byte[] payload) throws Exception {
        MqttClient client = new MqttClient(broker.url(), "planter", new MemoryPersistence());
        client.connect();
        try {
            client.publish(TOPICS.instance(id), new MqttMessage(payload, 1, true, null));
        } finally {
            client.disconnect();
            client.close();
        }
    }

    private void deregisterOfflineThenRestartThenReconnect(String protocol) throws Exception {
        startGateway(protocol);
        await(() -> sync().connected(), "connected");
        register("llm-1");
        register("llm-2");
        long registered = rig.registry().index();
        await(() -> sync().pending() == 0 && sync().acknowledgedIndex() >= registered, "acknowledged and saved");
        relay.cut();
        deregister("llm-1");
        rig.restartGateway("EDGEGATE_MQTT_PROTOCOL", protocol);
        assertEquals(0, sync().pending(), "the restart forgot the removal: the registry no longer has llm-1");
        relay.restore();
        await(() -> sync().connected() && sync().staleCleared() == 1 && sync().pending() == 0, "stale state cleared");
        Map<String, JsonNode> held = retained();
        assertFalse(held.containsKey("llm-1"), "llm-1 is still retained on the broker: " + held.keySet());
        assertTrue(held.containsKey("llm-2"), "llm-2 must stay retained: " + held.keySet());
    }

    @Test
    void removalMadeOfflineAndForgottenByARestartIsClearedOnReconnect() throws Exception {
        deregisterOfflineThenRestartThenReconnect("5");
    }

    @Test
    void removalMadeOfflineAndForgottenByARestartIsClearedOnReconnectOverMqtt311() throws Exception {
        deregisterOfflineThenRestartThenReconnect("3.1.1");
    }

    @Test
    void retainedInstanceOfAnOlderEpochIsCleared() throws Exception {
        InstanceState ghost =
                new InstanceState("llm", "ghost-1", "10.0.0.9", 8080, List.of(), Map.of(), SyncHealth.PASSING, 1, 7, 1);
        plant("ghost-1", SyncCodec.encode(ghost));
        startGateway("5");
        await(() -> sync().connected(), "connected");
        register("llm-1");
        await(() -> sync().staleCleared() == 1 && sync().pending() == 0, "ghost cleared");
        assertTrue(sync().epoch() > ghost.epoch());
        Map<String, JsonNode> held = retained();
        assertEquals(List.of("llm-1"), List.copyOf(held.keySet()), "only the registry's instances stay retained");
    }

    @Test
    void ownPublishesAreNeverTakenForStaleStateOverMqtt311() throws Exception {
        startGateway("3.1.1");
        await(() -> sync().connected(), "connected");
        for (int i = 0; i < 50; i++) {
            register("llm-" + i);
        }
        await(() -> sync().pending() == 0, "acknowledged");
        Thread.sleep(300); // the echoes of those publishes arrive, unretained
        assertEquals(0, sync().staleCleared(), "an echo of the node's own publish was taken for stale state");
        assertEquals(50, retained().size());
    }

    @Test
    void unreadableRetainedPayloadOnTheNodesTopicIsCountedAndReplaced() throws Exception {
        plant("junk-1", "not json".getBytes(StandardCharsets.UTF_8));
        plant("llm-1", "{\"v\":99,\"type\":\"instance\"}".getBytes(StandardCharsets.UTF_8));
        startGateway("5");
        await(() -> sync().connected(), "connected");
        register("llm-1");
        await(() -> sync().rejected() == 2 && sync().pending() == 0, "both counted and settled");
        Map<String, JsonNode> held = retained();
        assertFalse(held.containsKey("junk-1"), "an unreadable leftover the registry lacks is cleared");
        assertEquals("llm", held.get("llm-1").path("service").asText(), "the registry's state replaces it");
    }
}
