package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.health.ScriptedHttpServer.Reply;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP prober's own HTTP/1.1 exchange against a scripted loopback server: keep-alive reuse,
 * body framings, answers that end the connection, redirects, output size and malformed answers.
 */
class HttpProbeConnectionTest {
    private static final long TIMEOUT_MILLIS = 2_000;

    private final List<AutoCloseable> closing = new ArrayList<>();
    private Probers probers = new Probers(Probers.Options.defaults());

    @AfterEach
    void stop() throws Exception {
        probers.close();
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private ScriptedHttpServer server(Function<String, Reply> script) throws IOException {
        ScriptedHttpServer server = new ScriptedHttpServer(script);
        closing.add(server);
        return server;
    }

    private ProbeResult probe(String url) {
        return probers.probe(Checks.http(url, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);
    }

    @Test
    void severalProbesShareOneKeepAliveConnection() throws IOException {
        ScriptedHttpServer server = server(line -> Reply.ok("up"));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        for (int i = 0; i < 5; i++) {
            ProbeResult result = probe(url);
            assertEquals(Health.PASSING, result.status(), result.output());
        }

        assertEquals(5, server.requests.get(), "every probe reached the server");
        assertEquals(1, server.connections.get(), "five probes, one connection");
        assertEquals(1, probers.idleHttpConnections());
    }

    @Test
    void chunkedAnswerIsReadWholeAndItsConnectionReused() throws IOException {
        ScriptedHttpServer server = server(line -> Reply.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "6;ext=1\r\nhello \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult first = probe(url);
        ProbeResult second = probe(url);

        assertEquals("HTTP GET " + url + ": 200 OK Output: hello world", first.output());
        assertEquals(Health.PASSING, second.status(), second.output());
        assertEquals(1, server.connections.get(), "the chunked answer left the connection reusable");
    }

    @Test
    void answerWithConnectionCloseIsNotReused() throws IOException {
        ScriptedHttpServer server =
                server(line -> new Reply("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nup", true));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        for (int i = 0; i < 3; i++) {
            assertEquals(Health.PASSING, probe(url).status());
        }

        assertEquals(3, server.connections.get());
        assertEquals(0, probers.idleHttpConnections());
    }

    @Test
    void connectionClosedByTheServerWhileIdleIsReplaced() throws IOException {
        // Keep-alive by the headers, but the server closes after each answer (an idle timeout that
        // strikes between two probes): the next probe finds the connection dead and opens another.
        ScriptedHttpServer server = server(line -> new Reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup", true));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        for (int i = 0; i < 3; i++) {
            ProbeResult result = probe(url);
            assertEquals(Health.PASSING, result.status(), "probe " + i + ": " + result.output());
        }

        assertEquals(3, server.requests.get());
        assertEquals(3, server.connections.get());
    }

    @Test
    void answerReadUntilTheConnectionClosesIsKept() throws IOException {
        ScriptedHttpServer server =
                server(line -> new Reply("HTTP/1.1 503 Service Unavailable\r\n\r\nwarming up", true));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result = probe(url);

        assertEquals(Health.CRITICAL, result.status());
        assertEquals("HTTP GET " + url + ": 503 Service Unavailable Output: warming up", result.output());
    }

    @Test
    void redirectIsNotFollowedAndIsCritical() throws IOException {
        ScriptedHttpServer target = server(line -> Reply.ok("secret"));
        String elsewhere = "http://127.0.0.1:" + target.port() + "/v1/status";
        ScriptedHttpServer server = server(line ->
                Reply.of("HTTP/1.1 302 Found\r\nLocation: " + elsewhere + "\r\nContent-Length: 5\r\n\r\nmoved"));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result = probe(url);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertEquals(
                "HTTP GET " + url + ": 302 Found, redirect not followed (Location: " + elsewhere + ") Output: moved",
                result.output());
        assertEquals(0, target.connections.get(), "the redirect's target saw nothing");
    }

    @Test
    void outputIsCutAtTheConfiguredSize() throws IOException {
        probers.close();
        probers = new Probers(Probers.Options.builder().maxOutputBytes(10).build());
        ScriptedHttpServer server = server(line -> Reply.ok("0123456789abcdefghij"));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result = probe(url);

        assertEquals("HTTP GET " + url + ": 200 OK Output: 0123456789", result.output());
        assertEquals(Health.PASSING, probe(url).status());
        assertEquals(1, server.connections.get(), "the short rest of the body was read past, the connection kept");
    }

    @Test
    void bodyFarLongerThanTheOutputEndsTheConnection() throws IOException {
        String body = "x".repeat(HttpExchange.MAX_DRAIN_BYTES + Probers.Options.DEFAULT_MAX_OUTPUT_BYTES + 1);
        ScriptedHttpServer server = server(line -> Reply.ok(body));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        assertEquals(Health.PASSING, probe(url).status());
        ProbeResult second = probe(url);

        assertEquals(Health.PASSING, second.status(), second.output());
        assertEquals(2, server.connections.get(), "the unread rest was not drained: the connection was closed");
    }

    @Test
    void headProbeReadsNoBody() throws IOException {
        ScriptedHttpServer server = server(line -> Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result = probers.probe(
                Checks.http(url, "HEAD", java.util.Map.of(), TIMEOUT_MILLIS, false), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("HTTP HEAD " + url + ": 200 OK Output: ", result.output());
    }

    @Test
    void answerThatIsNotHttpIsCritical() throws IOException {
        ScriptedHttpServer server = server(line -> new Reply("SSH-2.0-OpenSSH_9.6\r\n", true));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result = probe(url);

        assertEquals(Health.CRITICAL, result.status());
        assertTrue(result.output().contains("not an HTTP/1.x answer: SSH-2.0-OpenSSH_9.6"), result.output());
    }

    @Test
    void interimAnswerIsSkipped() throws IOException {
        ScriptedHttpServer server = server(line -> Reply.of(
                "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup"));
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result = probe(url);

        assertEquals("HTTP GET " + url + ": 200 OK Output: up", result.output());
    }

    @Test
    void requestCarriesTheUrlsHostAndPath() throws IOException {
        ScriptedHttpServer server = server(line -> Reply.ok("up"));
        String url = "http://127.0.0.1:" + server.port() + "/health?deep=1";

        probe(url);

        String head = server.heads.getFirst();
        assertTrue(head.startsWith("GET /health?deep=1 HTTP/1.1\r\n"), head);
        assertTrue(head.contains("\r\nHost: 127.0.0.1:" + server.port() + "\r\n"), head);
    }
}
