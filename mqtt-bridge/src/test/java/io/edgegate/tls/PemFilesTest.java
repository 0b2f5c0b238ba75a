package io.edgegate.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.bridge.testing.TestCertificates.KeyFormat;
import io.edgegate.bridge.testing.TestCertificates.KeyKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading certificates and keys in the PEM forms Kubernetes TLS Secrets carry. */
class PemFilesTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("pem-test-ca");

    @TempDir
    Path dir;

    private PemFiles.CertifiedKey load(TestCertificates.Issued issued, KeyFormat format) {
        TestCertificates.Written files = issued.written(dir, format);
        return PemFiles.certifiedKey(files.cert(), files.key());
    }

    @Test
    void pkcs8EcKeyLoadsWithItsChain() {
        TestCertificates.Issued issued = CA.server("pkcs8-ec");
        PemFiles.CertifiedKey key = load(issued, KeyFormat.PKCS8);
        assertEquals(issued.certificate(), key.certificate());
        assertEquals(List.of(issued.certificate(), CA.certificate()), key.chain());
        assertEquals("EC", key.key().getAlgorithm());
    }

    @Test
    void pkcs1RsaKeyLoads() throws Exception {
        TestCertificates.Issued issued = CA.issue("pkcs1-rsa", KeyKind.RSA, true, "127.0.0.1");
        assertTrue(issued.keyPem(KeyFormat.TRADITIONAL).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
        PemFiles.CertifiedKey key = load(issued, KeyFormat.TRADITIONAL);
        assertEquals(issued.keys().getPrivate(), key.key());
    }

    @Test
    void pkcs8RsaKeyLoads() {
        TestCertificates.Issued issued = CA.issue("pkcs8-rsa", KeyKind.RSA, true, "127.0.0.1");
        assertEquals("RSA", load(issued, KeyFormat.PKCS8).key().getAlgorithm());
    }

    @Test
    void sec1EcKeyLoads() {
        TestCertificates.Issued issued = CA.server("sec1-ec");
        assertTrue(issued.keyPem(KeyFormat.TRADITIONAL).startsWith("-----BEGIN EC PRIVATE KEY-----"));
        PrivateKey key = load(issued, KeyFormat.TRADITIONAL).key();
        assertEquals(scalar(issued.keys().getPrivate()), scalar(key));
    }

    @Test
    void sec1EcKeyAfterEcParametersAsOpensslWritesItLoads() throws Exception {
        TestCertificates.Issued issued = CA.server("ecparam");
        Path file = dir.resolve("ecparam.key");
        // openssl ecparam -name prime256v1 -genkey writes the curve's parameters first
        Files.writeString(
                file,
                "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
                        + issued.keyPem(KeyFormat.TRADITIONAL));
        assertEquals(scalar(issued.keys().getPrivate()), scalar(PemFiles.privateKey(file)));
    }

    @Test
    void sec1EcKeyWithoutItsCurveTakesTheCertificatesCurve() throws Exception {
        TestCertificates.Issued issued = CA.server("sec1-no-curve");
        TestCertificates.Written files = issued.written(dir);
        String pem = "-----BEGIN EC PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder().encodeToString(issued.sec1WithoutCurve())
                + "\n-----END EC PRIVATE KEY-----\n";
        Files.writeString(files.key(), pem);
        assertEquals(
                issued.keys().getPrivate(),
                PemFiles.certifiedKey(files.cert(), files.key()).key());
        TlsMaterialException alone = assertThrows(TlsMaterialException.class, () -> PemFiles.privateKey(files.key()));
        assertTrue(alone.getMessage().contains("curve"), alone.getMessage());
    }

    @Test
    void keyOfAnotherCertificateIsRefusedNamingBothFiles() {
        TestCertificates.Written files = CA.server("one").written(dir);
        Path otherKey = dir.resolve("other.key");
        write(otherKey, CA.server("two").keyPem(KeyFormat.PKCS8));
        TlsMaterialException e =
                assertThrows(TlsMaterialException.class, () -> PemFiles.certifiedKey(files.cert(), otherKey));
        assertTrue(e.getMessage().contains("other.key") && e.getMessage().contains("does not belong"), e.getMessage());
    }

    @Test
    void certificateFileCutShortIsRefused() throws Exception {
        TestCertificates.Written files = CA.server("cut").written(dir);
        String full = Files.readString(files.cert());
        // the leaf is whole, the issuer's block has no END line yet: a file being written
        Files.writeString(files.cert(), full.substring(0, full.length() - 40));
        TlsMaterialException e = assertThrows(TlsMaterialException.class, () -> PemFiles.certificates(files.cert()));
        assertTrue(e.getMessage().contains("cut short"), e.getMessage());
    }

    @Test
    void keyFileCutShortIsRefused() throws Exception {
        TestCertificates.Written files = CA.server("cut-key").written(dir);
        String full = Files.readString(files.key());
        Files.writeString(files.key(), full.substring(0, full.length() / 2));
        TlsMaterialException e = assertThrows(TlsMaterialException.class, () -> PemFiles.privateKey(files.key()));
        assertTrue(e.getMessage().contains("cut short"), e.getMessage());
    }

    @Test
    void encryptedKeyIsRefusedNamingWhy() {
        Path file = dir.resolve("enc.key");
        write(file, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        TlsMaterialException e = assertThrows(TlsMaterialException.class, () -> PemFiles.privateKey(file));
        assertTrue(e.getMessage().contains("encrypted"), e.getMessage());
    }

    @Test
    void fileWithoutPemIsRefusedWithoutQuotingIt() {
        Path file = dir.resolve("secret.txt");
        write(file, "top-secret-value\n");
        TlsMaterialException e = assertThrows(TlsMaterialException.class, () -> PemFiles.certificates(file));
        assertTrue(e.getMessage().contains("no PEM certificate"), e.getMessage());
        assertTrue(!e.getMessage().contains("top-secret-value"), e.getMessage());
    }

    @Test
    void deviceIsRefusedWithoutReadingIt() {
        TlsMaterialException e =
                assertThrows(TlsMaterialException.class, () -> PemFiles.certificates(Path.of("/dev/zero")));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        TlsMaterialException e =
                assertThrows(TlsMaterialException.class, () -> PemFiles.certificates(dir.resolve("nope.crt")));
        assertTrue(e.getMessage().contains("nope.crt") && e.getMessage().contains("no such file"), e.getMessage());
    }

    /** An EC key's secret: encodings differ by what optional fields they carry. */
    private static java.math.BigInteger scalar(PrivateKey key) {
        return ((java.security.interfaces.ECPrivateKey) key).getS();
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
