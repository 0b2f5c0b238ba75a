package io.edgegate.tls;

import io.edgegate.config.ConfigReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLContext;

/**
 * The TLS files of a listener, validated: its certificate chain and key (PEM, as a Kubernetes TLS
 * Secret mounts them), and optionally the CA bundle that client certificates must chain to
 * (mTLS). Immutable.
 *
 * @param certFile PEM certificate chain, the leaf first ({@code tls.crt})
 * @param keyFile PEM private key of the leaf ({@code tls.key}): PKCS#8, PKCS#1 RSA or SEC1 EC
 * @param clientCaFile PEM CA bundle for client certificates; null when none are verified
 * @param clientAuth whether a client certificate is asked for, and required
 */
public record ServerTlsFiles(Path certFile, Path keyFile, Path clientCaFile, ClientAuth clientAuth) {

    /** Whether a listener asks clients for a certificate. */
    public enum ClientAuth {
        /** Not asked for (no client CA). */
        NONE,
        /** Asked for, verified when given; a client without one is served. */
        OPTIONAL,
        /** Asked for and verified; a client without one, or with one of another CA, is refused. */
        REQUIRED
    }

    public ServerTlsFiles {
        if (certFile == null || keyFile == null || clientAuth == null) {
            throw new IllegalArgumentException("invalid listener TLS: certFile=" + certFile + ", keyFile=" + keyFile
                    + ", clientAuth=" + clientAuth);
        }
        if ((clientCaFile == null) != (clientAuth == ClientAuth.NONE)) {
            throw new IllegalArgumentException("invalid listener TLS: clientCaFile=" + clientCaFile + ", clientAuth="
                    + clientAuth + " (client certificates are verified exactly when a client CA is given)");
        }
    }

    /**
     * Reads {@code tls.cert-file}, {@code tls.key-file}, {@code tls.client-ca-file} and
     * {@code tls.client-auth} (see {@link #parse}); null when TLS is off or after a problem,
     * collected by {@code r}.
     */
    public static ServerTlsFiles read(ConfigReader r) {
        return r.section(
                "",
                () -> parse(
                        r.key("tls."),
                        r.text("tls.cert-file"),
                        r.text("tls.key-file"),
                        r.text("tls.client-ca-file"),
                        r.text("tls.client-auth")));
    }

    /**
     * Reads the settings of one listener from their configuration values ({@code ""} for unset),
     * and reads the files once to check them.
     *
     * @param prefix the keys' common prefix, for messages ({@code edgegate.tls.})
     * @return null when TLS is off (neither certificate nor key given)
     * @throws IllegalArgumentException naming every bad key and its value: one of certificate and
     *     key without the other, a file that cannot be used, a key of another certificate, a
     *     client CA without TLS, a {@code client-auth} other than {@code required} or
     *     {@code optional}
     */
    public static ServerTlsFiles parse(
            String prefix, String certFile, String keyFile, String clientCaFile, String clientAuth) {
        List<String> problems = new ArrayList<>();
        String cert = certFile == null ? "" : certFile.trim();
        String key = keyFile == null ? "" : keyFile.trim();
        String ca = clientCaFile == null ? "" : clientCaFile.trim();
        String auth = clientAuth == null ? "" : clientAuth.trim().toLowerCase(Locale.ROOT);
        ClientAuth mode = ClientAuth.NONE;
        if (!ca.isEmpty()) {
            switch (auth) {
                case "", "required" -> mode = ClientAuth.REQUIRED;
                case "optional" -> mode = ClientAuth.OPTIONAL;
                default ->
                    problems.add(prefix + "client-auth=" + clientAuth
                            + " (required or optional: whether a client without a certificate is refused)");
            }
        } else if (auth.equals("optional")) {
            problems.add(prefix + "client-auth=" + clientAuth + " (needs " + prefix
                    + "client-ca-file, the authorities client certificates are verified against)");
        } else if (!auth.isEmpty() && !auth.equals("required")) {
            problems.add(prefix + "client-auth=" + clientAuth + " (required or optional)");
        }
        if (cert.isEmpty() && key.isEmpty()) {
            if (!ca.isEmpty()) {
                problems.add(prefix + "client-ca-file=" + ca + " (client certificates need TLS: set " + prefix
                        + "cert-file and " + prefix + "key-file)");
            }
            throwIfAny(problems);
            return null;
        }
        if (cert.isEmpty() || key.isEmpty()) {
            problems.add(prefix + "cert-file=" + cert + ", " + prefix + "key-file=" + key
                    + " (TLS needs both the certificate chain and its key)");
            throwIfAny(problems);
        }
        try {
            PemFiles.certifiedKey(Path.of(cert), Path.of(key));
        } catch (TlsMaterialException | java.nio.file.InvalidPathException e) {
            problems.add(
                    prefix + "cert-file=" + cert + ", " + prefix + "key-file=" + key + " (" + e.getMessage() + ")");
        }
        if (!ca.isEmpty()) {
            try {
                PemFiles.certificates(Path.of(ca));
            } catch (TlsMaterialException | java.nio.file.InvalidPathException e) {
                problems.add(prefix + "client-ca-file=" + ca + " (" + e.getMessage() + ")");
            }
        }
        throwIfAny(problems);
        return new ServerTlsFiles(Path.of(cert), Path.of(key), ca.isEmpty() ? null : Path.of(ca), mode);
    }

    /**
     * A server context over these files: a {@link ReloadingKeyManager} for the certificate and,
     * with a client CA, a {@link ReloadingTrustManager} for client certificates. Each call reads
     * the files anew and watches them on its own.
     *
     * @throws TlsMaterialException when a file cannot be used now
     */
    public SSLContext sslContext() {
        return TlsContexts.server(
                ReloadingKeyManager.load(certFile, keyFile),
                clientCaFile == null ? null : ReloadingTrustManager.load(clientCaFile));
    }

    private static void throwIfAny(List<String> problems) {
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", problems));
        }
    }
}
