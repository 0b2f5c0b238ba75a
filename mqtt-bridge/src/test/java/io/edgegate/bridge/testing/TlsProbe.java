package io.edgegate.bridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** A TLS handshake on a new connection, to see which certificate a server presents now. */
public final class TlsProbe {
    private TlsProbe() {}

    /**
     * The leaf certificate 127.0.0.1:{@code port} presents to a handshake. Give a fresh context per
     * call, so that no earlier session is resumed (a resumed session keeps its certificate).
     */
    public static X509Certificate servedCertificate(int port, SSLContext client) {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        } catch (IOException e) {
            throw new UncheckedIOException("TLS handshake with 127.0.0.1:" + port + " failed", e);
        }
    }
}
