package io.edgegate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.SecretVolume;
import io.edgegate.bridge.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client certificates verified against a CA bundle read again from its file (mTLS), with real handshakes. */
class ReloadingTrustManagerTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("trust-test-ca");
    private static final TestCertificates.Authority OTHER = TestCertificates.authority("other-ca");

    @TempDir
    Path dir;

    private TestTlsServer mtlsServer(ReloadingTrustManager clients) throws Exception {
        TestCertificates.Written files = CA.server("mtls-server").written(dir.resolve("server"));
        return new TestTlsServer(
                TlsContexts.server(ReloadingKeyManager.load(files.cert(), files.key()), clients), true);
    }

    private static SSLContext client(TestCertificates.Issued identity) {
        return TestCertificates.clientContext(CA, identity);
    }

    @Test
    void clientOfTheBundlesAuthorityIsAcceptedOthersAreRefused() throws Exception {
        ReloadingTrustManager clients = ReloadingTrustManager.load(CA.write(dir.resolve("ca.crt")), 0);
        try (TestTlsServer server = mtlsServer(clients)) {
            assertTrue(server.accepts(client(CA.client("member"))), "signed by the configured CA");
            assertFalse(server.accepts(client(null)), "no client certificate");
            assertFalse(server.accepts(client(OTHER.client("stranger"))), "signed by another CA");
        }
    }

    @Test
    void bundleSwappedLikeAKubernetesSecretTrustsTheNewAuthority() throws Exception {
        SecretVolume volume = new SecretVolume(dir.resolve("ca"));
        volume.publish(Map.of("ca.crt", TestCertificates.pem(CA.certificate())));
        ReloadingTrustManager clients = ReloadingTrustManager.load(volume.file("ca.crt"), 0);
        try (TestTlsServer server = mtlsServer(clients)) {
            TestCertificates.Issued stranger = OTHER.client("newcomer");
            assertFalse(server.accepts(client(stranger)));
            volume.publish(Map.of(
                    "ca.crt", TestCertificates.pem(CA.certificate()) + TestCertificates.pem(OTHER.certificate())));
            assertTrue(server.accepts(client(stranger)));
            assertEquals(2, clients.authorities().size());
        }
    }

    @Test
    void brokenBundleKeepsTheAuthoritiesInForceAndIsReportedOnce() throws Exception {
        Path bundle = CA.write(dir.resolve("ca.crt"));
        ReloadingTrustManager clients = ReloadingTrustManager.load(bundle, 0);
        try (TestTlsServer server = mtlsServer(clients)) {
            String pem = TestCertificates.pem(OTHER.certificate());
            Files.writeString(bundle, pem.substring(0, pem.length() / 2));
            for (int i = 0; i < 3; i++) {
                assertTrue(server.accepts(client(CA.client("still-" + i))), "handshake " + i);
            }
            assertEquals(1, clients.failures());
            assertTrue(clients.lastError().contains("ca.crt"), clients.lastError());
        }
    }

    @Test
    void lenientBundleMissingAtStartRefusesUntilItAppears() throws Exception {
        Path bundle = dir.resolve("later.crt");
        ReloadingTrustManager clients = ReloadingTrustManager.lenient(bundle);
        try (TestTlsServer server = mtlsServer(clients)) {
            assertFalse(server.accepts(client(CA.client("early"))));
            assertTrue(clients.lastError().contains("later.crt"), clients.lastError());
            CA.write(bundle);
            long deadline = System.nanoTime() + 10_000_000_000L;
            boolean accepted = false;
            while (!accepted && System.nanoTime() < deadline) {
                accepted = server.accepts(client(CA.client("late")));
                if (!accepted) {
                    Thread.sleep(100); // the lenient manager looks once per second
                }
            }
            assertTrue(accepted, "the bundle written after start is taken up: " + clients.lastError());
        }
    }
}
