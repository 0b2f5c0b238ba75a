package io.edgegate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.SecretVolume;
import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.bridge.testing.TestCertificates.KeyFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's certificate read again from its files: real handshakes against a TLS server over
 * the manager, the files changed between them. The check interval is 0 (every handshake looks),
 * so no test waits for a clock.
 */
class ReloadingKeyManagerTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("reload-test-ca");

    @TempDir
    Path dir;

    private static X509Certificate served(TestTlsServer server) {
        return server.served(TestCertificates.clientContext(CA, null));
    }

    private TestTlsServer server(ReloadingKeyManager keys) throws Exception {
        return new TestTlsServer(TlsContexts.server(keys, null), false);
    }

    @Test
    void certificateReplacedInPlaceIsServedToTheNextConnection() throws Exception {
        TestCertificates.Issued first = CA.server("first");
        TestCertificates.Written files = first.written(dir);
        ReloadingKeyManager keys = ReloadingKeyManager.load(files.cert(), files.key(), 0);
        try (TestTlsServer server = server(keys)) {
            assertEquals(first.certificate(), served(server));
            TestCertificates.Issued second = CA.server("second");
            // written aside and renamed over each file, as a careful tool does
            TestCertificates.Written staged = second.written(dir.resolve("staging"));
            Files.move(staged.key(), files.key(), StandardCopyOption.ATOMIC_MOVE);
            Files.move(staged.cert(), files.cert(), StandardCopyOption.ATOMIC_MOVE);
            assertEquals(second.certificate(), served(server));
            assertEquals(1, keys.reloads());
        }
    }

    @Test
    void kubernetesSecretUpdateBySymlinkSwapIsServedToTheNextConnection() throws Exception {
        SecretVolume volume = new SecretVolume(dir.resolve("secret"));
        TestCertificates.Issued first = CA.server("before-rotation");
        volume.publish(first, KeyFormat.PKCS8);
        ReloadingKeyManager keys = ReloadingKeyManager.load(volume.file("tls.crt"), volume.file("tls.key"), 0);
        try (TestTlsServer server = server(keys)) {
            assertEquals(first.certificate(), served(server));
            TestCertificates.Issued second = CA.server("after-rotation");
            volume.publish(second, KeyFormat.TRADITIONAL);
            assertEquals(second.certificate(), served(server));
            assertTrue(Files.isSymbolicLink(volume.file("tls.crt")));
        }
    }

    @Test
    void badKeyKeepsTheCertificateInForceAndIsReportedOnce() throws Exception {
        TestCertificates.Issued first = CA.server("good");
        TestCertificates.Written files = first.written(dir);
        ReloadingKeyManager keys = ReloadingKeyManager.load(files.cert(), files.key(), 0);
        try (TestTlsServer server = server(keys)) {
            Files.writeString(files.key(), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
            for (int i = 0; i < 5; i++) {
                assertEquals(first.certificate(), served(server), "handshake " + i);
            }
            assertEquals(1, keys.failures());
            assertTrue(keys.lastError().contains(files.key().toString()), keys.lastError());
            // a good pair later is taken up
            TestCertificates.Issued next = CA.server("fixed");
            TestCertificates.Written staged = next.written(dir.resolve("staging"));
            Files.move(staged.cert(), files.cert(), StandardCopyOption.REPLACE_EXISTING);
            Files.move(staged.key(), files.key(), StandardCopyOption.REPLACE_EXISTING);
            assertEquals(next.certificate(), served(server));
            assertEquals(1, keys.failures());
        }
    }

    @Test
    void certificateWrittenBeforeItsKeyKeepsTheOldPairUntilTheKeyArrives() throws Exception {
        TestCertificates.Issued first = CA.server("pair-1");
        TestCertificates.Written files = first.written(dir);
        ReloadingKeyManager keys = ReloadingKeyManager.load(files.cert(), files.key(), 0);
        try (TestTlsServer server = server(keys)) {
            TestCertificates.Issued second = CA.server("pair-2");
            Files.writeString(files.cert(), TestCertificates.pem(second.certificate()));
            assertEquals(first.certificate(), served(server));
            assertTrue(keys.lastError().contains("does not belong"), keys.lastError());
            Files.writeString(files.key(), second.keyPem(KeyFormat.PKCS8));
            assertEquals(second.certificate(), served(server));
        }
    }

    @Test
    void halfWrittenCertificateKeepsTheOldOne() throws Exception {
        TestCertificates.Issued first = CA.server("whole");
        TestCertificates.Written files = first.written(dir);
        ReloadingKeyManager keys = ReloadingKeyManager.load(files.cert(), files.key(), 0);
        try (TestTlsServer server = server(keys)) {
            String next = TestCertificates.pem(CA.server("half").certificate());
            Files.writeString(files.cert(), next.substring(0, next.length() / 2));
            assertEquals(first.certificate(), served(server));
            assertEquals(1, keys.failures());
        }
    }

    @Test
    void secretVolumeWithAnRsaPkcs1KeyServesIt() throws Exception {
        SecretVolume volume = new SecretVolume(dir.resolve("rsa"));
        TestCertificates.Issued rsa = CA.issue("rsa", TestCertificates.KeyKind.RSA, true, "127.0.0.1");
        volume.publish(rsa, KeyFormat.TRADITIONAL);
        ReloadingKeyManager keys = ReloadingKeyManager.load(volume.file("tls.crt"), volume.file("tls.key"));
        try (TestTlsServer server = server(keys)) {
            assertEquals(rsa.certificate(), served(server));
        }
    }

    @Test
    void unusableFilesAtStartAreThrownNamingTheFile() {
        TlsMaterialException e = assertThrows(
                TlsMaterialException.class,
                () -> ReloadingKeyManager.load(dir.resolve("tls.crt"), dir.resolve("tls.key")));
        assertTrue(e.getMessage().contains("tls.crt"), e.getMessage());
    }

    @Test
    void clientCertificateIsReloadedForTheNextConnection() throws Exception {
        SecretVolume volume = new SecretVolume(dir.resolve("client"));
        volume.publish(CA.client("client-1"), KeyFormat.PKCS8);
        ReloadingKeyManager clientKeys = ReloadingKeyManager.load(volume.file("tls.crt"), volume.file("tls.key"), 0);
        java.util.List<X509Certificate> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        javax.net.ssl.X509TrustManager recorder = new RecordingTrustManager(seen);
        TestCertificates.Written serverFiles = CA.server("server").written(dir.resolve("server"));
        try (TestTlsServer server = new TestTlsServer(
                TlsContexts.server(ReloadingKeyManager.load(serverFiles.cert(), serverFiles.key()), recorder), true)) {
            ReloadingTrustManager trust = caFileTrust();
            assertTrue(server.accepts(TlsContexts.client(trust, clientKeys)));
            volume.publish(CA.client("client-2"), KeyFormat.TRADITIONAL);
            assertTrue(server.accepts(TlsContexts.client(trust, clientKeys)));
            assertEquals(
                    java.util.List.of("CN=client-1", "CN=client-2"),
                    seen.stream()
                            .map(c -> c.getSubjectX500Principal().getName())
                            .toList());
        }
    }

    private ReloadingTrustManager caFileTrust() {
        return ReloadingTrustManager.load(CA.write(dir.resolve("ca.crt")));
    }

    /** Accepts any client and records its leaf certificate. */
    private record RecordingTrustManager(java.util.List<X509Certificate> seen)
            implements javax.net.ssl.X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            seen.add(chain[0]);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
