package io.edgegate.tls;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import io.helidon.common.pki.PemReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;

/**
 * Reads PEM files as a Kubernetes TLS Secret holds them: a certificate chain ({@code tls.crt},
 * the leaf first), its private key ({@code tls.key}) and CA bundles ({@code ca.crt}).
 *
 * <p>Private keys may be PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 RSA ({@code BEGIN RSA PRIVATE
 * KEY}, cert-manager's default encoding) or SEC1 EC ({@code BEGIN EC PRIVATE KEY}, cert-manager's
 * default for ECDSA keys; a leading {@code EC PARAMETERS} block, as {@code openssl ecparam
 * -genkey} writes, is skipped). Certificates and PKCS#8 / PKCS#1 keys are parsed by Helidon's
 * {@code io.helidon.common.pki}; Helidon does not read SEC1, so an SEC1 key is wrapped into the
 * PKCS#8 structure the JDK reads (RFC 5915 in RFC 5208: a few bytes of DER around the key, the
 * curve taken from the key's own parameters). Encrypted keys are refused: a mounted Secret holds
 * its key in the clear.
 *
 * <p>Only regular files of at most {@link #MAX_FILE_BYTES} are read, so that a path that names a
 * device or a pipe fails at once instead of reading forever. Every failure is a
 * {@link TlsMaterialException} naming the file and why, never quoting its content. Stateless.
 */
public final class PemFiles {
    /** Largest PEM file read (a CA bundle of a few hundred certificates fits). */
    public static final int MAX_FILE_BYTES = 1 << 20;

