package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** HTTP checks against a real JDK HTTP server on an ephemeral loopback port. */
class HttpProbeTest {
    private static final long TIMEOUT_MILLIS = 2_000;
    private static final int BIG_BODY_BYTES = 1 << 20;

    private final Probers probers = new Probers(Probers.Options.defaults());
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    /** Released at the end of each test: the slow backend answers then, if ever. */
    private final CountDownLatch release = new CountDownLatch(1);

    private final AtomicReference<String> seenMethod = new AtomicReference<>();
    private final AtomicReference<Map<String, List<String>>> seenHeaders = new AtomicReference<>();
    private HttpServer server;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(handlers);
        server.createContext("/health", e -> answer(e, 200, "{\"status\":\"up\"}"));
        server.createContext("/busy", e -> answer(e, 429, "slow down"));
        server.createContext("/broken", e -> answer(e, 500, "boom"));
        server.createContext("/slow", e -> {
            awaitRelease();
            answer(e, 200, "late");
        });
        server.createContext("/big", HttpProbeTest::bigBody);
        server.createContext("/echo", e -> {
            seenMethod.set(e.getRequestMethod());
            seenHeaders.set(Map.copyOf(e.getRequestHeaders()));
            answer(e, 204, "");
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        probers.close();
        server.stop(0);
        handlers.shutdownNow();
    }

    @Test
    void httpTwoHundredIsPassing() {
        String url = url("/health");

        ProbeResult result = probers.probe(Checks.http(url, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("HTTP GET " + url + ": 200 OK Output: {\"status\":\"up\"}", result.output());
    }

    @Test
    void http429IsWarning() {
        String url = url("/busy");

        ProbeResult result = probers.probe(Checks.http(url, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.WARNING, result.status(), result.output());
        assertEquals("HTTP GET " + url + ": 429 Too Many Requests Output: slow down", result.output());
    }

    @Test
    void http500IsCritical() {
        String url = url("/broken");

        ProbeResult result = probers.probe(Checks.http(url, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertEquals("HTTP GET " + url + ": 500 Internal Server Error Output: boom", result.output());
    }

    @Test
    void refusedConnectionIsCritical() throws IOException {
        String url = "http://127.0.0.1:" + closedPort() + "/health";

        ProbeResult result = probers.probe(Checks.http(url, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().startsWith("HTTP GET " + url + ": ConnectException"), result.output());
    }

    @Test
    void slowBackendTimesOutCritical() {
        String url = url("/slow");
        long start = System.nanoTime();

        ProbeResult result = probers.probe(Checks.http(url, 300), Checks.INSTANCE_ADDRESS);

        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertEquals("HTTP GET " + url + ": timed out after 300ms", result.output());
        // The socket's read timeout counts whole milliseconds of what is left: it may end a
        // fraction of one early by this test's clock.
        assertTrue(tookMillis >= 295 && tookMillis < 1_000, "took " + tookMillis + "ms for a 300ms timeout");
    }

    @Test
    void outputKeepsFirstBytesOnly() {
        String url = url("/big");

        ProbeResult result = probers.probe(Checks.http(url, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output().substring(0, 100));
        String prefix = "HTTP GET " + url + ": 200 OK Output: ";
        assertTrue(result.output().startsWith(prefix), result.output().substring(0, 100));
        assertEquals(
                bigBodyText(Probers.Options.DEFAULT_MAX_OUTPUT_BYTES),
                result.output().substring(prefix.length()),
                "the output is the first " + Probers.Options.DEFAULT_MAX_OUTPUT_BYTES + " bytes of the 1 MB body");
    }

    @Test
    void methodAndHeadersAreSent() {
        Map<String, List<String>> headers =
                Map.of("X-Probe", List.of("a", "b"), "Authorization", List.of("Bearer t0ken"));

        ProbeResult result = probers.probe(
                Checks.http(url("/echo"), "PUT", headers, TIMEOUT_MILLIS, false), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("PUT", seenMethod.get());
        assertEquals(List.of("a", "b"), seenHeaders.get().get("X-probe"));
        assertEquals(List.of("Bearer t0ken"), seenHeaders.get().get("Authorization"));
        assertEquals(
                List.of(Probers.Options.DEFAULT_USER_AGENT), seenHeaders.get().get("User-agent"));
    }

    @Test
    void headersTheClientOwnsAreLeftOut() {
        Map<String, List<String>> headers =
                Map.of("Host", List.of("evil.example"), "Connection", List.of("close"), "X-Probe", List.of("a"));

        ProbeResult result = probers.probe(
                Checks.http(url("/echo"), "GET", headers, TIMEOUT_MILLIS, false), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals(
                List.of("127.0.0.1:" + server.getAddress().getPort()),
                seenHeaders.get().get("Host"));
        assertEquals(List.of("a"), seenHeaders.get().get("X-probe"));
    }

    @Test
    void malformedTargetIsCriticalNotThrown() {
        ProbeResult result =
                probers.probe(Checks.http("http://127.0.0.1:1/a b", TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private void awaitRelease() {
        try {
            release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** 1 MB of a-z over and over; the prober stops reading early, so writing may fail here. */
    private static void bigBody(HttpExchange exchange) throws IOException {
        byte[] body = bigBodyText(BIG_BODY_BYTES).getBytes(StandardCharsets.US_ASCII);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        } catch (IOException e) {
            // The client went away after the bytes it keeps.
        }
    }

    private static String bigBodyText(int length) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append((char) ('a' + i % 26));
        }
        return text.toString();
    }

    /** A loopback port nothing listens on (just closed). */
    static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
