package io.edgegate.tls;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A TLS server on a loopback port over a context under test: each connection is handshaken and
 * answered with one byte, then closed. With {@code requireClientCertificate}, a client without an
 * accepted certificate gets no byte: its read fails (TLS 1.3 reports the refusal after the client's
 * handshake ends).
 */
final class TestTlsServer implements AutoCloseable {
    private final SSLServerSocket socket;
    private final Thread acceptor;

    TestTlsServer(SSLContext context, boolean requireClientCertificate) throws IOException {
        socket = (SSLServerSocket)
                context.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        socket.setNeedClientAuth(requireClientCertificate);
        acceptor = Thread.ofVirtual().start(this::accept);
    }

    int port() {
        return socket.getLocalPort();
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) socket.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void serve(SSLSocket s) {
        try (s) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            s.getOutputStream().write('y');
            s.getOutputStream().flush();
            s.getInputStream().read(); // until the client closes
        } catch (IOException e) {
            // a refused client: the handshake's failure is the point
        }
    }

    /** Whether a client with this context completes a handshake and gets the byte. */
    boolean accepts(SSLContext client) {
        try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port()), 5_000);
            s.setSoTimeout(10_000);
            s.startHandshake();
            InputStream in = s.getInputStream();
            return in.read() == 'y';
        } catch (IOException e) {
            return false;
        }
    }

    /** The leaf a full handshake gets now. */
    X509Certificate served(SSLContext client) {
        return io.edgegate.bridge.testing.TlsProbe.servedCertificate(port(), client);
    }

    @Override
    public void close() throws IOException {
        socket.close();
        acceptor.interrupt();
    }
}
