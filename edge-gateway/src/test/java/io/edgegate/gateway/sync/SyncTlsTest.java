package io.edgegate.gateway.sync;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.gateway.TestGateway;
import io.edgegate.tls.ClientTlsFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's sync over MQTT with client certificates ({@code edgegate.mqtt.ca-file},
 * {@code cert-file}, {@code key-file}) against a mosquitto TLS listener that requires one.
 */
class SyncTlsTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("sync-test-ca");

    @TempDir
    Path dir;

    private MosquittoBroker broker;
    private Path caFile;

    @BeforeEach
    void startBroker() throws Exception {
        caFile = CA.write(dir.resolve("ca.crt"));
        TestCertificates.Written server = CA.server("broker").written(dir.resolve("broker"));
        broker = MosquittoBroker.startTls(caFile, server.cert(), server.key(), true);
    }

    @AfterEach
    void stopBroker() {
        broker.close();
    }

    private Map<String, String> env(TestCertificates.Written client) {
        Map<String, String> env = new HashMap<>();
        env.put("EDGEGATE_MQTT_URL", broker.url());
        env.put("EDGEGATE_SITE", "plant-tls");
        env.put("EDGEGATE_NODE", "node-tls");
        env.put("EDGEGATE_MQTT_CA_FILE", caFile.toString());
        if (client != null) {
            env.put("EDGEGATE_MQTT_CERT_FILE", client.cert().toString());
            env.put("EDGEGATE_MQTT_KEY_FILE", client.key().toString());
        }
        return env;
    }

    @Test
    void gatewayWithAClientCertificatePublishesItsStatusOverTls() throws Exception {
        TestCertificates.Written node =
                CA.client("node-tls").written(dir.resolve("node"), TestCertificates.KeyFormat.TRADITIONAL);
        TestCertificates.Written observerFiles = CA.client("observer").written(dir.resolve("observer"));
        BlockingQueue<String> statuses = new LinkedBlockingQueue<>();
        try (TestGateway gateway = TestGateway.start(dir.resolve("data"), env(node));
                MqttLink observer = MqttLink.start(
                        LinkOptions.builder(broker.url(), "observer")
                                .backoff(20, 200)
                                .tls(new ClientTlsFiles(caFile, observerFiles.cert(), observerFiles.key()))
                                .build(),
                        List.of("edgegate/v1/plant-tls/node-tls/status"),
                        null,
                        (topic, payload, retained) -> statuses.add(new String(payload, StandardCharsets.UTF_8)))) {
            assertTrue(awaitConnected(gateway), "the gateway's sync did not connect over mTLS");
            assertTrue(observer.awaitConnected(10_000), observer.lastError());
            String status = statuses.poll(10, TimeUnit.SECONDS);
            assertTrue(status != null && status.contains("\"state\":\"online\""), String.valueOf(status));
        }
    }

    @Test
    void gatewayWithoutAClientCertificateIsRefusedByTheBroker() throws Exception {
        try (TestGateway gateway = TestGateway.start(dir.resolve("data"), env(null))) {
            assertFalse(awaitConnected(gateway), "connected without a client certificate");
        }
    }

    private static boolean awaitConnected(TestGateway gateway) throws InterruptedException {
        SyncAgent agent = gateway.gateway().sync();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!agent.connected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return agent.connected();
    }
}
