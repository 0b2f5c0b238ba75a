package io.edgegate.gateway.proxy;

import io.edgegate.acl.AclOptions;
import io.edgegate.acl.AclStore;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import io.edgegate.listener.GuardOptions;
import io.edgegate.listener.ListenerGuard;
import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.http1.Http1ClientResponse;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.http1.Http1Config;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Real servers for the proxy's tests: backends, a faulty backend, and a registry with the proxy in front. */
final class ProxyTesting {
    private ProxyTesting() {}

    static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /** Helidon's client, for load loops: several times the JDK client's rate on a small machine. */
    static final Http1Client LOAD_CLIENT = Http1Client.builder()
            .connectTimeout(Duration.ofSeconds(5))
            .proxy(io.helidon.webclient.api.Proxy.noProxy())
            .build();

    /** A GET with {@link #LOAD_CLIENT}: the status and the body. */
    static Answer load(URI uri) {
        try (Http1ClientResponse res =
                LOAD_CLIENT.get().uri(uri).readTimeout(Duration.ofSeconds(20)).request()) {
            return new Answer(
                    res.status().code(), new String(res.inputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A status and a body. */
    record Answer(int status, String body) {}

    static HttpResponse<String> get(URI uri, String... headers) {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b.build());
    }

    static HttpResponse<String> send(String method, URI uri, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(20))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b.build());
    }

    /**
     * Sends with the management token of the test gateway on the request's port (when it carries
     * no token of its own), so that the API's default-deny rules let tests configure routes.
     */
    static HttpResponse<String> send(HttpRequest request) {
        String token = TestGateway.tokenFor(request.uri().getPort());
        if (token != null && request.headers().firstValue("X-Consul-Token").isEmpty()) {
            request = HttpRequest.newBuilder(request, (name, value) -> true)
                    .header("X-Consul-Token", token)
                    .build();
        }
        try {
            return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(request.method() + " " + request.uri() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Sends raw request bytes (any headers, including those the JDK client refuses) and returns the
     * raw response: head and body (fixed length or chunked, read to its end).
     */
    static String raw(int port, String request) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            StringBuilder out = new StringBuilder();
            while (!out.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return out.toString();
                }
                out.append((char) b);
            }
            String head = out.toString().toLowerCase(java.util.Locale.ROOT);
            int cl = head.indexOf("content-length:");
            if (cl >= 0) {
                int n = Integer.parseInt(
                        head.substring(cl + 15, head.indexOf('\r', cl)).trim());
                out.append(new String(in.readNBytes(n), StandardCharsets.ISO_8859_1));
            } else if (head.contains("transfer-encoding: chunked")) {
                while (!out.toString().endsWith("\r\n0\r\n\r\n")) {
                    int b = in.read();
                    if (b < 0) {
                        break;
                    }
                    out.append((char) b);
                }
            }
            return out.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- the proxy

    /**
     * A registry (journal in a test directory) with the proxy alone on an ephemeral port, behind a
     * listener guard, its connections served as the gateway serves them: by the proxy's lean
     * connection handler ({@link #lean}), or by Helidon's HTTP/1.1 when {@code leanConnections} is
     * false. Routes ({@code /v1/routes}) reach Helidon's routing by a hand-over, as on the gateway.
     */
    static final class Harness implements AutoCloseable {
        final Registry registry;
        final AclStore acl;
        final ProxyService proxy;
        final ListenerGuard guard;
        /** The lean connection handler; null when Helidon serves every connection. */
        final LeanConnections lean;

        final WebServer server;
        final ErrorLog errors = new ErrorLog();

        private Harness(
                Path dir, ProxyOptions options, boolean leanConnections, GuardOptions limits, long maxPayloadBytes) {
            guard = new ListenerGuard(limits);
            registry = Registry.open(dir, new RegistryOptions(65_536, 4_096, 100_000, 5_000, 64L << 20), errors);
            Path tokenFile = dir.resolve("management-token");
            acl = AclStore.open(new AclOptions(true, null, tokenFile, 60_000));
            proxy = new ProxyService(registry, options, errors, acl);
            lean = leanConnections ? proxy.leanConnections(guard.options(), null) : null;
            Http1Config http1 = Http1Config.create();
            server = WebServer.builder()
                    .host("127.0.0.1")
                    .port(0)
                    .maxPayloadSize(maxPayloadBytes)
                    .connectionOptions(SocketOptions.builder().tcpNoDelay(true).build())
                    .protocolsDiscoverServices(false)
                    .addConnectionSelector(lean == null ? guard.selector(http1) : guard.selector(http1, lean))
                    .directHandlers(guard.directHandlers())
                    .routing(r -> r.addFilter(guard.filter()).register(proxy))
                    .build()
                    .start();
            try {
                TestGateway.rememberToken(
                        server.port(), Files.readString(tokenFile).strip());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static Harness start(Path dir, ProxyOptions options) {
            return new Harness(dir, options, true, GuardOptions.defaults(), -1);
        }

        static Harness start(Path dir) {
            return start(dir, ProxyOptions.defaults());
        }

        /** The proxy behind a guard with these limits and a listener payload cap (-1: none). */
        static Harness start(Path dir, ProxyOptions options, GuardOptions limits, long maxPayloadBytes) {
            return new Harness(dir, options, true, limits, maxPayloadBytes);
        }

        /** The proxy with Helidon's HTTP/1.1 serving every connection ({@code lean-connections: false}). */
        static Harness startHelidonOnly(Path dir) {
            return startHelidonOnly(dir, GuardOptions.defaults(), -1);
        }

        /** As {@link #startHelidonOnly(Path)}, with these limits and payload cap. */
        static Harness startHelidonOnly(Path dir, GuardOptions limits, long maxPayloadBytes) {
            return new Harness(dir, ProxyOptions.defaults(), false, limits, maxPayloadBytes);
        }

        URI uri(String pathAndQuery) {
            return URI.create("http://127.0.0.1:" + server.port() + pathAndQuery);
        }

        void register(String service, String id, int port, List<String> tags, Map<String, String> meta, int weight) {
            registry.await(registry.register(
                    new InstanceSpec(service, id, "127.0.0.1", port, tags, meta, List.of(), weight, 1)));
        }

        void register(String service, String id, int port) {
            register(service, id, port, List.of(), Map.of(), 1);
        }

        /** Registers an instance at an address of its own (a host name, say). */
        void registerAt(String service, String id, String address, int port) {
            registry.await(registry.register(
                    new InstanceSpec(service, id, address, port, List.of(), Map.of(), List.of(), 1, 1)));
        }

        void maintenance(String id, boolean enable) {
            registry.await(registry.maintenance(id, enable, "test"));
        }

        @Override
        public void close() {
            TestGateway.forgetToken(server.port());
            server.stop();
            guard.close();
            proxy.close();
            acl.close();
            registry.close();
        }
    }

    /** {@code n} bytes, byte i being {@code 'a' + i % 26}: a body whose every byte can be checked. */
    static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    // ---------------------------------------------------------------- backends

    /**
     * A well-behaved backend on an ephemeral port. Every answer names it ({@code X-Backend} and
     * the body), and it counts what it serves.
     *
     * <ul>
     *   <li>{@code /echo}: the request's headers and the SHA-256 and length of its body, as text
     *   <li>{@code /slow?ms=N}: answers after N ms
     *   <li>{@code /sse?events=N&gap=MS}: N server-sent events, MS apart; waits for {@link #release}
     *       after the first one when {@link #holdAfterFirstEvent} is set
     *   <li>{@code /big?bytes=N}: N bytes, byte i being {@code 'a' + i % 26}, with their length
     *   <li>{@code /v1/...}: the body's length and SHA-256 and who served it
     *   <li>anything else: its name
     * </ul>
     *
     * {@link #failWith} makes every answer that status instead.
     */
    static final class Backend implements AutoCloseable {
        final String name;
        final WebServer server;
        final AtomicInteger served = new AtomicInteger();
        final AtomicInteger inFlight = new AtomicInteger();
        final Map<String, AtomicInteger> byPath = new ConcurrentHashMap<>();
        volatile int failWith;
        volatile boolean holdAfterFirstEvent;
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch slowStarted = new CountDownLatch(1);
        /** Counted down once {@code /upload} has received its first 64 KiB. */
        final CountDownLatch uploadStarted = new CountDownLatch(1);

        Backend(String name) {
            this.name = name;
            this.server = WebServer.builder()
                    .host("127.0.0.1")
                    .port(0)
                    .routing(r -> r.any(this::handle))
                    .build()
                    .start();
        }

        int port() {
            return server.port();
        }

        private void handle(ServerRequest req, ServerResponse res) throws Exception {
            inFlight.incrementAndGet();
            try {
                served.incrementAndGet();
                String path = req.path().path();
                byPath.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
                res.header("X-Backend", name);
                if (failWith == 204) {
                    res.status(Status.NO_CONTENT_204).send();
                    return;
                }
                if (failWith != 0) {
                    res.status(Status.create(failWith)).send(name + " failing with " + failWith);
                    return;
                }
                if (path.startsWith("/echo")) {
                    echo(req, res);
                    return;
                }
                switch (path) {
                    case "/slow" -> {
                        slowStarted.countDown();
                        Thread.sleep(Long.parseLong(req.query().get("ms")));
                        res.send(name);
                    }
                    case "/sse" -> sse(req, res);
                    case "/big" -> res.send(pattern(Integer.parseInt(req.query().get("bytes"))));
                    case "/upload" -> upload(req, res);
                    default -> {
                        if (path.startsWith("/v1/")) {
                            byte[] body = req.content().inputStream().readAllBytes();
                            res.send("{\"served_by\":\"" + name + "\",\"bytes\":" + body.length + ",\"sha256\":\""
                                    + sha256(body) + "\"}");
                        } else {
                            res.send(name);
                        }
                    }
                }
            } finally {
                inFlight.decrementAndGet();
            }
        }

        private void echo(ServerRequest req, ServerResponse res) throws IOException {
            byte[] body =
                    req.content().hasEntity() ? req.content().inputStream().readAllBytes() : new byte[0];
            Map<String, String> headers = new TreeMap<>();
            req.headers().forEach(h -> headers.put(h.headerName().lowerCase(), String.join(",", h.allValues())));
            StringBuilder out = new StringBuilder();
            out.append("backend=").append(name).append('\n');
            out.append("path=").append(req.path().rawPath()).append('\n');
            out.append("query=").append(req.query().rawValue()).append('\n');
            headers.forEach(
                    (k, v) -> out.append("h:").append(k).append('=').append(v).append('\n'));
            out.append("bytes=").append(body.length).append('\n');
            out.append("sha256=").append(sha256(body)).append('\n');
            res.header("Connection", "X-Secret-Hop");
            res.header("X-Secret-Hop", "must-not-pass");
            res.header("Keep-Alive", "timeout=5");
            res.header("Set-Cookie", "a=1", "b=2");
            res.send(out.toString());
        }

        private void upload(ServerRequest req, ServerResponse res) throws IOException {
            long total = 0;
            byte[] buffer = new byte[8192];
            try (InputStream in = req.content().inputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    total += n;
                    if (total >= 65_536) {
                        uploadStarted.countDown();
                    }
                }
            }
            res.send("received=" + total);
        }

        private void sse(ServerRequest req, ServerResponse res) throws Exception {
            int events = Integer.parseInt(req.query().first("events").orElse("3"));
            long gap = Long.parseLong(req.query().first("gap").orElse("50"));
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
            try (OutputStream out = res.outputStream()) {
                for (int i = 0; i < events; i++) {
                    out.write(("data: event-" + i + "\n\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    if (i == 0 && holdAfterFirstEvent && !release.await(10, TimeUnit.SECONDS)) {
                        out.write("data: never-released\n\n".getBytes(StandardCharsets.UTF_8));
                        return;
                    }
                    Thread.sleep(gap);
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            }
        }

        /** Kills it: the listener and every connection close. */
        @Override
        public void close() {
            server.stop();
        }
    }

    /** How a {@link FaultyBackend} misbehaves. */
    enum Fault {
        /** Nothing listens on its port: connections are refused. */
        REFUSE,
        /** Reads the request, sends the status line, headers and 10 of 1000 bytes, then resets. */
        RESET_MID_BODY,
        /** Reads the request and never answers (the connection stays open). */
        STALL
    }

    /** A backend on a raw socket that fails in one enumerated way. */
    static final class FaultyBackend implements AutoCloseable {
        final Fault fault;
        final AtomicInteger accepted = new AtomicInteger();
        private final List<Socket> open = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final ServerSocket socket;
        private final int port;
        private final Thread acceptor;

        FaultyBackend(Fault fault) throws IOException {
            this.fault = fault;
            this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.port = socket.getLocalPort();
            if (fault == Fault.REFUSE) {
                socket.close();
                acceptor = null;
                return;
            }
            acceptor = Thread.ofVirtual().start(this::accept);
        }

        int port() {
            return port;
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    accepted.incrementAndGet();
                    open.add(s);
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                readHead(in);
                if (fault == Fault.STALL) {
                    Thread.sleep(60_000);
                    return;
                }
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread.sleep(20);
                s.setSoLinger(true, 0); // close with RST
            } catch (IOException | InterruptedException e) {
                // the fault is the point
            }
        }

        private static void readHead(InputStream in) throws IOException {
            int matched = 0;
            int b;
            while ((b = in.read()) >= 0) {
                matched = (b == '\r' || b == '\n') ? matched + 1 : 0;
                if (matched == 4) {
                    return;
                }
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (Socket s : open) {
                s.close();
            }
            if (acceptor != null) {
                acceptor.interrupt();
            }
        }
    }
}
