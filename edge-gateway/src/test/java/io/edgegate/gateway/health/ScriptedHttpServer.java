package io.edgegate.gateway.health;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An HTTP/1.1 server on a loopback address that answers every request with bytes the test
 * scripts, byte for byte (chunked bodies, missing headers, a close after the answer), and counts
 * the connections it accepted and the requests it read: what a test needs to see connection reuse
 * and to be sure a refused probe sent nothing. One virtual thread per connection.
 */
final class ScriptedHttpServer implements AutoCloseable {
    /** The answer to one request, and whether the server closes the connection after writing it. */
    record Reply(String raw, boolean closeAfter) {
        static Reply of(String raw) {
            return new Reply(raw, false);
        }

        /** A 200 with {@code body} and its Content-Length. */
        static Reply ok(String body) {
            return of("HTTP/1.1 200 OK\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n"
                    + body);
        }
    }

    private final ServerSocket socket;
    private final Function<String, Reply> script;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    /** Request heads as read, in order. */
    final List<String> heads = new CopyOnWriteArrayList<>();

    /** A server on {@code address}, port {@code port} (0: any), answering each request line with {@code script}. */
    ScriptedHttpServer(InetAddress address, int port, Function<String, Reply> script) throws IOException {
        this.script = script;
        this.socket = new ServerSocket();
        socket.bind(new InetSocketAddress(address, port), 50);
        Thread.ofVirtual().name("scripted-accept").start(this::accept);
    }

    /** A server on 127.0.0.1. */
    ScriptedHttpServer(Function<String, Reply> script) throws IOException {
        this(InetAddress.getByName("127.0.0.1"), 0, script);
    }

    int port() {
        return socket.getLocalPort();
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                connections.incrementAndGet();
                open.add(s);
                Thread.ofVirtual().name("scripted-connection").start(() -> serve(s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                requests.incrementAndGet();
                heads.add(head);
                Reply reply = script.apply(head.substring(0, head.indexOf('\r')));
                out.write(reply.raw().getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (reply.closeAfter()) {
                    return;
                }
            }
        } catch (IOException e) {
            // The client went away.
        } finally {
            open.remove(s);
        }
    }

    /** A request head up to its blank line (probes send no body), or null at the end of the stream. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                    ? matched + 1
                    : b == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
        for (Socket s : open) {
            s.close();
        }
    }
}
