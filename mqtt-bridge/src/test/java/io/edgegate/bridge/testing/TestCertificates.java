package io.edgegate.bridge.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * Certificates made at run time for TLS tests (no key is ever committed): a certificate authority,
 * server and client certificates it signs, PEM files of them in the formats Kubernetes TLS
 * Secrets carry, and JDK SSL contexts for test clients and servers. Built with BouncyCastle
 * ({@code bcpkix}), test scope only. Keys are EC P-256 unless RSA is asked for.
 */
public final class TestCertificates {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());
    private static final char[] PASSWORD = "test".toCharArray();

    private TestCertificates() {}

    /** How a private key is written. */
    public enum KeyFormat {
        /** {@code BEGIN PRIVATE KEY}. */
        PKCS8,
        /** {@code BEGIN RSA PRIVATE KEY} for RSA keys, {@code BEGIN EC PRIVATE KEY} (SEC1) for EC keys: OpenSSL's traditional forms. */
        TRADITIONAL
    }

    /** The key algorithm of a certificate. */
    public enum KeyKind {
        EC,
        RSA
    }

    /** A certificate authority: self-signed, signs server and client certificates. */
    public static final class Authority {
        private final KeyPair keys;
        private final X509Certificate certificate;

        private Authority(KeyPair keys, X509Certificate certificate) {
            this.keys = keys;
            this.certificate = certificate;
        }

        public X509Certificate certificate() {
            return certificate;
        }

        /** A server certificate for 127.0.0.1, ::1 and localhost. */
        public Issued server(String commonName) {
            return issue(commonName, KeyKind.EC, true, "127.0.0.1", "::1", "localhost");
        }

        /** A client certificate (client-auth usage). */
        public Issued client(String commonName) {
            return issue(commonName, KeyKind.EC, false);
        }

        /**
         * A certificate signed by this authority.
         *
         * @param server server-auth usage (else client-auth)
         * @param names subject alternative names: IP addresses or DNS names
         */
        public Issued issue(String commonName, KeyKind kind, boolean server, String... names) {
            KeyPair pair = keyPair(kind);
            X509Certificate cert =
                    sign(new X500Name("CN=" + commonName), pair, certificate, keys, false, server, names);
            return new Issued(pair, cert, this);
        }

        /** Writes the authority's certificate as a PEM bundle. */
        public Path write(Path file) {
            writeString(file, pem(certificate));
            return file;
        }
    }

    /** A certificate with its key, and the authority that signed it. */
    public static final class Issued {
        private final KeyPair keys;
        private final X509Certificate certificate;
        private final Authority issuer;

        private Issued(KeyPair keys, X509Certificate certificate, Authority issuer) {
            this.keys = keys;
            this.certificate = certificate;
            this.issuer = issuer;
        }

        public X509Certificate certificate() {
            return certificate;
        }

        public KeyPair keys() {
            return keys;
        }

        public Authority issuer() {
            return issuer;
        }

        /** Writes {@code tls.crt} (this certificate, then its issuer's) and {@code tls.key} (PKCS#8) into {@code dir}. */
        public Written written(Path dir) {
            return write(dir, KeyFormat.PKCS8);
        }

        /** Writes {@code tls.crt} (this certificate, then its issuer's) and {@code tls.key} into {@code dir}. */
        public Written written(Path dir, KeyFormat format) {
            return write(dir, format);
        }

        private Written write(Path dir, KeyFormat format) {
            try {
                java.nio.file.Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path cert = dir.resolve("tls.crt");
            Path key = dir.resolve("tls.key");
            writeString(cert, pem(certificate) + pem(issuer.certificate));
            writeString(key, keyPem(format));
            return new Written(cert, key);
        }

        /** The private key as PEM text. */
        public String keyPem(KeyFormat format) {
            try {
                StringWriter out = new StringWriter();
                try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
                    if (format == KeyFormat.PKCS8) {
                        writer.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
                    } else if (keys.getPrivate().getAlgorithm().equals("EC")) {
                        writer.writeObject(new PemObject("EC PRIVATE KEY", sec1WithCurve()));
                    } else {
                        writer.writeObject(keys.getPrivate());
                    }
                }
                return out.toString();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /**
         * The EC key in SEC1 form with its curve and public key, as OpenSSL and Go (cert-manager)
         * write it; {@link #keyPem} of {@link KeyFormat#TRADITIONAL} writes this.
         */
        public byte[] sec1WithCurve() throws IOException {
            PrivateKeyInfo info = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
            org.bouncycastle.asn1.sec.ECPrivateKey inner =
                    org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
            SubjectPublicKeyInfo publicKey =
                    SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
            return new org.bouncycastle.asn1.sec.ECPrivateKey(
                            256,
                            inner.getKey(),
                            publicKey.getPublicKeyData(),
                            info.getPrivateKeyAlgorithm().getParameters())
                    .getEncoded();
        }

        /** The EC key in SEC1 form without its curve (the parameters are optional), as some tools write it. */
        public byte[] sec1WithoutCurve() throws IOException {
            return PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded())
                    .parsePrivateKey()
                    .toASN1Primitive()
                    .getEncoded();
        }
    }

    /** Where a certificate chain and its key were written. */
    public record Written(Path cert, Path key) {}

    /** A new certificate authority. */
    public static Authority authority(String commonName) {
        KeyPair pair = keyPair(KeyKind.EC);
        X500Name name = new X500Name("CN=" + commonName);
        return new Authority(pair, sign(name, pair, null, pair, true, false));
    }

    /**
     * A client's SSL context (JDK only, independent of the code under test): trusts {@code trusted}
     * and presents {@code identity} when given.
     */
    public static SSLContext clientContext(Authority trusted, Issued identity) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(
                    identity == null ? null : keyManagers(identity),
                    trusted == null ? null : trustManagers(trusted),
                    RANDOM);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A server's SSL context (JDK only) presenting {@code identity}, trusting client certificates of {@code clients}. */
    public static SSLContext serverContext(Issued identity, Authority clients) {
        return clientContext(clients, identity);
    }

    private static javax.net.ssl.KeyManager[] keyManagers(Issued identity)
            throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("identity", identity.keys.getPrivate(), PASSWORD, new X509Certificate[] {
            identity.certificate, identity.issuer.certificate
        });
        KeyManagerFactory factory = KeyManagerFactory.getInstance("SunX509");
        factory.init(store, PASSWORD);
        return new javax.net.ssl.KeyManager[] {
            new PresentAlways((javax.net.ssl.X509ExtendedKeyManager) factory.getKeyManagers()[0])
        };
    }

    /**
     * Presents the identity whatever authorities the server names: the JDK's own choice would send
     * no certificate to a server that names another CA, so a refusal of a stranger's certificate
     * could not be tested.
     */
    private static final class PresentAlways extends javax.net.ssl.X509ExtendedKeyManager {
        private final javax.net.ssl.X509ExtendedKeyManager delegate;

        PresentAlways(javax.net.ssl.X509ExtendedKeyManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return "identity";
        }

        @Override
        public String chooseEngineClientAlias(
                String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
            return "identity";
        }

        @Override
        public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return delegate.chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineServerAlias(
                String keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
            return delegate.chooseEngineServerAlias(keyType, issuers, engine);
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return delegate.getClientAliases(keyType, issuers);
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return delegate.getServerAliases(keyType, issuers);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return delegate.getCertificateChain(alias);
        }

        @Override
        public java.security.PrivateKey getPrivateKey(String alias) {
            return delegate.getPrivateKey(alias);
        }
    }

    private static javax.net.ssl.TrustManager[] trustManagers(Authority trusted)
            throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("ca", trusted.certificate);
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(store);
        return factory.getTrustManagers();
    }

    /** PEM text of a certificate. */
    public static String pem(X509Certificate certificate) {
        try {
            StringWriter out = new StringWriter();
            try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
                writer.writeObject(certificate);
            }
            return out.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static KeyPair keyPair(KeyKind kind) {
        try {
            if (kind == KeyKind.RSA) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048, RANDOM);
                return g.generateKeyPair();
            }
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(
            X500Name subject,
            KeyPair subjectKeys,
            X509Certificate issuer,
            KeyPair issuerKeys,
            boolean ca,
            boolean server,
            String... names) {
        try {
            Instant now = Instant.now();
            X500Name issuerName = issuer == null
                    ? subject
                    : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    issuerName,
                    BigInteger.valueOf(SERIALS.incrementAndGet()),
                    Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(2))),
                    subject,
                    subjectKeys.getPublic());
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            builder.addExtension(
                    Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subjectKeys.getPublic()));
            builder.addExtension(
                    Extension.authorityKeyIdentifier,
                    false,
                    utils.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            if (ca) {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                builder.addExtension(
                        Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
                builder.addExtension(
                        Extension.extendedKeyUsage,
                        false,
                        new ExtendedKeyUsage(server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
            }
            if (names.length > 0) {
                List<GeneralName> sans = new ArrayList<>();
                for (String n : names) {
                    boolean ip = n.indexOf(':') >= 0 || n.chars().allMatch(c -> c == '.' || Character.isDigit(c));
                    sans.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, n));
                }
                builder.addExtension(
                        Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
            }
            String algorithm =
                    issuerKeys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
            ContentSigner signer = new JcaContentSignerBuilder(algorithm).build(issuerKeys.getPrivate());
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make a test certificate", e);
        }
    }

    private static void writeString(Path file, String text) {
        try {
            java.nio.file.Files.writeString(file, text, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
