package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.tls.ClientTlsFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The link over TLS with client certificates, against a mosquitto TLS listener that requires one
 * ({@code require_certificate true}): certificates made at run time, PEM files as a Kubernetes
 * TLS Secret holds them.
 */
class MqttTlsTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("mqtt-test-ca");

    @TempDir
    Path dir;

    MosquittoBroker broker;
    Path caFile;

    @BeforeEach
    void startBroker() throws Exception {
        caFile = CA.write(dir.resolve("ca.crt"));
        TestCertificates.Written server = CA.server("mosquitto").written(dir.resolve("broker"));
        broker = MosquittoBroker.startTls(caFile, server.cert(), server.key(), true);
    }

    @AfterEach
    void stopBroker() {
        broker.close();
    }

    private LinkOptions options(String clientId, TestCertificates.Issued identity, LinkOptions.Protocol protocol) {
        TestCertificates.Written files = identity == null
                ? null
                : identity.written(dir.resolve(clientId), TestCertificates.KeyFormat.TRADITIONAL);
        return LinkOptions.builder(broker.url(), clientId)
                .protocol(protocol)
                .backoff(20, 200)
                .keepAliveSeconds(2)
                .tls(new ClientTlsFiles(
                        caFile, files == null ? null : files.cert(), files == null ? null : files.key()))
                .build();
    }

    private static final class Collector implements MqttLink.Listener {
        final BlockingQueue<String> payloads = new LinkedBlockingQueue<>();

        @Override
        public void onMessage(String topic, byte[] payload, boolean retained) {
            payloads.add(new String(payload, StandardCharsets.UTF_8));
        }
    }

    private void publishesAndReceivesWithAClientCertificate(LinkOptions.Protocol protocol) throws Exception {
        Collector received = new Collector();
        try (MqttLink link = MqttLink.start(
                options("edge-" + protocol, CA.client("edge-node"), protocol),
                List.of("edgegate/v1/s/n/#"),
                null,
                received)) {
            assertTrue(link.awaitConnected(10_000), link.lastError());
            CountDownLatch acked = new CountDownLatch(1);
            assertEquals(
                    MqttLink.Send.SENT,
                    link.publish("edgegate/v1/s/n/status", "over-tls".getBytes(StandardCharsets.UTF_8), true, ok -> {
                        if (ok) {
                            acked.countDown();
                        }
                    }));
            assertTrue(acked.await(5, TimeUnit.SECONDS), "no PUBACK over TLS");
            assertEquals("over-tls", received.payloads.poll(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void mqtt5LinkWithAClientCertificateConnectsAndPublishes() throws Exception {
        publishesAndReceivesWithAClientCertificate(LinkOptions.Protocol.MQTT_5);
    }

    @Test
    void mqtt311LinkWithAClientCertificateConnectsAndPublishes() throws Exception {
        publishesAndReceivesWithAClientCertificate(LinkOptions.Protocol.MQTT_3_1_1);
    }

    @Test
    void linkWithoutAClientCertificateIsRefused() throws Exception {
        try (MqttLink link = MqttLink.start(
                options("anonymous", null, LinkOptions.Protocol.MQTT_5), List.of(), null, new Collector())) {
            assertFalse(link.awaitConnected(3_000), "connected without a client certificate");
            assertTrue(link.counters().connectFailures() >= 1, link.counters().toString());
        }
    }

    @Test
    void linkWithACertificateOfAnotherAuthorityIsRefused() throws Exception {
        TestCertificates.Authority other = TestCertificates.authority("not-the-brokers-ca");
        try (MqttLink link = MqttLink.start(
                options("stranger", other.client("stranger"), LinkOptions.Protocol.MQTT_5),
                List.of(),
                null,
                new Collector())) {
            assertFalse(link.awaitConnected(3_000), "connected with a certificate of another CA");
        }
    }

    @Test
    void brokerWhoseCertificateTheCaBundleDoesNotTrustIsRefused() throws Exception {
        Path otherCa = TestCertificates.authority("other").write(dir.resolve("other-ca.crt"));
        TestCertificates.Written client = CA.client("edge").written(dir.resolve("edge"));
        LinkOptions options = LinkOptions.builder(broker.url(), "wrong-trust")
                .backoff(20, 200)
                .tls(new ClientTlsFiles(otherCa, client.cert(), client.key()))
                .build();
        try (MqttLink link = MqttLink.start(options, List.of(), null, new Collector())) {
            assertFalse(link.awaitConnected(3_000), "trusted a broker of another CA");
            assertTrue(
                    link.lastError().contains("PKIX") || link.lastError().contains("certification"), link.lastError());
        }
    }

    @Test
    void certificateFilesWithATcpUrlAreRefused() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> LinkOptions.builder("tcp://127.0.0.1:1883", "c")
                        .tls(new ClientTlsFiles(caFile, null, null))
                        .build());
        assertTrue(e.getMessage().contains("ssl://"), e.getMessage());
    }
}
