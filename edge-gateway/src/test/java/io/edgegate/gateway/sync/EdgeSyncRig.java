package io.edgegate.gateway.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.EmbeddedBroker;
import io.edgegate.bridge.testing.TcpRelay;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.registry.Registry;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttSubscription;

/**
 * The edge end of the sync on a bench: an embedded broker, a relay between the gateway and the
 * broker that the test cuts and restores, the gateway (node {@link #NODE} of site {@link #SITE},
 * started and restarted by the test) and an observer client in the cloud's place; plus what the
 * sync tests with a bench of their own share (the sync's environment, a registration, a bounded
 * wait). One per test, closed after it; used from the test's thread only.
 */
final class EdgeSyncRig implements AutoCloseable {
    static final String SITE = "plant-a";
    static final String NODE = "node-1";
    static final Topics TOPICS = new Topics(SITE, NODE);

    final EmbeddedBroker broker;
    final TcpRelay relay;
    private final Path dataDir;
    private TestGateway gateway;
    private MqttClient observer;

    private EdgeSyncRig(EmbeddedBroker broker, TcpRelay relay, Path dataDir) {
        this.broker = broker;
        this.relay = relay;
        this.dataDir = dataDir;
    }

    /** Starts the broker and the relay; the gateway, with its journal in {@code dataDir}, starts later. */
    static EdgeSyncRig start(Path dataDir) throws Exception {
        EmbeddedBroker broker = EmbeddedBroker.start();
        return new EdgeSyncRig(broker, new TcpRelay(broker.port()), dataDir);
    }

    /**
     * The environment of a gateway syncing to {@code mqttUrl} as {@link #NODE} of {@link #SITE},
     * its periodic digest an hour apart (tests see only the digests their changes cause), plus
     * {@code more} (key, value, ...).
     */
    static Map<String, String> syncEnv(String mqttUrl, String... more) {
        Map<String, String> env = new HashMap<>(Map.of(
                "EDGEGATE_MQTT_URL",
                mqttUrl,
                "EDGEGATE_SITE",
                SITE,
                "EDGEGATE_NODE",
                NODE,
                "EDGEGATE_SYNC_DIGEST_INTERVAL",
                "1h"));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    /** Starts the gateway, syncing through the relay ({@link #syncEnv} plus {@code more}). */
    TestGateway startGateway(String... more) {
        gateway = TestGateway.start(dataDir, syncEnv(relay.url(), more));
        return gateway;
    }

    /** Closes the gateway and starts it again on the same journal, with the same environment. */
    TestGateway restartGateway(String... more) {
        gateway.close();
        return startGateway(more);
    }

    TestGateway gateway() {
        return gateway;
    }

    SyncAgent sync() {
        return gateway.gateway().sync();
    }

    Registry registry() {
        return gateway.gateway().registry();
    }

    /** Registers instance {@code id} of service {@code llm} at 10.0.0.1:8080. */
    void register(String id) {
        register(gateway, id, null);
    }

    /** The same with metadata (a JSON object; null: none). */
    void register(String id, String metaJson) {
        register(gateway, id, metaJson);
    }

    static void register(TestGateway gateway, String id, String metaJson) {
        String body = "{\"service\":\"llm\",\"id\":\"" + id + "\",\"address\":\"10.0.0.1\",\"port\":8080"
                + (metaJson == null ? "" : ",\"meta\":" + metaJson) + "}";
        HttpResponse<String> response = TestGateway.send("POST", gateway.api("/v1/instances"), body);
        assertEquals(200, response.statusCode(), response.body());
    }

    void deregister(String id) {
        HttpResponse<String> response = TestGateway.send("DELETE", gateway.api("/v1/instances/" + id), null);
        assertEquals(200, response.statusCode(), response.body());
    }

    /**
     * Connects the observer straight to the broker (a clean session) and subscribes it to
     * {@code filter} at QoS 1; an observer connected before is closed first.
     */
    MqttClient observe(String filter, IMqttMessageListener listener) throws MqttException {
        closeObserver();
        observer = new MqttClient(broker.url(), "observer", new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        observer.connect(options);
        observer.subscribe(
                new MqttSubscription[] {new MqttSubscription(filter, 1)}, new IMqttMessageListener[] {listener});
        return observer;
    }

    void closeObserver() throws MqttException {
        if (observer != null && observer.isConnected()) {
            observer.disconnect();
            observer.close();
        }
        observer = null;
    }

    /** Waits, checking every 10 ms, up to 15 s for {@code condition}. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Override
    public void close() throws IOException, MqttException {
        try {
            if (gateway != null) {
                gateway.close();
            }
            closeObserver();
        } finally {
            relay.close();
            broker.close();
        }
    }
}
