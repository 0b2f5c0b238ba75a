package io.edgegate.gateway.proxy;

import io.edgegate.tls.ReloadingTrustManager;
import io.edgegate.tls.TlsContexts;
import io.edgegate.tls.TrustAnyCertificate;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.security.KeyStore;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * How the proxy speaks TLS to upstreams with one setting: the route policy's {@code upstream-tls},
 * or the gateway-wide one of instances whose metadata says {@code scheme: https}. Holds the client
 * context (over a CA bundle read again when its file changes, the JVM's trust store, or no
 * verification), the name sent as SNI and verified against the certificate (null: the instance's
 * address), and turns a connected channel into a TLS socket.
 *
 * <p>Connections are pooled per setting ({@link ConnectionPools}: the pool key holds {@link #id}),
 * so a TLS connection and a plain one to the same address, or two TLS connections made with
 * different settings, never mix. The client context caches TLS sessions per host and port, so a
 * new connection to a known upstream resumes its session (an abbreviated handshake).
 *
 * <p>Immutable and thread-safe: any request thread may call {@link #handshake}.
 */
final class UpstreamTls {
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final String[] HTTP_1_1 = {"http/1.1"};

    /** Distinguishes the pools of this setting from others to the same address. */
    final String id;
    /** The name sent as SNI and verified; null for the instance's address. */
    final String serverName;
    /** Whether the certificate is verified at all ({@code skip-verify: false}). */
    final boolean verify;
    /** Where trust comes from, for answers: a CA bundle's path, or the JVM's trust store. */
    final String trust;

    private final SSLSocketFactory factory;

    private UpstreamTls(SSLSocketFactory factory, String serverName, boolean verify, String trust) {
        this.id = "tls-" + IDS.incrementAndGet();
        this.factory = factory;
        this.serverName = serverName;
        this.verify = verify;
        this.trust = trust;
    }

    /**
     * Verifying upstream certificates against a CA bundle (read again when the file changes; an
     * unreadable bundle fails every handshake naming the file until it can be read).
     */
    static UpstreamTls verifying(ReloadingTrustManager authorities, String serverName) {
        return new UpstreamTls(
                TlsContexts.client(authorities, null).getSocketFactory(),
                serverName,
                true,
                "CA bundle " + authorities.bundle());
    }

    /** Verifying upstream certificates against the JVM's default trust store. */
    static UpstreamTls verifyingWithJvmTrust(String serverName) {
        return new UpstreamTls(
                TlsContexts.client(jvmTrust(), null).getSocketFactory(), serverName, true, "the JVM's trust store");
    }

    /** Accepting any certificate for any name ({@code skip-verify: true}): encryption without authentication. */
    static UpstreamTls trustingAnyCertificate(String serverName) {
        return new UpstreamTls(
                TrustAnyCertificate.context().getSocketFactory(), serverName, false, "none (skip-verify)");
    }

    /**
     * Runs a TLS client handshake over a connected channel, within {@code timeoutMillis}.
     *
     * @return the TLS socket; closing it closes the channel
     * @throws UpstreamTlsException naming the upstream and why, the channel left to the caller
     */
    SSLSocket handshake(SocketChannel channel, String address, int port, long timeoutMillis)
            throws UpstreamTlsException {
        String peer = serverName != null ? serverName : address;
        try {
            // The peer name is the SNI (for a host name) and what endpoint identification checks.
            SSLSocket socket = (SSLSocket) factory.createSocket(channel.socket(), peer, port, true);
            SSLParameters parameters = socket.getSSLParameters();
            if (verify) {
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
            }
            parameters.setApplicationProtocols(HTTP_1_1);
            socket.setSSLParameters(parameters);
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, timeoutMillis)));
            socket.startHandshake();
            socket.setSoTimeout(0); // from here the Watchdog bounds every wait
            return socket;
        } catch (IOException | RuntimeException e) {
            throw new UpstreamTlsException(
                    (serverName == null ? "" : "server name " + serverName + ", ") + "trust: " + trust, e);
        }
    }

    private static X509TrustManager jvmTrust() {
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init((KeyStore) null);
            for (TrustManager tm : factory.getTrustManagers()) {
                if (tm instanceof X509TrustManager x509) {
                    return x509;
                }
            }
            throw new IllegalStateException("the JVM has no X.509 trust manager");
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the JVM's trust store", e);
        }
    }
}
