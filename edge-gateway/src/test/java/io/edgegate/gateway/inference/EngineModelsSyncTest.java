package io.edgegate.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.EmbeddedBroker;
import io.edgegate.gateway.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an engine serves reaches the cloud with its instance: the models and adapters the gateway
 * writes into the instance's metadata travel in the instance's retained state, as any change
 * does, so the fleet shows them per site without a change to the sync protocol.
 */
class EngineModelsSyncTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    private EmbeddedBroker broker;
    private TestGateway gateway;
    private FakeEngine engine;
    private MqttClient observer;
    private final Map<String, JsonNode> seen = new ConcurrentHashMap<>();

    @AfterEach
    void stop() throws Exception {
        if (observer != null && observer.isConnected()) {
            observer.disconnect();
            observer.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void servedModelsAndAdaptersAreSyncedWithTheInstance() throws Exception {
        broker = EmbeddedBroker.start();
        gateway = TestGateway.start(
                dataDir,
                Map.of(
                        "EDGEGATE_MQTT_URL", broker.url(),
                        "EDGEGATE_SITE", "plant-a",
                        "EDGEGATE_NODE", "node-1",
                        "EDGEGATE_INFERENCE_SCRAPE_INTERVAL", "50ms",
                        "EDGEGATE_INFERENCE_MODELS_INTERVAL", "200ms"));
        observer = new MqttClient(broker.url(), "observer", new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        observer.connect(options);
        IMqttMessageListener listener = (topic, message) -> {
            if (message.getPayload().length > 0) {
                seen.put(topic.substring(topic.lastIndexOf('/') + 1), JSON.readTree(message.getPayload()));
            }
        };
        observer.subscribe(
                new MqttSubscription[] {new MqttSubscription(new Topics("plant-a", "node-1").instancesFilter(), 1)},
                new IMqttMessageListener[] {listener});

        engine = new FakeEngine("gpu-0");
        engine.models = FakeEngine.models("llama-3-8b", "sql-lora");
        HttpResponse<String> res = TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"llm\",\"id\":\"gpu-0\",\"address\":\"127.0.0.1\",\"port\":" + engine.port()
                        + ",\"meta\":{\"engine\":\"vllm\"}}");
        assertEquals(200, res.statusCode(), res.body());

        await(
                () -> seen.containsKey("gpu-0")
                        && seen.get("gpu-0").path("meta").has("engine-adapters"),
                "the instance's models synced");
        JsonNode meta = seen.get("gpu-0").path("meta");
        assertEquals("llama-3-8b", meta.path("engine-models").asText());
        assertEquals("sql-lora", meta.path("engine-adapters").asText());
        assertEquals("vllm", meta.path("engine").asText());
        assertEquals(
                gateway.gateway().registry().instance("gpu-0").modifyIndex(),
                seen.get("gpu-0").path("index").asLong(),
                "the metadata change is an indexed change of the instance");
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }
}
