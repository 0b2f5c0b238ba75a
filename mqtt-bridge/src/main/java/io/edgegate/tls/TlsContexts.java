package io.edgegate.tls;

import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * SSL contexts over the product's key and trust managers. A context made here serves whatever
 * its managers hold at each handshake: with {@link ReloadingKeyManager} and
 * {@link ReloadingTrustManager}, a rotated certificate or CA bundle reaches new connections
 * without a new context. Stateless.
 */
public final class TlsContexts {
    private TlsContexts() {}

    /**
     * A server's context.
     *
     * @param keys the server's certificate and key
     * @param clients the authorities that client certificates must chain to; null when clients
     *     present none (whether one is asked for is the listener's setting, not the context's)
     */
    public static SSLContext server(X509KeyManager keys, X509TrustManager clients) {
        if (keys == null) {
            throw new IllegalArgumentException("a TLS server needs its certificate: keys=null");
        }
        return context(keys, clients);
    }

    /**
     * A client's context.
     *
     * @param trust the authorities the server's certificate must chain to; null for the JVM's
     *     default trust store
     * @param keys the client's certificate and key (mTLS); null for none
     */
    public static SSLContext client(X509TrustManager trust, X509KeyManager keys) {
        return context(keys, trust);
    }

    private static SSLContext context(X509KeyManager keys, X509TrustManager trust) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(
                    keys == null ? null : new KeyManager[] {keys},
                    trust == null ? null : new TrustManager[] {trust},
                    null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create a TLS context", e);
        }
    }
}
