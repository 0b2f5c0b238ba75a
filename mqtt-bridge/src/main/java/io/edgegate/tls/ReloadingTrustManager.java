package io.edgegate.tls;

import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trust in the certificate authorities of one PEM CA bundle, read again when the file changes:
 * the verification of client certificates (mTLS) by a listener, or of a server's certificate by
 * a client (the MQTT broker, an HTTPS upstream).
 *
 * <h2>Reload behaviour</h2>
 *
 * <ul>
 *   <li>{@link #load} reads the bundle now and throws if it cannot be used; {@link #lenient}
 *       starts without it when it cannot (every peer is refused, naming the problem, until a
 *       later look finds a usable bundle).
 *   <li>After that, each verification looks at the file if the check interval (1 s by default)
 *       has passed since the last look: a stat through symbolic links, no read. A changed
 *       identity (inode), size or modification time, including a Kubernetes Secret update (the
 *       {@code ..data} symbolic link swapped), makes it read and parse the bundle.
 *   <li>A bundle that does not parse (half written, not PEM, a block cut short) leaves the
 *       authorities in force; the problem is logged once at WARNING (logger
 *       {@code io.edgegate.tls}), counted in {@link #failures()} and kept in {@link #lastError()},
 *       and the same file is not read again until it changes once more.
 * </ul>
 *
 * <p>Verification itself (path building, validity, and the host name when the connection asks
 * for endpoint identification) is the JDK's PKIX trust manager over the bundle in force.
 * Thread-safe: any handshake thread may call any method.
 */
public final class ReloadingTrustManager extends X509ExtendedTrustManager {
    private record Authorities(List<X509Certificate> certificates, X509ExtendedTrustManager delegate) {}

    private final WatchedFiles<Authorities> files;
    private final Path bundle;

    private ReloadingTrustManager(Path bundle, long checkIntervalMillis, boolean required) {
        this.bundle = bundle;
        this.files = new WatchedFiles<>(
                "CA bundle",
                List.of(bundle),
                contents -> authorities(PemFiles.certificates(bundle.toString(), contents.get(0))),
                checkIntervalMillis,
                required);
    }

    /**
     * Reads the bundle now and watches it.
     *
     * @throws TlsMaterialException naming the file when it cannot be used
     */
    public static ReloadingTrustManager load(Path bundle) {
        return load(bundle, WatchedFiles.DEFAULT_CHECK_INTERVAL_MILLIS);
    }

    /** As {@link #load(Path)}, with another check interval (0: look at every verification). */
    public static ReloadingTrustManager load(Path bundle, long checkIntervalMillis) {
        return new ReloadingTrustManager(bundle, checkIntervalMillis, true);
    }

    /**
     * Watches the bundle, and starts even when it cannot be read yet: until it can, every
     * verification fails with a message naming the file and why.
     */
    public static ReloadingTrustManager lenient(Path bundle) {
        return new ReloadingTrustManager(bundle, WatchedFiles.DEFAULT_CHECK_INTERVAL_MILLIS, false);
    }

    /** The CA bundle file. */
    public Path bundle() {
        return bundle;
    }

    /** The authorities in force (empty while none could be read). */
    public List<X509Certificate> authorities() {
        WatchedFiles.Loaded<Authorities> loaded = files.current();
        return loaded == null ? List.of() : loaded.value().certificates;
    }

    /** Successful reloads since start. */
    public long reloads() {
        return files.reloads();
    }

    /** Reads that failed since start (each distinct bad state once). */
    public long failures() {
        return files.failures();
    }

    /** Why the last read failed; empty when none did. */
    public String lastError() {
        return files.lastError();
    }

    // ---------------------------------------------------------------- X509ExtendedTrustManager

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        delegate().checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        delegate().checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        delegate().checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        delegate().checkServerTrusted(chain, authType, engine);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        WatchedFiles.Loaded<Authorities> loaded = files.current();
        return loaded == null ? new X509Certificate[0] : loaded.value().delegate.getAcceptedIssuers();
    }

    private X509ExtendedTrustManager delegate() throws CertificateException {
        WatchedFiles.Loaded<Authorities> loaded = files.current();
        if (loaded == null) {
            throw new CertificateException("no CA bundle in force: " + files.lastError());
        }
        return loaded.value().delegate;
    }

    private static Authorities authorities(List<X509Certificate> certificates) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < certificates.size(); i++) {
                store.setCertificateEntry("ca-" + i, certificates.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(store);
            for (TrustManager tm : factory.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x509) {
                    return new Authorities(certificates, x509);
                }
            }
            throw new IllegalStateException("PKIX gave no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new TlsMaterialException("cannot trust the CA bundle (" + e.getMessage() + ")", e);
        }
    }
}
