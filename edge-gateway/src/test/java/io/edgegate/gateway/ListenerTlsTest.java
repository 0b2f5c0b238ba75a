package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.testing.HttpsTestClient;
import io.edgegate.bridge.testing.SecretVolume;
import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.bridge.testing.TestCertificates.KeyFormat;
import io.edgegate.bridge.testing.TlsProbe;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both listeners of a gateway over TLS from PEM files ({@code edgegate.tls.*}): real handshakes,
 * mTLS, and a certificate rotated on disk while the gateway runs.
 */
class ListenerTlsTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("gateway-test-ca");
    private static final TestCertificates.Authority OTHER = TestCertificates.authority("stranger-ca");

    @TempDir
    Path dir;

    private Map<String, String> tlsEnv(Path cert, Path key) {
        Map<String, String> env = new HashMap<>();
        env.put("EDGEGATE_TLS_CERT_FILE", cert.toString());
        env.put("EDGEGATE_TLS_KEY_FILE", key.toString());
        return env;
    }

    private TestGateway start(Map<String, String> env) {
        return TestGateway.start(dir.resolve("data"), env);
    }

    /** The one place this class sends HTTP to a gateway. */
    private static HttpResponse<String> get(HttpsTestClient client, int port, String path) throws IOException {
        return client.send("GET", HttpsTestClient.https(port, path), null);
    }

    private static X509Certificate served(int port) {
        return TlsProbe.servedCertificate(port, TestCertificates.clientContext(CA, null));
    }

    @Test
    void bothListenersServeHttpsWithTheConfiguredCertificate() throws Exception {
        TestCertificates.Issued server = CA.server("edge-gateway");
        TestCertificates.Written files = server.written(dir.resolve("tls"));
        try (TestGateway gateway = start(tlsEnv(files.cert(), files.key()))) {
            HttpsTestClient client = HttpsTestClient.trusting(CA);
            assertEquals(200, get(client, gateway.gateway().port(), "/readyz").statusCode());
            assertEquals(
                    200,
                    get(client, gateway.gateway().consulPort(), "/v1/status/leader")
                            .statusCode());
            assertEquals(server.certificate(), served(gateway.gateway().port()));
            assertEquals(server.certificate(), served(gateway.gateway().consulPort()));
        }
    }

    /**
     * Registrations and heartbeats over TLS on both listeners: the lean connections answer them on
     * the connection's thread (a TLS connection is never on an event loop).
     */
    @Test
    void registrationsAndHeartbeatsAreServedOverTlsOnBothListeners() throws Exception {
        TestCertificates.Written files = CA.server("edge-gateway").written(dir.resolve("tls"));
        try (TestGateway gateway = start(tlsEnv(files.cert(), files.key()))) {
            HttpsTestClient client = HttpsTestClient.trusting(CA);
            String token = gateway.managementToken();
            int port = gateway.gateway().port();
            int consul = gateway.gateway().consulPort();
            String[] auth = {"X-Consul-Token", token};
            assertEquals(
                    200,
                    client.send(
                                    "POST",
                                    HttpsTestClient.https(port, "/v1/instances"),
                                    "{\"service\":\"tls\",\"id\":\"tls-1\",\"address\":\"127.0.0.1\",\"port\":9000,"
                                            + "\"check\":{\"ttl\":\"30s\"}}",
                                    auth)
                            .statusCode());
            assertEquals(
                    200,
                    client.send("PUT", HttpsTestClient.https(port, "/v1/instances/tls-1/heartbeat"), null, auth)
                            .statusCode());
            assertEquals(
                    200,
                    client.send(
                                    "PUT",
                                    HttpsTestClient.https(consul, "/v1/agent/service/register"),
                                    "{\"ID\":\"tls-2\",\"Name\":\"tls\",\"Port\":9000,\"Check\":{\"TTL\":\"30s\"}}",
                                    auth)
                            .statusCode());
            assertEquals(
                    200,
                    client.send("PUT", HttpsTestClient.https(consul, "/v1/agent/check/pass/service:tls-2"), null, auth)
                            .statusCode());
            assertEquals(
                    403,
                    client.send("PUT", HttpsTestClient.https(port, "/v1/instances/tls-1/heartbeat"), null)
                            .statusCode());
            ObjectMapper json = new ObjectMapper();
            JsonNode instance =
                    json.readTree(client.send("GET", HttpsTestClient.https(port, "/v1/instances/tls-1"), null, auth)
                            .body());
            assertEquals("passing", instance.get("checks").get(0).get("status").asText(), instance.toString());
            JsonNode checks =
                    json.readTree(client.send("GET", HttpsTestClient.https(consul, "/v1/agent/checks"), null, auth)
                            .body());
            assertEquals("passing", checks.get("service:tls-2").get("Status").asText(), checks.toString());
            JsonNode status = json.readTree(client.send("GET", HttpsTestClient.https(port, "/v1/status"), null, auth)
                    .body());
            // the five writes above, the refusal included, answered by the lean connections
            assertEquals(5, status.get("proxy").get("lean-api-requests").asLong(), status.toString());
        }
    }

    @Test
    void requiredClientCertificatesRefuseStrangersAndAcceptTheConfiguredAuthority() throws Exception {
        TestCertificates.Written files = CA.server("edge-gateway").written(dir.resolve("tls"));
        Map<String, String> env = tlsEnv(files.cert(), files.key());
        env.put(
                "EDGEGATE_TLS_CLIENT_CA_FILE",
                CA.write(dir.resolve("clients.crt")).toString());
        try (TestGateway gateway = start(env)) {
            Map<Integer, String> paths = Map.of(
                    gateway.gateway().port(), "/readyz", gateway.gateway().consulPort(), "/v1/status/leader");
            for (Map.Entry<Integer, String> listener : paths.entrySet()) {
                int port = listener.getKey();
                String path = listener.getValue();
                assertThrows(
                        IOException.class,
                        () -> get(HttpsTestClient.trusting(CA), port, path),
                        "a client without a certificate is refused on port " + port);
                assertThrows(
                        IOException.class,
                        () -> get(HttpsTestClient.presenting(CA, OTHER.client("stranger")), port, path),
                        "a client of another CA is refused on port " + port);
                HttpResponse<String> member = get(HttpsTestClient.presenting(CA, CA.client("member")), port, path);
                assertEquals(200, member.statusCode(), member.body());
            }
        }
    }

    @Test
    void optionalClientCertificatesServeClientsWithoutOneAndRefuseStrangers() throws Exception {
        TestCertificates.Written files = CA.server("edge-gateway").written(dir.resolve("tls"));
        Map<String, String> env = tlsEnv(files.cert(), files.key());
        env.put(
                "EDGEGATE_TLS_CLIENT_CA_FILE",
                CA.write(dir.resolve("clients.crt")).toString());
        env.put("EDGEGATE_TLS_CLIENT_AUTH", "optional");
        try (TestGateway gateway = start(env)) {
            int port = gateway.gateway().port();
            assertEquals(200, get(HttpsTestClient.trusting(CA), port, "/readyz").statusCode());
            assertThrows(
                    IOException.class,
                    () -> get(HttpsTestClient.presenting(CA, OTHER.client("stranger")), port, "/readyz"));
        }
    }

    @Test
    void certificateRotatedBySecretUpdateIsServedToNewConnectionsWithoutARestart() throws Exception {
        SecretVolume volume = new SecretVolume(dir.resolve("secret"));
        TestCertificates.Issued before = CA.server("before");
        volume.publish(before, KeyFormat.TRADITIONAL);
        try (TestGateway gateway = start(tlsEnv(volume.file("tls.crt"), volume.file("tls.key")))) {
            EdgeGateway running = gateway.gateway();
            int port = running.port();
            int consulPort = running.consulPort();
            assertEquals(before.certificate(), served(port));

            TestCertificates.Issued after = CA.server("after");
            volume.publish(after, KeyFormat.PKCS8);
            assertEquals(after.certificate(), awaitServed(port, after.certificate()));
            assertEquals(after.certificate(), awaitServed(consulPort, after.certificate()));
            assertEquals(200, get(HttpsTestClient.trusting(CA), port, "/readyz").statusCode());
            assertTrue(running == gateway.gateway() && running.port() == port, "the same gateway, still running");
        }
    }

    @Test
    void badKeyAfterStartKeepsTheCertificateInForce() throws Exception {
        TestCertificates.Issued server = CA.server("steady");
        TestCertificates.Written files = server.written(dir.resolve("tls"));
        try (TestGateway gateway = start(tlsEnv(files.cert(), files.key()))) {
            Files.writeString(files.key(), "-----BEGIN PRIVATE KEY-----\ncut");
            Thread.sleep(1_100); // past the check interval: the next handshake looks at the files
            for (int i = 0; i < 3; i++) {
                assertEquals(server.certificate(), served(gateway.gateway().port()));
            }
            assertEquals(
                    200,
                    get(HttpsTestClient.trusting(CA), gateway.gateway().port(), "/readyz")
                            .statusCode());
        }
    }

    /** New connections until one gets {@code expected} (the files are looked at once a second). */
    private static X509Certificate awaitServed(int port, X509Certificate expected) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        X509Certificate seen = served(port);
        while (!seen.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            seen = served(port);
        }
        return seen;
    }

    // ---------------------------------------------------------------- configuration

    @Test
    void certificateWithoutKeyStopsTheStartNamingBothKeys() {
        Path cert = CA.server("x").written(dir.resolve("tls")).cert();
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_TLS_CERT_FILE", cert.toString()), (Path) null));
        assertTrue(
                e.getMessage().contains("edgegate.tls.cert-file=")
                        && e.getMessage().contains("edgegate.tls.key-file="),
                e.getMessage());
    }

    @Test
    void keyOfAnotherCertificateStopsTheStartNamingTheFile() {
        TestCertificates.Written files = CA.server("x").written(dir.resolve("tls"));
        TestCertificates.Written other = CA.server("y").written(dir.resolve("other"));
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(tlsEnv(files.cert(), other.key()), (Path) null));
        assertTrue(
                e.getMessage().contains(other.key().toString())
                        && e.getMessage().contains("does not belong"),
                e.getMessage());
    }

    @Test
    void unknownClientAuthStopsTheStart() {
        TestCertificates.Written files = CA.server("x").written(dir.resolve("tls"));
        Map<String, String> env = tlsEnv(files.cert(), files.key());
        env.put("EDGEGATE_TLS_CLIENT_CA_FILE", CA.write(dir.resolve("ca.crt")).toString());
        env.put("EDGEGATE_TLS_CLIENT_AUTH", "sometimes");
        GatewayConfig.ConfigException e =
                assertThrows(GatewayConfig.ConfigException.class, () -> GatewayConfig.load(env, (Path) null));
        assertTrue(e.getMessage().contains("edgegate.tls.client-auth=sometimes"), e.getMessage());
    }

    @Test
    void mqttClientCertificateFilesReachTheLinkOptions() {
        TestCertificates.Written client = CA.client("node").written(dir.resolve("mqtt"));
        Path ca = CA.write(dir.resolve("broker-ca.crt"));
        GatewayConfig config = GatewayConfig.load(
                Map.of(
                        "EDGEGATE_MQTT_URL", "ssl://broker:8883",
                        "EDGEGATE_MQTT_CA_FILE", ca.toString(),
                        "EDGEGATE_MQTT_CERT_FILE", client.cert().toString(),
                        "EDGEGATE_MQTT_KEY_FILE", client.key().toString()),
                (Path) null);
        var tls = config.sync().link().tls();
        assertEquals(ca, tls.caFile());
        assertEquals(client.cert(), tls.certFile());
        assertEquals(client.key(), tls.keyFile());
    }

    @Test
    void mqttCaFileBesideATrustStoreStopsTheStart() {
        Path ca = CA.write(dir.resolve("broker-ca.crt"));
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_MQTT_URL", "ssl://broker:8883",
                                "EDGEGATE_MQTT_CA_FILE", ca.toString(),
                                "EDGEGATE_MQTT_TRUST_STORE",
                                        dir.resolve("trust.p12").toString()),
                        (Path) null));
        assertTrue(e.getMessage().contains("trustStore"), e.getMessage());
    }
}
