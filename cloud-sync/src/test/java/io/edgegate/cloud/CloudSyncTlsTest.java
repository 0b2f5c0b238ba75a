package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.HttpsTestClient;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.bridge.testing.TlsProbe;
import io.edgegate.tls.ClientTlsFiles;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cloud-sync with TLS everywhere: both listeners over TLS with client certificates required
 * ({@code cloudsync.tls.*}), and its link to a mosquitto TLS listener that requires a client
 * certificate ({@code cloudsync.mqtt.*}); an edge node played by an {@link EdgeLink} with its own.
 */
class CloudSyncTlsTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("cloud-test-ca");
    private static final TestCertificates.Authority OTHER = TestCertificates.authority("stranger-ca");

    @TempDir
    Path dir;

    private MosquittoBroker broker;
    private Path caFile;
    private TestCertificates.Issued server;
    private CloudSync cloud;

    @BeforeEach
    void startBroker() throws Exception {
        caFile = CA.write(dir.resolve("ca.crt"));
        TestCertificates.Written brokerFiles = CA.server("broker").written(dir.resolve("broker"));
        broker = MosquittoBroker.startTls(caFile, brokerFiles.cert(), brokerFiles.key(), true);
    }

    @AfterEach
    void stop() {
        if (cloud != null) {
            cloud.close();
        }
        broker.close();
    }

    private static final String TOKEN = "tls-test-token-0123456789";

    private Map<String, String> env(boolean mqttClientCertificate) {
        server = CA.server("cloud-sync");
        TestCertificates.Written listener = server.written(dir.resolve("listener"));
        Map<String, String> env = new HashMap<>();
        env.put("CLOUDSYNC_PORT", "0");
        env.put("CLOUDSYNC_CONSUL_PORT", "0");
        env.put("CLOUDSYNC_TLS_CERT_FILE", listener.cert().toString());
        env.put("CLOUDSYNC_TLS_KEY_FILE", listener.key().toString());
        env.put("CLOUDSYNC_TLS_CLIENT_CA_FILE", caFile.toString());
        env.put("CLOUDSYNC_MQTT_URL", broker.url());
        env.put("CLOUDSYNC_MQTT_CLIENT_ID", "cloud-tls");
        env.put("CLOUDSYNC_MQTT_CA_FILE", caFile.toString());
        env.put("CLOUDSYNC_ACL_TOKENS_FILE", tokensFile().toString());
        if (mqttClientCertificate) {
            TestCertificates.Written client =
                    CA.client("cloud-sync").written(dir.resolve("mqtt-client"), TestCertificates.KeyFormat.TRADITIONAL);
            env.put("CLOUDSYNC_MQTT_CERT_FILE", client.cert().toString());
            env.put("CLOUDSYNC_MQTT_KEY_FILE", client.key().toString());
        }
        return env;
    }

    private CloudSync start(Map<String, String> env) {
        cloud = CloudSync.start(CloudSyncConfig.load(env, (Path) null));
        return cloud;
    }

    private Path tokensFile() {
        Path file = dir.resolve("acl.yaml");
        try {
            java.nio.file.Files.writeString(file, "tokens: [{secret: " + TOKEN + ", policies: [global-management]}]");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return file;
    }

    /** The one place this class sends HTTP to cloud-sync. */
    private static HttpResponse<String> get(HttpsTestClient client, int port, String path) throws IOException {
        return client.send("GET", HttpsTestClient.https(port, path), null, "X-Consul-Token", TOKEN);
    }

    private EdgeLink edge() throws Exception {
        TestCertificates.Written files = CA.client("edge-node").written(dir.resolve("edge"));
        EdgeLink link = EdgeLink.start(
                LinkOptions.builder(broker.url(), "edge-plant-n1")
                        .backoff(20, 200)
                        .tls(new ClientTlsFiles(caFile, files.cert(), files.key()))
                        .build(),
                new Topics("plant", "n1"),
                "10.0.0.2",
                1,
                new EdgeLink.Handler() {
                    @Override
                    public void onConnected() {}

                    @Override
                    public void onResync(io.edgegate.bridge.ResyncCommand command) {}

                    @Override
                    public void onConfig(io.edgegate.bridge.ConfigPush push, boolean siteWide) {}

                    @Override
                    public void onConfigRemoved(io.edgegate.bridge.ConfigRemoved removed, boolean siteWide) {}
                });
        assertTrue(link.link().awaitConnected(10_000), link.link().lastError());
        return link;
    }

    @Test
    void fleetArrivesOverMtlsAndIsServedOverHttpsOnBothListeners() throws Exception {
        CloudSync cloud = start(env(true));
        assertTrue(
                cloud.link().link().awaitConnected(10_000), cloud.link().link().lastError());
        try (EdgeLink edge = edge()) {
            CountDownLatch acked = new CountDownLatch(1);
            assertEquals(
                    MqttLink.Send.SENT,
                    edge.publishState(
                            new InstanceState(
                                    "llm", "llm-1", "10.0.0.5", 8000, List.of(), Map.of(), SyncHealth.PASSING, 1, 1, 0),
                            ok -> acked.countDown()));
            assertTrue(acked.await(5, TimeUnit.SECONDS));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (cloud.fleet().view().instances(null, null, null).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            HttpsTestClient member = HttpsTestClient.presenting(CA, CA.client("operator"));
            HttpResponse<String> services = get(member, cloud.port(), "/v1/services/llm");
            assertEquals(200, services.statusCode(), services.body());
            assertTrue(services.body().contains("llm-1"), services.body());
            HttpResponse<String> catalog = get(member, cloud.consulPort(), "/v1/catalog/services");
            assertEquals(200, catalog.statusCode(), catalog.body());
            assertTrue(catalog.body().contains("llm"), catalog.body());
            for (int port : new int[] {cloud.port(), cloud.consulPort()}) {
                assertEquals(
                        server.certificate(),
                        TlsProbe.servedCertificate(port, TestCertificates.clientContext(CA, CA.client("probe"))));
            }
        }
    }

    @Test
    void listenersRefuseClientsWithoutACertificateOrOfAnotherAuthority() throws Exception {
        CloudSync cloud = start(env(true));
        for (int port : new int[] {cloud.port(), cloud.consulPort()}) {
            assertThrows(IOException.class, () -> get(HttpsTestClient.trusting(CA), port, "/v1/catalog/services"));
            assertThrows(
                    IOException.class,
                    () -> get(HttpsTestClient.presenting(CA, OTHER.client("stranger")), port, "/v1/catalog/services"));
        }
    }

    @Test
    void replicaWithoutAClientCertificateIsRefusedByTheBroker() throws Exception {
        CloudSync cloud = start(env(false));
        assertFalse(cloud.link().link().awaitConnected(3_000), "connected without a client certificate");
    }

    @Test
    void listenerCertificateWithoutKeyStopsTheStartNamingBothKeys() {
        Map<String, String> env = env(true);
        env.remove("CLOUDSYNC_TLS_KEY_FILE");
        CloudSyncConfig.ConfigException e =
                assertThrows(CloudSyncConfig.ConfigException.class, () -> CloudSyncConfig.load(env, (Path) null));
        assertTrue(
                e.getMessage().contains("cloudsync.tls.cert-file=")
                        && e.getMessage().contains("cloudsync.tls.key-file="),
                e.getMessage());
    }
}
