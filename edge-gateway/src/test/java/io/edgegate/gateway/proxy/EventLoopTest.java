package io.edgegate.gateway.proxy;

import static io.edgegate.gateway.proxy.LeanConnectionTest.read;
import static io.edgegate.gateway.proxy.LeanConnectionTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.proxy.LeanConnectionTest.Answer;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the event loops ({@code edgegate.proxy.event-loops}) add to the lean data path: requests a
 * loop leaves to the connection's own thread (and the connection going on there), a small body
 * that arrives in pieces, a large answer to a client that reads slowly (the loop pauses the
 * upstream), instances named by host name, and a client gone in the middle of a stream. The
 * behaviours both paths share run on the loops in {@link LeanConnectionOnEventLoopsTest} and
 * {@link UpstreamConnectionOnEventLoopsTest}.
 */
class EventLoopTest {
    @TempDir
    Path dir;

    private Harness h;
    private Backend backend;

    @BeforeEach
    void start() {
        h = Harness.start(dir, ProxyOptions.builder().eventLoops(2).build());
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
    }

    @AfterEach
    void close() {
        if (backend != null) {
            backend.close();
        }
        if (h != null) {
            h.close();
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), h.server.port());
        s.setSoTimeout(20_000);
        return s;
    }

    private static Answer get(Socket s, String path) throws IOException {
        write(s, "GET " + path + " HTTP/1.1\r\nHost: edge\r\n\r\n");
        return read(s.getInputStream(), false);
    }

    private static String field(String body, String name) {
        for (String line : body.split("\n")) {
            if (line.startsWith(name + "=")) {
                return line.substring(name.length() + 1);
            }
        }
        return null;
    }

    @Test
    void requestsTheLoopLeavesAreServedOnTheConnectionsThreadAndTheConnectionGoesOn() throws IOException {
        byte[] chunked = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        try (Socket s = connect()) {
            Answer first = get(s, "/svc/shop/x");
            write(s, "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n\r\n");
            s.getOutputStream().write(chunked);
            Answer streamed = read(s.getInputStream(), false);
            write(s, "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
            Answer interim = read(s.getInputStream(), false);
            write(s, "abc");
            Answer expected = read(s.getInputStream(), false);
            Answer last = get(s, "/svc/shop/y");

            assertEquals(200, first.status(), first.toString());
            assertEquals(200, streamed.status(), streamed.toString());
            assertEquals("11", field(streamed.body(), "bytes"), streamed.body());
            assertEquals(100, interim.status(), interim.toString());
            assertEquals(200, expected.status(), expected.toString());
            assertEquals("3", field(expected.body(), "bytes"), expected.body());
            assertEquals(200, last.status(), last.toString());
        }
        assertEquals(1, h.lean.onEventLoops(), "one connection, adopted once");
        assertEquals(4, h.lean.requests());
    }

    @Test
    void smallBodyArrivingInPiecesIsForwardedWhole() throws Exception {
        byte[] body = ProxyTesting.pattern(40_000);
        try (Socket s = connect()) {
            OutputStream out = s.getOutputStream();
            write(s, "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nContent-Length: " + body.length + "\r\n\r\n");
            for (int at = 0; at < body.length; at += 10_000) {
                out.write(body, at, 10_000);
                out.flush();
                Thread.sleep(30);
            }
            Answer a = read(s.getInputStream(), false);

            assertEquals(200, a.status(), a.toString());
            assertEquals(String.valueOf(body.length), field(a.body(), "bytes"), a.body());
            assertEquals(ProxyTesting.sha256(body), field(a.body(), "sha256"), a.body());
        }
    }

    /**
     * Posts {@code body} (its length sent first) to the echo backend and checks that the backend
     * got it whole and that the connection serves a next request.
     */
    private void postArrivesWholeAndTheConnectionGoesOn(byte[] body) throws IOException {
        try (Socket s = connect()) {
            write(s, "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nContent-Length: " + body.length + "\r\n\r\n");
            s.getOutputStream().write(body);
            Answer a = read(s.getInputStream(), false);
            Answer next = get(s, "/svc/shop/x");

            assertEquals(200, a.status(), a.toString());
            assertEquals(String.valueOf(body.length), field(a.body(), "bytes"), a.body());
            assertEquals(ProxyTesting.sha256(body), field(a.body(), "sha256"), a.body());
            assertEquals(200, next.status(), next.toString());
        }
    }

    @Test
    void bodyAtTheLoopsCapIsForwardedWholeThoughHeadAndBodyExceedOneWrite() throws IOException {
        // The request's head and body go out in one write of more than LoopIo.BYTES: the rest
        // waits for OP_WRITE.
        postArrivesWholeAndTheConnectionGoesOn(ProxyTesting.pattern(LeanConnections.MAX_LOOP_BODY_BYTES));
        assertEquals(1, h.lean.onEventLoops());
    }

    @Test
    void bodyOverTheLoopsCapIsStreamedOnTheConnectionsThread() throws IOException {
        postArrivesWholeAndTheConnectionGoesOn(ProxyTesting.pattern(LeanConnections.MAX_LOOP_BODY_BYTES * 3));
    }

    @Test
    void largeAnswerReachesAClientThatReadsSlowlyWhole() throws Exception {
        int size = 4 * 1024 * 1024;
        try (Socket s = connect()) {
            s.setReceiveBufferSize(16 * 1024);
            write(s, "GET /svc/shop/big?bytes=" + size + " HTTP/1.1\r\nHost: edge\r\n\r\n");
            InputStream in = s.getInputStream();
            Thread.sleep(300); // the loop fills the socket and pauses the upstream meanwhile
            Answer a = read(in, false);

            assertEquals(200, a.status(), a.fields().toString());
            assertArrayEquals(ProxyTesting.pattern(size), a.body().getBytes(StandardCharsets.ISO_8859_1));
            assertEquals(200, get(s, "/svc/shop/x").status(), "the connection goes on after it");
        }
    }

    @Test
    void instanceNamedByHostNameIsForwardedByTheConnectionsThread() throws IOException {
        Backend named = new Backend("named");
        try (named;
                Socket s = connect()) {
            h.registerAt("named", "named-1", "localhost", named.port());
            Answer byName = get(s, "/svc/named/x");
            Answer byLiteral = get(s, "/svc/shop/x");

            assertEquals(200, byName.status(), byName.toString());
            assertEquals("named", byName.body());
            assertEquals(200, byLiteral.status(), byLiteral.toString());
            assertEquals("a", byLiteral.body());
        }
    }

    @Test
    void clientGoneInTheMiddleOfAStreamEndsTheUpstreamExchange() throws Exception {
        backend.holdAfterFirstEvent = true;
        try (Socket s = connect()) {
            // 1,000 events 20 ms apart: the stream would run 20 s; only its client going ends it sooner.
            write(s, "GET /svc/shop/sse?events=1000&gap=20 HTTP/1.1\r\nHost: edge\r\n\r\n");
            InputStream in = s.getInputStream();
            byte[] first = new byte[512];
            int n = in.read(first);
            assertTrue(n > 0 && new String(first, 0, n, StandardCharsets.ISO_8859_1).contains("event-0"));
            assertEquals(1, h.proxy.inFlight("shop-1"), "the stream is in flight");
        }
        backend.release.countDown(); // the backend writes again: the proxy finds its client gone
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
        while (h.proxy.inFlight("shop-1") > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, h.proxy.inFlight("shop-1"), "nothing left in flight to the instance");
        assertTrue(h.proxy.stats().get("clients-gone") >= 1, "counted as a client gone: " + h.proxy.stats());
        try (Socket s = connect()) {
            Answer after = get(s, "/svc/shop/x");
            assertNotNull(after);
            assertEquals(200, after.status(), after.toString());
        }
    }
}
