package io.edgegate.benchmarks.proxy.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
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
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reference proxy forwards real requests to a JDK HttpServer, in both execution models (two
 * event loops; a virtual thread per connection): keep-alive on both sides, request bodies, chunked
 * answers copied through, {@code Connection: close}, the prefix, and a pooled connection the
 * upstream closed.
 */
class NioReferenceProxyTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private HttpServer backend;
    /** Per request the backend served: the upstream connection's port, method and path. */
    private final Queue<String> seen = new ConcurrentLinkedQueue<>();

    private NioReferenceProxy proxy;

    @BeforeEach
    void startBackend() throws IOException {
        backend = HttpServer.create(new InetSocketAddress(LOOPBACK, 0), 64);
        backend.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        backend.createContext("/", exchange -> {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            String path = exchange.getRequestURI().toString();
            seen.add(exchange.getRemoteAddress().getPort() + " " + exchange.getRequestMethod() + " " + path);
            if (path.startsWith("/chunked")) {
                exchange.sendResponseHeaders(200, 0); // length 0: chunked
                try (OutputStream out = exchange.getResponseBody()) {
                    for (int i = 0; i < 5; i++) {
                        out.write(("part-" + i + ";").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                }
            } else {
                byte[] answer = ("echo " + exchange.getRequestMethod() + " " + path + " "
                                + new String(body, StandardCharsets.UTF_8))
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, answer.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(answer);
                }
            }
        });
        backend.start();
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        backend.stop(0);
    }

    private void startProxy(String mode, int upstreamPort) throws IOException {
        InetSocketAddress listen = new InetSocketAddress(LOOPBACK, 0);
        InetSocketAddress upstream = new InetSocketAddress(LOOPBACK, upstreamPort);
        proxy = mode.equals("vthreads")
                ? NioReferenceProxy.startVirtualThreads(listen, upstream, "/svc/echo")
                : NioReferenceProxy.start(listen, upstream, "/svc/echo", 2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void keepAliveRequestsShareOneClientAndOneUpstreamConnection(String mode) throws IOException {
        startProxy(mode, backend.getAddress().getPort());
        try (Socket client = connect()) {
            for (int i = 0; i < 3; i++) {
                send(client, "GET /svc/echo/item/" + i + "?q=" + i + " HTTP/1.1\r\nHost: test\r\n\r\n");
                Response r = Response.read(client.getInputStream());
                assertEquals(200, r.status);
                assertEquals("echo GET /item/" + i + "?q=" + i + " ", r.body);
            }
        }
        List<String> ports = seen.stream().map(s -> s.split(" ")[0]).distinct().toList();
        assertEquals(1, ports.size(), "one upstream connection for three requests: " + seen);
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void postBodyIsForwarded(String mode) throws IOException {
        startProxy(mode, backend.getAddress().getPort());
        String body = "x".repeat(40_000) + "end"; // more than one buffer
        try (Socket client = connect()) {
            send(
                    client,
                    "POST /svc/echo/upload HTTP/1.1\r\nHost: test\r\nContent-Length: " + body.length() + "\r\n\r\n"
                            + body);
            Response r = Response.read(client.getInputStream());
            assertEquals(200, r.status);
            assertEquals("echo POST /upload " + body, r.body);
            // the connection serves the next request after the body
            send(client, "GET /svc/echo/after HTTP/1.1\r\nHost: test\r\n\r\n");
            assertEquals("echo GET /after ", Response.read(client.getInputStream()).body);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void chunkedRequestBodyIsForwarded(String mode) throws IOException {
        startProxy(mode, backend.getAddress().getPort());
        try (Socket client = connect()) {
            send(
                    client,
                    "POST /svc/echo/c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n");
            Response r = Response.read(client.getInputStream());
            assertEquals("echo POST /c hello, world", r.body);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void chunkedAnswerIsCopiedThrough(String mode) throws IOException {
        startProxy(mode, backend.getAddress().getPort());
        try (Socket client = connect()) {
            for (int i = 0; i < 2; i++) {
                send(client, "GET /svc/echo/chunked HTTP/1.1\r\nHost: test\r\n\r\n");
                Response r = Response.read(client.getInputStream());
                assertEquals(200, r.status);
                assertTrue(r.head.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked"), r.head);
                assertEquals("part-0;part-1;part-2;part-3;part-4;", r.body);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void connectionCloseClosesTheClientConnectionAfterTheAnswer(String mode) throws IOException {
        startProxy(mode, backend.getAddress().getPort());
        try (Socket client = connect()) {
            send(client, "GET /svc/echo/bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
            InputStream in = client.getInputStream();
            assertEquals("echo GET /bye ", Response.read(in).body);
            assertEquals(-1, in.read(), "closed after the answer");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void pathOutsideThePrefixGets404(String mode) throws IOException {
        startProxy(mode, backend.getAddress().getPort());
        try (Socket client = connect()) {
            send(client, "GET /svc/echoes HTTP/1.1\r\nHost: test\r\n\r\n");
            assertEquals(404, Response.read(client.getInputStream()).status);
        }
        assertTrue(seen.isEmpty(), "nothing forwarded: " + seen);
    }

    @ParameterizedTest
    @ValueSource(strings = {"loops", "vthreads"})
    void requestOnAPooledConnectionTheUpstreamClosedIsSentAgain(String mode) throws Exception {
        // an upstream that answers one request per connection, then closes it without saying so
        AtomicInteger connections = new AtomicInteger();
        try (ServerSocket upstream = new ServerSocket(0, 16, LOOPBACK)) {
            Thread.ofVirtual().start(() -> serveOnePerConnection(upstream, connections));
            startProxy(mode, upstream.getLocalPort());
            try (Socket client = connect()) {
                for (int i = 0; i < 3; i++) {
                    send(client, "GET /svc/echo/" + i + " HTTP/1.1\r\nHost: test\r\n\r\n");
                    Response r = Response.read(client.getInputStream());
                    assertEquals(200, r.status, "request " + i);
                    assertEquals("once", r.body);
                }
            }
            assertEquals(3, connections.get(), "a new upstream connection for each request");
        }
    }

    private static void serveOnePerConnection(ServerSocket server, AtomicInteger connections) {
        try {
            while (true) {
                Socket s = server.accept();
                connections.incrementAndGet();
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        ByteArrayOutputStream head = new ByteArrayOutputStream();
                        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                            int c = in.read();
                            if (c < 0) {
                                return;
                            }
                            head.write(c);
                        }
                        s.getOutputStream()
                                .write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce"
                                        .getBytes(StandardCharsets.ISO_8859_1));
                        s.getOutputStream().flush();
                        Thread.sleep(50); // closed once the proxy has pooled it
                    } catch (IOException | InterruptedException e) {
                        // the test ends
                    }
                });
            }
        } catch (IOException e) {
            // closed by the test
        }
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(LOOPBACK, proxy.port());
        socket.setSoTimeout(20_000);
        return socket;
    }

    private static void send(Socket socket, String request) throws IOException {
        socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    /** An answer read off a socket: head as text, body decoded (Content-Length or chunked). */
    private record Response(int status, String head, String body) {
        static Response read(InputStream in) throws IOException {
            String head = line(in, true);
            int status = Integer.parseInt(head.substring(9, 12));
            long length = -1;
            boolean chunked = false;
            for (String line : head.split("\r\n")) {
                String lower = line.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Long.parseLong(lower.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (chunked) {
                while (true) {
                    int size = Integer.parseInt(line(in, false).split(";")[0].trim(), 16);
                    if (size == 0) {
                        line(in, false); // the empty line after the last chunk (no trailers)
                        break;
                    }
                    body.write(in.readNBytes(size));
                    line(in, false);
                }
            } else if (length > 0) {
                body.write(in.readNBytes((int) length));
            }
            return new Response(status, head, body.toString(StandardCharsets.UTF_8));
        }

        /** One line (without CRLF), or with {@code wholeHead} every line up to the empty one. */
        private static String line(InputStream in, boolean wholeHead) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            String end = wholeHead ? "\r\n\r\n" : "\r\n";
            while (!out.toString(StandardCharsets.ISO_8859_1).endsWith(end)) {
                int c = in.read();
                if (c < 0) {
                    throw new IOException("connection closed after: " + out.toString(StandardCharsets.ISO_8859_1));
                }
                out.write(c);
            }
            String s = out.toString(StandardCharsets.ISO_8859_1);
            return s.substring(0, s.length() - end.length());
        }
    }
}