    private static final String BEGIN = "-----BEGIN ";
    private static final String END = "-----END ";
    private static final String DASHES = "-----";
    /** DER of OID 1.2.840.10045.2.1 (id-ecPublicKey). */
    private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01
    };

    private PemFiles() {}

    /** A certificate chain, the leaf first, and the private key of the leaf. */
    public record CertifiedKey(List<X509Certificate> chain, PrivateKey key) {
        public CertifiedKey {
            chain = List.copyOf(chain);
        }

        /** The leaf certificate. */
        public X509Certificate certificate() {
            return chain.get(0);
        }
    }

    /** Reads every certificate of a PEM file (a chain or a CA bundle); at least one. */
    public static List<X509Certificate> certificates(Path file) {
        return certificates(file.toString(), read(file));
    }

    /** Reads a private key from a PEM file. */
    public static PrivateKey privateKey(Path file) {
        return privateKey(file.toString(), read(file));
    }

    /** Reads a certificate chain and its key, and checks that the key belongs to the leaf. */
    public static CertifiedKey certifiedKey(Path certFile, Path keyFile) {
        return certifiedKey(certFile.toString(), read(certFile), keyFile.toString(), read(keyFile));
    }

    static CertifiedKey certifiedKey(String certName, byte[] certPem, String keyName, byte[] keyPem) {
        List<X509Certificate> chain = certificates(certName, certPem);
        PrivateKey key = privateKey(keyName, keyPem, chain.get(0));
        requireMatch(chain.get(0), key, certName, keyName);
        return new CertifiedKey(chain, key);
    }

    /**
     * The bytes of a regular file of at most {@link #MAX_FILE_BYTES}, following symbolic links.
     *
     * @throws TlsMaterialException when it is missing, not a regular file, too large or unreadable
     */
    static byte[] read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TlsMaterialException(file + ": " + (Files.exists(file) ? "not a regular file" : "no such file"));
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(MAX_FILE_BYTES + 1);
            if (bytes.length > MAX_FILE_BYTES) {
                throw new TlsMaterialException(file + ": larger than " + MAX_FILE_BYTES + " bytes, not a PEM file");
            }
            return bytes;
        } catch (IOException e) {
            throw new TlsMaterialException(file + ": cannot be read (" + e + ")", e);
        }
    }

    static List<X509Certificate> certificates(String name, byte[] pem) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        int begins = count(text, BEGIN);
        int ends = count(text, END);
        List<X509Certificate> certificates;
        try {
            certificates = PemReader.readCertificates(new ByteArrayInputStream(pem));
        } catch (RuntimeException e) {
            throw new TlsMaterialException(
                    name + ": "
                            + (begins == 0
                                    ? "no PEM certificate in it"
                                    : "not a PEM certificate (" + e.getMessage() + ")"),
                    e);
        }
        // Helidon skips a block without its END line: a file cut short (being written) would pass
        // with fewer certificates than it will have.
        if (begins != ends || certificates.size() != begins) {
            throw new TlsMaterialException(name + ": a PEM block is cut short or is not a certificate (blocks="
                    + begins + ", complete=" + Math.min(begins, ends) + ", certificates=" + certificates.size()
                    + ")");
        }
        return List.copyOf(certificates);
    }

    static PrivateKey privateKey(String name, byte[] pem) {
        return privateKey(name, pem, null);
    }

    /**
     * @param certificate the key's certificate when known: an SEC1 key that does not name its
     *     curve takes the certificate's
     */
    static PrivateKey privateKey(String name, byte[] pem, X509Certificate certificate) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        int at = 0;
        while (true) {
            int begin = text.indexOf(BEGIN, at);
            if (begin < 0) {
                throw new TlsMaterialException(name + ": no PEM private key in it");
            }
            int labelEnd = text.indexOf(DASHES, begin + BEGIN.length());
            if (labelEnd < 0) {
                throw new TlsMaterialException(name + ": a PEM block is cut short");
            }
            String label = text.substring(begin + BEGIN.length(), labelEnd);
            String endLine = END + label + DASHES;
            int end = text.indexOf(endLine, labelEnd);
            if (end < 0) {
                throw new TlsMaterialException(name + ": the " + label + " block is cut short (no END line)");
            }
            String block = text.substring(begin, end + endLine.length());
            switch (label) {
                case "PRIVATE KEY", "RSA PRIVATE KEY" -> {
                    return helidonKey(name, label, block);
                }
                case "EC PRIVATE KEY" -> {
                    return sec1Key(
                            name,
                            block.substring(labelEnd + DASHES.length() - begin, block.length() - endLine.length()),
                            certificate);
                }
                case "ENCRYPTED PRIVATE KEY" ->
                    throw new TlsMaterialException(name + ": an encrypted private key (give the key unencrypted, as a"
                            + " Kubernetes TLS Secret holds it)");
                case "EC PARAMETERS" -> at = end + endLine.length(); // openssl ecparam -genkey writes these first
                default ->
                    throw new TlsMaterialException(name + ": a " + label
                            + " block where a private key was expected (PKCS#8 PRIVATE KEY, RSA PRIVATE KEY or EC"
                            + " PRIVATE KEY)");
            }
        }
    }

    private static PrivateKey helidonKey(String name, String label, String block) {
        try {
            return Keys.builder()
                    .pem(pem -> pem.key(Resource.create(name, block.getBytes(StandardCharsets.US_ASCII))))
                    .build()
                    .privateKey()
                    .orElseThrow(() -> new TlsMaterialException(name + ": no private key in it"));
        } catch (TlsMaterialException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TlsMaterialException(name + ": not a valid " + label + " (" + e.getMessage() + ")", e);
        }
    }

    private static PrivateKey sec1Key(String name, String base64, X509Certificate certificate) {
        try {
            byte[] sec1 = Base64.getMimeDecoder().decode(base64.strip());
            return KeyFactory.getInstance("EC")
                    .generatePrivate(new PKCS8EncodedKeySpec(sec1ToPkcs8(name, sec1, certificate)));
        } catch (TlsMaterialException e) {
            throw e;
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new TlsMaterialException(name + ": not a valid EC PRIVATE KEY (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Wraps an SEC1 {@code ECPrivateKey} (RFC 5915: {@code SEQUENCE {version, privateKey OCTET
     * STRING, [0] curve OID, [1] publicKey}}) into a PKCS#8 {@code PrivateKeyInfo} (RFC 5208:
     * {@code SEQUENCE {0, SEQUENCE {id-ecPublicKey, curve OID}, OCTET STRING ecPrivateKey}}). A
     * key without its curve (the parameters are optional) takes the curve of its certificate's
     * public key, when the certificate is known.
     */
    static byte[] sec1ToPkcs8(String name, byte[] sec1, X509Certificate certificate) {
        Der outer = Der.at(name, sec1, 0);
        if (outer.tag != 0x30 || outer.end != sec1.length) {
            throw new TlsMaterialException(name + ": the EC PRIVATE KEY is not one DER sequence");
        }
        byte[] curve = null;
        for (int at = outer.contentStart; at < outer.end; ) {
            Der field = Der.at(name, sec1, at);
            if (field.tag == (byte) 0xa0) {
                Der oid = Der.at(name, sec1, field.contentStart);
                if (oid.tag != 0x06) {
                    throw new TlsMaterialException(name + ": the EC PRIVATE KEY names no curve by OID");
                }
                curve = java.util.Arrays.copyOfRange(sec1, field.contentStart, oid.end);
            }
            at = field.end;
        }
        if (curve == null && certificate != null) {
            curve = curveOf(certificate);
        }
        if (curve == null) {
            throw new TlsMaterialException(name + ": the EC PRIVATE KEY does not name its curve (write it with its"
                    + " parameters, as openssl does)");
        }
        ByteArrayOutputStream algorithm = new ByteArrayOutputStream();
        algorithm.writeBytes(EC_PUBLIC_KEY_OID);
        algorithm.writeBytes(curve);
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        info.writeBytes(new byte[] {0x02, 0x01, 0x00});
        info.writeBytes(Der.encode(0x30, algorithm.toByteArray()));
        info.writeBytes(Der.encode(0x04, sec1));
        return Der.encode(0x30, info.toByteArray());
    }

    /**
     * The curve OID (whole DER element) of an EC certificate's public key: {@code
     * SubjectPublicKeyInfo ::= SEQUENCE {SEQUENCE {id-ecPublicKey, curve OID}, BIT STRING}}; null
     * for another kind of key.
     */
    private static byte[] curveOf(X509Certificate certificate) {
        byte[] spki = certificate.getPublicKey().getEncoded();
        if (!"EC".equals(certificate.getPublicKey().getAlgorithm()) || spki == null) {
            return null;
        }
        String name = "the certificate's public key";
        Der algorithm = Der.at(name, spki, Der.at(name, spki, 0).contentStart);
        Der type = Der.at(name, spki, algorithm.contentStart);
        Der curve = Der.at(name, spki, type.end);
        return curve.tag == 0x06 ? java.util.Arrays.copyOfRange(spki, type.end, curve.end) : null;
    }

    /** One DER element's tag and bounds; lengths up to 2^31 - 1. */
    private record Der(byte tag, int contentStart, int end) {
        static Der at(String name, byte[] der, int at) {
            if (at + 2 > der.length) {
                throw new TlsMaterialException(name + ": the EC PRIVATE KEY's DER is cut short");
            }
            byte tag = der[at];
            int first = der[at + 1] & 0xff;
            int start = at + 2;
            long length = first;
            if (first > 0x80) {
                int n = first - 0x80;
                if (n > 4 || start + n > der.length) {
                    throw new TlsMaterialException(name + ": the EC PRIVATE KEY's DER has a bad length");
                }
                length = 0;
                for (int i = 0; i < n; i++) {
                    length = length << 8 | (der[start + i] & 0xff);
                }
                start += n;
            } else if (first == 0x80) {
                throw new TlsMaterialException(name + ": the EC PRIVATE KEY's DER has an indefinite length");
            }
            if (start + length > der.length) {
                throw new TlsMaterialException(name + ": the EC PRIVATE KEY's DER is cut short");
            }
            return new Der(tag, start, (int) (start + length));
        }

        static byte[] encode(int tag, byte[] content) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
            out.write(tag);
            int n = content.length;
            if (n < 0x80) {
                out.write(n);
            } else if (n < 0x100) {
                out.write(0x81);
                out.write(n);
            } else if (n < 0x10000) {
                out.write(0x82);
                out.write(n >> 8);
                out.write(n);
            } else {
                out.write(0x83);
                out.write(n >> 16);
                out.write(n >> 8);
                out.write(n);
            }
            out.writeBytes(content);
            return out.toByteArray();
        }
    }

    /** Refuses a key that does not belong to the certificate: it signs, the certificate's key verifies. */
    private static void requireMatch(X509Certificate certificate, PrivateKey key, String certName, String keyName) {
        String algorithm =
                switch (key.getAlgorithm()) {
                    case "RSA" -> "SHA256withRSA";
                    case "EC" -> "SHA256withECDSA";
                    case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
                    default -> null;
                };
        if (algorithm == null) {
            return; // an algorithm this check does not know: the handshake will tell
        }
        boolean matches;
        try {
            byte[] probe = "edgegate key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new TlsMaterialException(
                    keyName + ": the private key does not belong to the certificate of " + certName + " (subject="
                            + certificate.getSubjectX500Principal().getName() + ")");
        }
    }

    private static int count(String text, String marker) {
        int n = 0;
        for (int at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length())) {
            n++;
        }
        return n;
    }
}
