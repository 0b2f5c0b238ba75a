package io.edgegate.tls;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The TLS files of a client, validated: the CA bundle its server's certificate must chain to, and
 * its own certificate and key for servers that ask for one (mTLS). Immutable.
 *
 * @param caFile PEM CA bundle for the server's certificate; null for another source of trust
 *     (the JVM's trust store, or a trust store the caller holds)
 * @param certFile the client's PEM certificate chain, the leaf first; null for none
 * @param keyFile the PEM private key of {@code certFile}; null exactly when {@code certFile} is
 */
public record ClientTlsFiles(Path caFile, Path certFile, Path keyFile) {

    public ClientTlsFiles {
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("invalid client TLS: certFile=" + certFile + ", keyFile=" + keyFile
                    + " (a client certificate needs both the certificate chain and its key)");
        }
        if (caFile == null && certFile == null) {
            throw new IllegalArgumentException("invalid client TLS: neither caFile nor certFile");
        }
    }

    /**
     * Reads the settings from their configuration values ({@code ""} for unset), and reads the
     * files once to check them.
     *
     * @param prefix the keys' common prefix, for messages ({@code edgegate.mqtt.})
     * @return null when none is set
     * @throws IllegalArgumentException naming every bad key and its value
     */
    public static ClientTlsFiles parse(String prefix, String caFile, String certFile, String keyFile) {
        String ca = caFile == null ? "" : caFile.trim();
        String cert = certFile == null ? "" : certFile.trim();
        String key = keyFile == null ? "" : keyFile.trim();
        if (ca.isEmpty() && cert.isEmpty() && key.isEmpty()) {
            return null;
        }
        List<String> problems = new ArrayList<>();
        if (cert.isEmpty() != key.isEmpty()) {
            problems.add(prefix + "cert-file=" + cert + ", " + prefix + "key-file=" + key
                    + " (a client certificate needs both the certificate chain and its key)");
        } else if (!cert.isEmpty()) {
            try {
                PemFiles.certifiedKey(Path.of(cert), Path.of(key));
            } catch (TlsMaterialException | InvalidPathException e) {
                problems.add(
                        prefix + "cert-file=" + cert + ", " + prefix + "key-file=" + key + " (" + e.getMessage() + ")");
            }
        }
        if (!ca.isEmpty()) {
            try {
                PemFiles.certificates(Path.of(ca));
            } catch (TlsMaterialException | InvalidPathException e) {
                problems.add(prefix + "ca-file=" + ca + " (" + e.getMessage() + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", problems));
        }
        return new ClientTlsFiles(
                ca.isEmpty() ? null : Path.of(ca),
                cert.isEmpty() ? null : Path.of(cert),
                key.isEmpty() ? null : Path.of(key));
    }

    /**
     * A trust manager over {@link #caFile}, read now and watched; null when there is none.
     *
     * @throws TlsMaterialException when the file cannot be used now
     */
    public ReloadingTrustManager trustManager() {
        return caFile == null ? null : ReloadingTrustManager.load(caFile);
    }

    /**
     * A key manager over {@link #certFile} and {@link #keyFile}, read now and watched; null when
     * there is no client certificate.
     *
     * @throws TlsMaterialException when a file cannot be used now
     */
    public ReloadingKeyManager keyManager() {
        return certFile == null ? null : ReloadingKeyManager.load(certFile, keyFile);
    }
}
