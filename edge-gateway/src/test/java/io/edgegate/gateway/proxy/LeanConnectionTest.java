package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import io.edgegate.listener.GuardOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's lean HTTP/1.1 connection handler over raw sockets: proxied requests are served by
 * it, a connection is handed to Helidon's HTTP/1.1 (with the bytes already read) at the first
 * request that is not the proxy's, and what the lean parser does not accept is answered by
 * Helidon as it was before.
 */
class LeanConnectionTest {
    @TempDir
    Path dir;

    Harness h;
    Backend backend;

    /** The proxy's options for every lean harness of this class: the defaults. */
    ProxyOptions options() {
        return ProxyOptions.builder().eventLoops(0).build();
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

    private Harness start() {
        h = Harness.start(dir, options());
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        return h;
    }

    Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), h.server.port());
        s.setSoTimeout(20_000);
        return s;
    }

    static void write(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** One answer read from a connection: status line, fields (lower-case names), body. */
    record Answer(String statusLine, Map<String, String> fields, String body) {
        int status() {
            return Integer.parseInt(statusLine.substring(9, 12));
        }
    }

    /** Reads one answer (Content-Length or chunked body; none for HEAD, 1xx, 204, 304); null at the end of the stream. */
    static Answer read(InputStream in, boolean head) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) {
            return null;
        }
        Map<String, String> fields = new TreeMap<>();
        String l;
        while (!(l = line(in)).isEmpty()) {
            int colon = l.indexOf(':');
            fields.merge(
                    l.substring(0, colon).toLowerCase(Locale.ROOT),
                    l.substring(colon + 1).trim(),
                    (a, b) -> a + "," + b);
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (head || status < 200 || status == 204 || status == 304) {
            return new Answer(statusLine, fields, "");
        }
        if ("chunked".equals(fields.get("transfer-encoding"))) {
            while (true) {
                int size = Integer.parseInt(line(in), 16);
                if (size == 0) {
                    line(in);
                    break;
                }
                body.write(in.readNBytes(size));
                line(in);
            }
        } else if (fields.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(fields.get("content-length"))));
        }
        return new Answer(statusLine, fields, body.toString(StandardCharsets.ISO_8859_1));
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                return b.toString();
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.isEmpty() ? null : b.toString();
    }

    /** Whether the server closed the connection (no more bytes), within the socket's timeout. */
    static boolean closedByServer(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketException e) {
            return true; // reset
        }
    }

    /** The first answer to {@code request} on a fresh connection: status and body. */
    private String answerTo(String request) throws IOException {
        try (Socket s = connect()) {
            write(s, request);
            Answer a = read(s.getInputStream(), false);
            return a == null ? "closed" : a.status() + " " + a.body();
        }
    }

    /**
     * What the lean path answers {@code request} and what Helidon alone answers it, with the same
     * limits: they must be the same, and the lean path must have handed the connection over.
     */
    private String sameAnswerAsHelidon(String request, GuardOptions limits, long maxPayloadBytes) throws IOException {
        h = Harness.start(dir.resolve("lean"), options(), limits, maxPayloadBytes);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        String lean = answerTo(request);
        assertEquals(0, h.lean.requests(), "not served by the lean handler");
        assertEquals(1, h.lean.handedOff(), "handed to Helidon");
        h.close();
        h = Harness.startHelidonOnly(dir.resolve("helidon"), limits, maxPayloadBytes);
        String helidon = answerTo(request);
        assertEquals(helidon, lean);
        return lean;
    }

    @Test
    void repeatedAndChangedTargetsAndHostsOnOneConnectionAreEachForwardedAsSent() throws IOException {
        // The connection keeps the last path, query and host strings to reuse them when a client
        // repeats them: every request must still be forwarded with exactly its own.
        start();
        String[][] requests = {
            {"/svc/shop/echo/a", "edge"},
            {"/svc/shop/echo/a", "edge"},
            {"/svc/shop/echo/a?x=1", "edge"},
            {"/svc/shop/echo/a?x=1", "other:8080"},
            {"/svc/shop/echo/b?x=2", "other:8080"},
            {"/svc/shop/echo/a", "edge"},
            {"/svc/shop/echo/ab", "edge"},
        };
        try (Socket s = connect()) {
            for (String[] r : requests) {
                write(s, "GET " + r[0] + " HTTP/1.1\r\nHost: " + r[1] + "\r\n\r\n");
                Answer a = read(s.getInputStream(), false);
                assertEquals(200, a.status(), a.toString());
                int q = r[0].indexOf('?');
                String path = (q < 0 ? r[0] : r[0].substring(0, q)).substring("/svc/shop".length());
                String query = q < 0 ? "" : r[0].substring(q + 1);
                assertTrue(a.body().contains("path=" + path + "\n"), r[0] + " -> " + a.body());
                assertTrue(a.body().contains("query=" + query + "\n"), r[0] + " -> " + a.body());
                assertTrue(a.body().contains("h:x-forwarded-host=" + r[1] + "\n"), r[1] + " -> " + a.body());
            }
        }
        assertEquals(requests.length, h.lean.requests(), "every request on the lean path");
    }

    @Test
    void proxiedRequestsAreServedByTheLeanHandler() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer first = read(s.getInputStream(), false);
            write(s, "GET /svc/shop/y HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer second = read(s.getInputStream(), false);

            assertEquals(200, first.status(), first.toString());
            assertEquals("a", first.body());
            assertEquals(200, second.status(), second.toString());
        }
        assertEquals(2, h.lean.requests(), "both requests on the lean path");
        assertEquals(0, h.lean.handedOff(), "nothing handed to Helidon");
        assertEquals(2, h.proxy.stats().get("lean-requests"));
    }

    @Test
    void apiRequestHandsTheConnectionToHelidonWithTheBytesAlreadyRead() throws IOException {
        start();
        String token = TestGateway.tokenFor(h.server.port());
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer proxied = read(s.getInputStream(), false);
            // The API request and a proxied one after it, in one write: Helidon gets both.
            write(
                    s,
                    "GET /v1/routes HTTP/1.1\r\nHost: edge\r\nX-Consul-Token: " + token + "\r\n\r\n"
                            + "GET /svc/shop/z HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer api = read(s.getInputStream(), false);
            Answer after = read(s.getInputStream(), false);

            assertEquals(200, proxied.status(), proxied.toString());
            assertEquals(200, api.status(), api.toString());
            assertTrue(api.body().contains("\"routes\""), api.body());
            assertEquals(200, after.status(), after.toString());
            assertEquals("a", after.body(), "Helidon's routing reaches the proxy for the rest of the connection");
        }
        assertEquals(1, h.lean.requests(), "only the first request on the lean path");
        assertEquals(1, h.lean.handedOff());
    }

    @Test
    void connectionWhoseFirstRequestIsTheApiIsHelidonsFromTheStart() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "GET /v1/routes HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer api = read(s.getInputStream(), false);

            assertEquals(403, api.status(), "the API's own access rules answer: " + api);
        }
        assertEquals(0, h.lean.requests());
        assertEquals(1, h.lean.handedOff());
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        start();
        try (Socket s = connect()) {
            write(
                    s,
                    "GET /svc/shop/echo?n=1 HTTP/1.1\r\nHost: edge\r\n\r\n"
                            + "POST /svc/shop/echo?n=2 HTTP/1.1\r\nHost: edge\r\nContent-Length: 5\r\n\r\nhello"
                            + "GET /svc/shop/echo?n=3 HTTP/1.1\r\nHost: edge\r\n\r\n");
            InputStream in = s.getInputStream();
            Answer one = read(in, false);
            Answer two = read(in, false);
            Answer three = read(in, false);

            assertTrue(one.body().contains("query=n=1\n"), one.body());
            assertTrue(two.body().contains("query=n=2\n") && two.body().contains("bytes=5\n"), two.body());
            assertTrue(three.body().contains("query=n=3\n"), three.body());
        }
        assertEquals(3, h.lean.requests());
    }

    @Test
    void chunkedRequestBodyIsForwardedWhole() throws IOException {
        start();
        try (Socket s = connect()) {
            write(
                    s,
                    "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
            Answer answer = read(s.getInputStream(), false);

            assertEquals(200, answer.status(), answer.toString());
            assertTrue(answer.body().contains("bytes=11\n"), answer.body());
            assertTrue(
                    answer.body()
                            .contains(
                                    "sha256=" + ProxyTesting.sha256("hello world".getBytes(StandardCharsets.US_ASCII))),
                    answer.body());
            // Served on the same connection afterwards: the chunked body was read to its end.
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            assertEquals("a", read(s.getInputStream(), false).body());
        }
        assertEquals(2, h.lean.requests());
    }

    @Test
    void clientWaitingForContinueGetsItBeforeItSendsTheBody() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
            Answer interim = read(s.getInputStream(), false);
            write(s, "data");
            Answer answer = read(s.getInputStream(), false);

            assertEquals("HTTP/1.1 100 Continue", interim.statusLine());
            assertEquals(200, answer.status(), answer.toString());
            assertTrue(answer.body().contains("bytes=4\n"), answer.body());
            assertFalse(answer.body().contains("h:expect="), "Expect is this hop's: " + answer.body());
        }
    }

    @Test
    void unreadBodyOfARefusedRequestIsDroppedAndTheConnectionServesTheNext() throws IOException {
        start();
        try (Socket s = connect()) {
            write(
                    s,
                    "POST /svc/nosuch/x HTTP/1.1\r\nHost: edge\r\nContent-Length: 10\r\n\r\n0123456789"
                            + "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer refused = read(s.getInputStream(), false);
            Answer next = read(s.getInputStream(), false);

            assertEquals(404, refused.status(), refused.toString());
            assertTrue(refused.body().contains("\"rule\":\"unknown-service\""), refused.body());
            assertNull(refused.fields().get("connection"), "kept open: " + refused);
            assertEquals(200, next.status(), next.toString());
            assertEquals("a", next.body());
        }
    }

    @Test
    void connectionCloseIsAnsweredSoAndTheConnectionEnds() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n");
            Answer answer = read(s.getInputStream(), false);

            assertEquals(200, answer.status());
            assertEquals("close", answer.fields().get("connection"));
            assertTrue(closedByServer(s), "closed after the answer");
        }
    }

    @Test
    void requestTheLeanParserDoesNotAcceptIsAnsweredByHelidonAsBefore() throws IOException {
        start();
        String leanAnswer;
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/%zz HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer a = read(s.getInputStream(), false);
            leanAnswer = a.status() + " " + a.body();
        }
        assertEquals(1, h.lean.handedOff(), "handed to Helidon");
        h.close();
        h = Harness.startHelidonOnly(dir.resolve("helidon"));
        String helidonAnswer;
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/%zz HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer a = read(s.getInputStream(), false);
            helidonAnswer = a.status() + " " + a.body();
        }
        assertEquals(helidonAnswer, leanAnswer);
        assertTrue(leanAnswer.startsWith("400 "), leanAnswer);
    }

    @Test
    void http10AfterAnHttp11RequestIsRefusedAsHelidonRefusesIt() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer first = read(s.getInputStream(), false);
            write(s, "GET /svc/shop/x HTTP/1.0\r\nHost: edge\r\n\r\n");
            Answer second = read(s.getInputStream(), false);

            assertEquals(200, first.status());
            assertEquals(505, second.status(), second.toString());
            assertTrue(closedByServer(s));
        }
    }

    @Test
    void oversizedRequestLineOnAProxiedPathIs414NamingTheLimit() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/" + "x".repeat(9_000) + " HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer answer = read(s.getInputStream(), false);

            assertEquals(414, answer.status(), answer.toString());
            assertTrue(answer.body().contains("\"rule\":\"max-request-line-bytes\""), answer.body());
        }
    }

    @Test
    void answerWithoutDateFromTheUpstreamGetsOne() throws IOException {
        h = Harness.start(dir, options());
        try (ServerSocket upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            h.register("bare", "bare-1", upstream.getLocalPort());
            Thread server = Thread.ofVirtual().start(() -> {
                try (Socket c = upstream.accept()) {
                    InputStream in = c.getInputStream();
                    String l;
                    while ((l = line(in)) != null && !l.isEmpty()) {
                        // the request head
                    }
                    c.getOutputStream()
                            .write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                    .getBytes(StandardCharsets.US_ASCII));
                    c.getOutputStream().flush();
                    in.read();
                } catch (IOException e) {
                    // the test's socket closed
                }
            });
            try (Socket s = connect()) {
                write(s, "GET /svc/bare/x HTTP/1.1\r\nHost: edge\r\n\r\n");
                Answer answer = read(s.getInputStream(), false);

                assertEquals("ok", answer.body());
                assertTrue(
                        answer.fields()
                                .getOrDefault("date", "")
                                .matches("\\w{3}, \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT"),
                        answer.toString());
            }
            server.interrupt();
        }
    }

    @Test
    void withLeanConnectionsOffHelidonServesEveryRequest() throws IOException {
        h = Harness.startHelidonOnly(dir);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer answer = read(s.getInputStream(), false);

            assertEquals("a", answer.body());
        }
        assertNull(h.lean);
        assertEquals(0, h.proxy.stats().get("lean-requests"));
    }

    @Test
    void http10FirstRequestGetsTheGuardsAnswerAndTheConnectionEnds() throws IOException {
        start();
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.0\r\nHost: edge\r\n\r\n");
            Answer answer = read(s.getInputStream(), false);

            assertEquals(505, answer.status(), answer.toString());
            assertTrue(answer.body().contains("HTTP/1.0 is not supported"), answer.body());
            assertTrue(closedByServer(s));
        }
        assertEquals(0, h.lean.requests());
        assertEquals(0, backend.served.get(), "nothing reached the upstream");
    }

    @Test
    void oversizedHeaderFieldsOnAProxiedPathAreRefusedNamingTheLimit() throws IOException {
        String answer = sameAnswerAsHelidon(
                "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\nX-Big: " + "y".repeat(20_000) + "\r\n\r\n",
                GuardOptions.defaults(),
                -1);

        assertTrue(answer.startsWith("400 ") || answer.startsWith("431 "), answer);
        assertTrue(answer.contains("max-header-bytes"), answer);
    }

    @Test
    void malformedHeaderLineOnAProxiedPathIsRefusedAsHelidonRefusesIt() throws IOException {
        String answer = sameAnswerAsHelidon(
                "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\nNo colon here\r\n\r\n", GuardOptions.defaults(), -1);

        assertTrue(answer.startsWith("400 "), answer);
    }

    @Test
    void fieldNameWithASpaceBeforeTheColonIsRefusedAsHelidonRefusesIt() throws IOException {
        String answer = sameAnswerAsHelidon(
                "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\nX-Bad : smuggled\r\n\r\n", GuardOptions.defaults(), -1);

        assertTrue(answer.startsWith("400 "), answer);
    }

    @Test
    void bodyOverTheListenersPayloadCapIsRefusedAsHelidonRefusesIt() throws IOException {
        String answer = sameAnswerAsHelidon(
                "POST /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nContent-Length: 2048\r\n\r\n" + "z".repeat(2048),
                GuardOptions.defaults(),
                1024);

        assertTrue(answer.startsWith("413 "), answer);
        assertEquals(0, backend.served.get(), "nothing reached the upstream");
    }

    @Test
    void keptAliveConnectionSilentPastTheKeepAliveTimeoutIsClosed() throws IOException {
        h = Harness.start(dir, options(), new GuardOptions(256, 10_000, 300, 8_192, 16_384), -1);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer answer = read(s.getInputStream(), false);

            assertEquals(200, answer.status());
            assertTrue(closedByServer(s), "closed while idle");
        }
        assertEquals(1, h.lean.requests());
    }

    @Test
    void requestHeadSentTooSlowlyIsCutOff() throws IOException {
        h = Harness.start(dir, options(), new GuardOptions(256, 400, 60_000, 8_192, 16_384), -1);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: ed");

            assertTrue(closedByServer(s), "closed before the head was whole");
        }
        assertEquals(0, h.lean.requests());
        assertEquals(0, backend.served.get());
    }

    @Test
    void clientOverItsConnectionLimitIsRefused429() throws IOException {
        h = Harness.start(dir, options(), new GuardOptions(1, 10_000, 60_000, 8_192, 16_384), -1);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        try (Socket first = connect()) {
            // The first connection is counted once it has been answered: only then is the second opened.
            write(first, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            assertEquals(200, read(first.getInputStream(), false).status());
            try (Socket second = connect()) {
                write(second, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
                Answer refused = read(second.getInputStream(), false);

                assertEquals(429, refused.status(), refused.toString());
                assertTrue(refused.body().contains("max-connections-per-client"), refused.body());
            }
        }
        assertEquals(1, h.lean.requests());
    }

    @Test
    void eventStreamReachesTheClientEventByEvent() throws IOException {
        start();
        Backend events = new Backend("sse");
        events.holdAfterFirstEvent = true;
        h.register("llm", "llm-1", events.port());
        try (Socket s = connect()) {
            write(s, "GET /svc/llm/sse?events=3&gap=10 HTTP/1.1\r\nHost: edge\r\n\r\n");
            InputStream in = s.getInputStream();
            String statusLine = line(in);
            StringBuilder head = new StringBuilder();
            String l;
            while (!(l = line(in)).isEmpty()) {
                head.append(l.toLowerCase(Locale.ROOT)).append('\n');
            }
            // The backend holds after its first event: a proxy that buffered would never show it.
            StringBuilder first = new StringBuilder();
            while (!first.toString().contains("data: event-0")) {
                first.append(line(in)).append('\n');
            }

            assertTrue(statusLine.startsWith("HTTP/1.1 200"), statusLine);
            assertTrue(head.toString().contains("content-type: text/event-stream"), head.toString());
            assertEquals(1, events.inFlight.get(), "the backend has not finished");
            events.release.countDown();
            StringBuilder rest = new StringBuilder();
            while (!rest.toString().contains("data: [DONE]")) {
                rest.append(line(in)).append('\n');
            }
            assertTrue(rest.toString().contains("data: event-2"), rest.toString());
        } finally {
            events.release.countDown();
            events.close();
        }
        assertEquals(1, h.lean.requests());
    }

    @Test
    void routeRequiringATokenIsGuardedOnTheLeanPath() throws IOException {
        h = Harness.start(dir, options().toBuilder().requireToken(true).build(), GuardOptions.defaults(), -1);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
        String token = TestGateway.tokenFor(h.server.port());
        try (Socket s = connect()) {
            write(s, "GET /svc/shop/echo HTTP/1.1\r\nHost: edge\r\n\r\n");
            Answer none = read(s.getInputStream(), false);
            write(s, "GET /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nX-Consul-Token: " + token + "\r\n\r\n");
            Answer withHeader = read(s.getInputStream(), false);
            write(s, "GET /svc/shop/echo HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer " + token + "\r\n\r\n");
            Answer withBearer = read(s.getInputStream(), false);

            assertEquals(403, none.status(), none.toString());
            assertTrue(none.body().contains("\"needs\":\"service:shop:read\""), none.body());
            assertEquals(200, withHeader.status(), withHeader.toString());
            assertFalse(withHeader.body().contains(token), "the token stays at the gateway: " + withHeader.body());
            assertEquals(200, withBearer.status(), withBearer.toString());
            assertFalse(withBearer.body().contains(token), "the token stays at the gateway: " + withBearer.body());
        }
        assertEquals(2, backend.served.get(), "only the authorised requests reached the upstream");
        assertEquals(3, h.lean.requests());
        assertEquals(0, h.lean.handedOff());
    }
}
