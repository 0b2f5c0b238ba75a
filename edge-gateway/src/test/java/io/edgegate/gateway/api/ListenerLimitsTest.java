package io.edgegate.gateway.api;

import static io.edgegate.bridge.testing.RawConnections.readToClose;
import static io.edgegate.bridge.testing.RawConnections.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.testing.RawConnections;
import io.edgegate.gateway.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every listener's bounds on hostile clients (slowloris, one address flooding, oversized heads),
 * against a real gateway with small limits, over raw sockets.
 */
class ListenerLimitsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    private TestGateway gateway;
    private final RawConnections connections = new RawConnections();

    @BeforeEach
    void start() {
        gateway = startWithHeadTimeout("400ms");
    }

    private TestGateway startWithHeadTimeout(String headTimeout) {
        return TestGateway.start(
                dir,
                Map.of(
                        "EDGEGATE_LIMITS_MAX_CONNECTIONS_PER_CLIENT", "4",
                        "EDGEGATE_LIMITS_REQUEST_HEAD_TIMEOUT", headTimeout,
                        "EDGEGATE_LIMITS_KEEP_ALIVE_TIMEOUT", "400ms",
                        "EDGEGATE_LIMITS_MAX_REQUEST_LINE_BYTES", "1024",
                        "EDGEGATE_LIMITS_MAX_HEADER_BYTES", "2048"));
    }

    @AfterEach
    void stop() throws IOException {
        connections.close();
        gateway.close();
    }

    private Socket connect(int port) throws IOException {
        return connections.connect(port);
    }

    private JsonNode listeners() throws IOException {
        HttpResponse<String> status = TestGateway.send("GET", gateway.api("/v1/status"), null);
        return MAPPER.readTree(status.body()).get("listeners");
    }

    @Test
    void oneAddressPastItsConnectionLimitIsAnswered429AndTheOthersAreServed() throws Exception {
        // The four held connections send nothing: with the 400 ms head timeout a slow machine may
        // close the first before the fifth arrives, which would then be admitted. Hold them longer.
        gateway.close();
        gateway = startWithHeadTimeout("60s");
        int port = gateway.gateway().port();
        List<Socket> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            five.add(connect(port));
        }
        // The server starts the five connections' threads in an order of its own: whichever it
        // counts fifth is refused, the other four are held.
        Socket refused = firstToAnswer(five);
        String answer = readToClose(refused);
        assertTrue(answer.startsWith("HTTP/1.1 429 "), answer);
        assertTrue(answer.contains("\"rule\":\"max-connections-per-client\""), answer);
        for (Socket s : five) {
            assertTrue(s == refused || s.getInputStream().available() == 0, "one refused, four held");
        }
        five.get(five.get(0) == refused ? 1 : 0).close();
        // The server sees the close when its read of that connection ends: a moment later.
        String again = "";
        for (int i = 0; i < 100 && !again.startsWith("HTTP/1.1 200 "); i++) {
            Thread.sleep(20);
            Socket s = connect(port);
            write(s, "GET /readyz HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n");
            again = readToClose(s);
        }
        assertTrue(again.startsWith("HTTP/1.1 200 "), "a freed place is taken again: " + again);
    }

    /** The first of {@code sockets} with bytes to read, within 10 s. */
    private static Socket firstToAnswer(List<Socket> sockets) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            for (Socket s : sockets) {
                if (s.getInputStream().available() > 0) {
                    return s;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("none of " + sockets.size() + " connections was answered");
    }

    @Test
    void requestHeadTrickledPastTheTimeoutIsClosed() throws Exception {
        Socket slow = connect(gateway.gateway().port());
        write(slow, "GET /readyz HTTP/1.1\r\nHost: edge\r\n");
        long start = System.nanoTime();
        String got = "";
        try {
            for (int i = 0; i < 40; i++) {
                Thread.sleep(100);
                write(slow, "X-Slow-" + i + ": 1\r\n");
            }
        } catch (SocketException e) {
            got = "closed";
        }
        if (got.isEmpty()) {
            got = readToClose(slow).isEmpty() ? "closed" : "answered";
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals("closed", got, "the slow head was cut off");
        assertTrue(millis < 4_000, "closed after " + millis + " ms (timeout 400 ms)");
        assertTrue(listeners().get("api").get("closed-head-timeout").asLong() >= 1);
    }

    @Test
    void silentConnectionIsClosed() throws IOException {
        Socket silent = connect(gateway.gateway().consulPort());
        long start = System.nanoTime();
        assertEquals("", readToClose(silent));
        assertTrue((System.nanoTime() - start) / 1_000_000 < 4_000);
    }

    @Test
    void idleKeptAliveConnectionIsClosedAfterTheKeepAliveTimeout() throws Exception {
        Socket s = connect(gateway.gateway().port());
        write(s, "GET /readyz HTTP/1.1\r\nHost: edge\r\n\r\n");
        InputStream in = s.getInputStream();
        byte[] buffer = new byte[4096];
        int n = in.read(buffer);
        assertTrue(new String(buffer, 0, n, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200 "));
        Thread.sleep(1_000);
        assertEquals("", readToClose(s), "closed while idle");
        assertTrue(listeners().get("api").get("closed-keep-alive-timeout").asLong() >= 1);
    }

    @Test
    void blockingQueryLongerThanTheHeadTimeoutIsNotCut() {
        TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"web\",\"id\":\"web-1\",\"address\":\"10.0.0.7\",\"port\":80}");
        String index = TestGateway.send("GET", gateway.consul("/v1/catalog/services"), null)
                .headers()
                .firstValue("X-Consul-Index")
                .orElseThrow();
        long start = System.nanoTime();
        HttpResponse<String> res =
                TestGateway.send("GET", gateway.consul("/v1/catalog/services?index=" + index + "&wait=1500ms"), null);
        assertEquals(200, res.statusCode());
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 1_000, "answered after " + millis + " ms, before its wait was up");
    }

    @Test
    void oversizedRequestLineIs414AndOversizedHeadersAre400NamingTheLimit() throws IOException {
        Socket longLine = connect(gateway.gateway().port());
        write(longLine, "GET /v1/services/" + "a".repeat(2_000) + " HTTP/1.1\r\nHost: edge\r\n\r\n");
        String line = readToClose(longLine);
        assertTrue(line.startsWith("HTTP/1.1 414 "), line);
        Socket bigHeaders = connect(gateway.gateway().port());
        write(bigHeaders, "GET /readyz HTTP/1.1\r\nHost: edge\r\nX-Big: " + "b".repeat(3_000) + "\r\n\r\n");
        String headers = readToClose(bigHeaders);
        assertTrue(headers.startsWith("HTTP/1.1 400 "), headers);
        assertTrue(headers.contains("\"rule\":\"max-header-bytes\""), headers);
        assertTrue(line.contains("\"rule\":\"max-request-line-bytes\""), line);
    }
}
