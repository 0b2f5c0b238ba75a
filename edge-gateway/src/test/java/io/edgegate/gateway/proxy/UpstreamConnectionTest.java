package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's own HTTP/1.1 upstream client, end to end: a client talks to the proxy, the proxy to
 * a raw-socket backend that answers each request per a script (framings, interim answers,
 * malformed heads, keep-alive closes and races), and counts connections and requests.
 */
@Timeout(10)
class UpstreamConnectionTest {
    @TempDir
    Path dir;

    Harness h;
    ScriptedBackend backend;

    @AfterEach
    void close() throws Exception {
        if (backend != null) {
            backend.close();
        }
        if (h != null) {
            h.close();
        }
    }

    /** The proxy's options: lean connections on their own threads (a subclass runs them on event loops). */
    ProxyOptions options() {
        return ProxyOptions.builder().eventLoops(0).build();
    }

    /** Starts the proxy with one instance of service {@code svc}: the scripted backend. */
    ScriptedBackend start(Script script) throws IOException {
        backend = new ScriptedBackend(script);
        h = Harness.start(dir, options());
        h.register("svc", "only", backend.port());
        return backend;
    }

    // ---------------------------------------------------------------- keep-alive and framing

    @Test
    void keepAliveConnectionIsReusedAcrossRequests() throws Exception {
        start((r, out) -> {
            write(out, ok("n" + r.index()));
            return true;
        });

        for (int i = 1; i <= 20; i++) {
            HttpResponse<String> res = get("/svc/svc/x");
            assertEquals(200, res.statusCode(), res.body());
            assertEquals("n" + i, res.body(), "request " + i + " is the " + i + "th on the one connection");
            awaitIdle(1);
        }

        assertEquals(1, backend.connections.get(), "connections the backend accepted for 20 sequential GETs");
        assertEquals(1L, stat("upstream-connections-opened"), stats());
        assertTrue(stat("upstream-connections-reused") >= 19, "reused >= 19: " + stats());
    }

    @Test
    void chunkedResponseWithExtensionsAndTrailersIsDecodedAndConnectionReused() throws Exception {
        start((r, out) -> {
            write(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                            + "Trailer: X-Checksum\r\n\r\n");
            write(out, "5;ex");
            Thread.sleep(5);
            write(out, "t=1\r\nhel");
            Thread.sleep(5);
            write(out, "lo\r");
            Thread.sleep(5);
            write(out, "\n6;name=\"quoted;value\"\r\n wor");
            Thread.sleep(5);
            write(out, "ld\r\n" + "3\r\n-" + r.connection() + "-\r\n");
            Thread.sleep(5);
            write(out, "0\r\nX-Checksum: 42\r\n");
            Thread.sleep(5);
            write(out, "X-Other: y\r\n\r\n");
            return true;
        });

        HttpResponse<String> first = get("/svc/svc/x");
        assertEquals(200, first.statusCode(), first.body());
        assertEquals("hello world-1-", first.body(), "the decoded chunked body");
        awaitIdle(1);
        HttpResponse<String> second = get("/svc/svc/x");
        assertEquals(200, second.statusCode(), second.body());
        assertEquals("hello world-1-", second.body(), "the second answer came on connection 1 as well");

        assertEquals(
                1, backend.connections.get(), "a chunked answer read to its trailers leaves the connection reusable");
        assertEquals(1L, stat("upstream-connections-reused"), stats());
    }

    @Test
    void bodySplitAcrossManySegmentsArrivesWhole() throws Exception {
        byte[] payload = new byte[200 * 1024 + 17];
        new Random(42).nextBytes(payload);
        start((r, out) -> {
            String head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
                    + payload.length + "\r\n\r\n";
            // The head in three pieces, then the body in pieces of odd sizes, each flushed.
            write(out, head.substring(0, 10));
            write(out, head.substring(10, head.length() - 3));
            write(out, head.substring(head.length() - 3));
            int at = 0;
            int piece = 1;
            while (at < payload.length) {
                int n = Math.min(payload.length - at, 1 + (piece * 977) % 4093);
                out.write(payload, at, n);
                out.flush();
                at += n;
                if (piece++ % 40 == 0) {
                    Thread.sleep(1);
                }
            }
            return true;
        });

        HttpResponse<byte[]> res = ProxyTesting.CLIENT.send(
                request("/svc/svc/big").GET().build(), HttpResponse.BodyHandlers.ofByteArray());

        assertEquals(200, res.statusCode());
        assertEquals(payload.length, res.body().length, "body length");
        assertEquals(ProxyTesting.sha256(payload), ProxyTesting.sha256(res.body()), "body sha256");
        assertArrayEquals(payload, res.body());
    }

    @Test
    void http10ResponseWithoutLengthIsReadUntilCloseAndNotReused() throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            b.append("line ").append(i).append('\n');
        }
        String body = b.toString();
        start((r, out) -> {
            write(out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            for (int at = 0; at < body.length(); at += 5000) {
                write(out, body.substring(at, Math.min(body.length(), at + 5000)));
                Thread.sleep(1);
            }
            return false; // the close ends the body
        });

        HttpResponse<String> first = get("/svc/svc/x");
        assertEquals(200, first.statusCode(), first.body());
        assertEquals(body, first.body(), "the whole body up to the close");
        HttpResponse<String> second = get("/svc/svc/x");
        assertEquals(200, second.statusCode(), second.body());
        assertEquals(body, second.body());

        assertEquals(2, backend.connections.get(), "a body ended by the close leaves no connection to reuse");
        assertEquals(0L, stat("upstream-connections-reused"), stats());
    }

    @Test
    void connectionCloseAnswerIsNotReused() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
            return true; // keeps the socket open anyway: only the header says close
        });

        assertEquals("ok", get("/svc/svc/x").body());
        Thread.sleep(20);
        HttpResponse<String> second = get("/svc/svc/x");
        assertEquals(200, second.statusCode(), second.body());
        assertEquals("ok", second.body());

        assertEquals(
                2, backend.connections.get(), "an answer with Connection: close is not followed by another request");
        assertEquals(1, backend.requestsOn(1), "requests on connection 1");
        assertEquals(0L, stat("upstream-connections-reused"), stats());
    }

    @Test
    void interimResponsesAreSkipped() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n");
            Thread.sleep(5);
            write(out, "HTTP/1.1 100 Continue\r\n\r\n");
            write(out, "HTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 5\r\n\r\nfinal");
            return true;
        });

        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(200, res.statusCode(), res.body());
        assertEquals("final", res.body());
        assertEquals("yes", res.headers().firstValue("X-Final").orElse(null), "the final answer's headers");
        awaitIdle(1);
        HttpResponse<String> again = get("/svc/svc/x");
        assertEquals("final", again.body());
        assertEquals(1, backend.connections.get(), "interim answers leave the connection reusable");
    }

    // ---------------------------------------------------------------- malformed answers

    @Test
    void malformedStatusLineIs502NamingIt() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok");
            return true;
        });

        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(502, res.statusCode(), res.body());
        JsonNode body = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("upstream-bad-response", body.get("rule").asText(), res.body());
        assertTrue(body.get("error").asText().toLowerCase(Locale.ROOT).contains("malformed"), res.body());
        assertTrue(body.get("error").asText().contains("status"), "names what was malformed: " + res.body());
    }

    @Test
    void conflictingContentLengthsAre502() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
            return true;
        });

        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(502, res.statusCode(), res.body());
        JsonNode body = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("upstream-bad-response", body.get("rule").asText(), res.body());
        assertTrue(body.get("error").asText().contains("Content-Length"), res.body());
    }

    @Test
    void controlCharacterInAResponseHeaderValueIs502NamingIt() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nX-Note: a\u0001b\r\nContent-Length: 2\r\n\r\nok");
            return true;
        });

        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(502, res.statusCode(), res.body());
        JsonNode body = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("upstream-bad-response", body.get("rule").asText(), res.body());
        assertTrue(body.get("error").asText().contains("header value"), res.body());
    }

    @Test
    void nonTokenResponseHeaderNameIs502NamingIt() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nX Note: a\r\nContent-Length: 2\r\n\r\nok");
            return true;
        });

        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(502, res.statusCode(), res.body());
        assertTrue(ProxyJson.MAPPER.readTree(res.body()).get("error").asText().contains("header name"), res.body());
    }

    @Test
    void fieldsRepeatedOrChangedAcrossAnswersOnOneConnectionAreRelayedAsSent() throws Exception {
        // The connection keeps the previous answer's fields to reuse them when they repeat; each
        // answer must still reach the client with exactly its own fields.
        start((r, out) -> {
            int n = r.index() - 1;
            StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\nX-Same: fixed\r\nX-Seq: " + n + "\r\n");
            if (n % 2 == 0) {
                head.append("Connection: x-private\r\nX-Private: hidden\r\n");
            } else {
                head.append("X-Private: shown-").append(n).append("\r\nX-Odd: yes\r\n");
            }
            write(out, head + "Content-Length: 2\r\n\r\nok");
            return true;
        });

        for (int n = 0; n < 6; n++) {
            HttpResponse<String> res = get("/svc/svc/x");
            assertEquals(200, res.statusCode());
            assertEquals("fixed", res.headers().firstValue("X-Same").orElse(null), "answer " + n);
            assertEquals(String.valueOf(n), res.headers().firstValue("X-Seq").orElse(null), "answer " + n);
            if (n % 2 == 0) {
                assertTrue(
                        res.headers().firstValue("X-Private").isEmpty(), "named by Connection: dropped, answer " + n);
                assertTrue(res.headers().firstValue("X-Odd").isEmpty(), "answer " + n);
            } else {
                assertEquals("shown-" + n, res.headers().firstValue("X-Private").orElse(null), "answer " + n);
                assertEquals("yes", res.headers().firstValue("X-Odd").orElse(null), "answer " + n);
            }
        }
        assertEquals(1, backend.connections.get(), "all answers came on one connection");
    }

    @Test
    void framingOfAHeadRepeatedOnOneConnectionIsTakenForEveryAnswer() throws Exception {
        // From the second answer on, the lines equal the previous answer's and are taken whole: the
        // chunked framing they declare must still decide how each body is read.
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Same: fixed\r\n\r\n");
            write(out, "2\r\nn" + r.index() + "\r\n0\r\n\r\n");
            return true;
        });

        for (int i = 1; i <= 5; i++) {
            HttpResponse<String> res = get("/svc/svc/x");
            assertEquals(200, res.statusCode(), res.body());
            assertEquals("n" + i, res.body(), "answer " + i);
            assertEquals("fixed", res.headers().firstValue("X-Same").orElse(null), "answer " + i);
            awaitIdle(1);
        }
        assertEquals(1, backend.connections.get(), "every chunked answer was read to its end: one connection");
    }

    @Test
    void connectionTokensListTheNamedFieldsLowerCasedButNotTheHopByHopOnes() {
        assertNull(Forwarder.connectionTokens("keep-alive", null), "keep-alive names no field");
        assertNull(Forwarder.connectionTokens(" Keep-Alive ,\tUpgrade", null), "hop-by-hop names only");
        assertEquals(
                Set.of("x-foo", "x-bar", "close"),
                Forwarder.connectionTokens(" Keep-Alive , X-Foo,\tx-BAR ,, close", null));
    }

    @Test
    void oversizedResponseHeadIs502() throws Exception {
        String value = "v".repeat(1000);
        start((r, out) -> {
            StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\n");
            for (int i = 0; i < 100; i++) { // ~100 KB of head, 100 fields
                head.append("X-Long-").append(i).append(": ").append(value).append("\r\n");
            }
            head.append("Content-Length: 2\r\n\r\nok");
            write(out, head.toString());
            return true;
        });

        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(502, res.statusCode(), res.body());
        JsonNode body = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("upstream-bad-response", body.get("rule").asText(), res.body());
        assertTrue(body.get("error").asText().contains("larger than"), res.body());
    }

    // ---------------------------------------------------------------- stale connections

    @Test
    void upstreamClosingAnIdleConnectionIsNotSeenByClients() throws Exception {
        start((r, out) -> {
            write(out, ok("c" + r.connection()));
            return true;
        });
        backend.idleCloseMillis = 100;

        assertEquals("c1", get("/svc/svc/x").body());
        Thread.sleep(300); // the backend closed connection 1 after 100 ms idle
        assertEquals(1, backend.idleClosed.get(), "the backend closed the idle connection");
        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(200, res.statusCode(), res.body());
        assertEquals("c2", res.body(), "answered on a new connection");
        assertTrue(stat("upstream-connections-stale") >= 1, "the probe dropped the dead connection: " + stats());
        assertEquals(2L, stat("upstream-connections-opened"), stats());
        assertEquals(0L, stat("upstream-stale-resends"), "the probe, not the resend, handled it: " + stats());
        assertEquals(1, backend.requestsOn(1), "nothing was sent on the dead connection");
    }

    @Test
    void reusedConnectionDroppedBeforeAnswerIsResentOnceForGet() throws Exception {
        start((r, out) -> {
            if (r.connection() == 1 && r.index() == 2) {
                return false; // the keep-alive close race: the request arrives, the socket closes
            }
            write(out, ok("c" + r.connection() + "r" + r.index()));
            return true;
        });

        assertEquals("c1r1", get("/svc/svc/x").body());
        awaitIdle(1); // then at once: younger than the stale check's 50 ms, no probe
        HttpResponse<String> res = get("/svc/svc/x");

        assertEquals(200, res.statusCode(), res.body());
        assertEquals("c2r1", res.body(), "answered by a second connection");
        assertEquals(1L, stat("upstream-stale-resends"), stats());
        assertEquals(2, backend.connections.get(), "connections");
        assertEquals(3, backend.requests.size(), "the first, the dropped and the resent request: " + backend.requests);
    }

    @Test
    void sameRaceForAStreamedPostIsNotResent() throws Exception {
        start((r, out) -> {
            if (r.method().equals("POST")) {
                return false; // the whole body read, then the close, no answer
            }
            write(out, ok("c" + r.connection()));
            return true;
        });

        assertEquals("c1", get("/svc/svc/x").body());
        awaitIdle(1);
        byte[] payload = "streamed-body-of-unknown-length".getBytes(StandardCharsets.US_ASCII);
        HttpResponse<String> res = ProxyTesting.send(request("/svc/svc/upload")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(payload)))
                .build());

        assertEquals(502, res.statusCode(), res.body());
        JsonNode body = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("upstream-reset", body.get("rule").asText(), res.body());
        long posts =
                backend.requests.stream().filter(r -> r.method().equals("POST")).count();
        assertTrue(posts <= 1, "the streamed body reached the backend at most once, saw " + posts);
        assertEquals(0L, stat("upstream-stale-resends"), stats());
        assertEquals(
                connectionsForAStreamedPostAfterAGet(),
                backend.connections.get(),
                "no second connection for a body that cannot be sent again");
    }

    /**
     * Upstream connections a streamed POST after a GET leaves: the GET's, reused by the POST and
     * found dropped, not replaced.
     */
    int connectionsForAStreamedPostAfterAGet() {
        return 1;
    }

    @Test
    void extraBytesAfterAnAnswerPreventReuse() throws Exception {
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXYZ");
            return true;
        });

        HttpResponse<String> first = get("/svc/svc/x");
        assertEquals(200, first.statusCode(), first.body());
        assertEquals("ok", first.body());
        Thread.sleep(20);
        HttpResponse<String> second = get("/svc/svc/x");
        assertEquals(200, second.statusCode(), "the junk was not read as the next answer: " + second.body());
        assertEquals("ok", second.body());

        assertEquals(2, backend.connections.get(), "a connection holding bytes beyond its answer is not reused");
        assertEquals(0L, stat("upstream-connections-reused"), stats());
    }

    // ---------------------------------------------------------------- request bodies and HEAD

    @Test
    void chunkedRequestBodyIsForwardedChunked() throws Exception {
        start((r, out) -> {
            write(out, ok("got " + r.body().length));
            return true;
        });
        byte[] payload = new byte[100_000 + 3];
        new Random(7).nextBytes(payload);

        HttpResponse<String> res = ProxyTesting.send(request("/svc/svc/upload")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(payload)))
                .build());

        assertEquals(200, res.statusCode(), res.body());
        assertEquals("got " + payload.length, res.body());
        Request seen = backend.requests.get(0);
        assertEquals("chunked", seen.headers().get("transfer-encoding"), "request headers: " + seen.headers());
        assertEquals(null, seen.headers().get("content-length"), "no Content-Length with chunked");
        assertEquals(ProxyTesting.sha256(payload), ProxyTesting.sha256(seen.body()), "decoded body sha256");
    }

    @Test
    void headResponseDoesNotLeaveBodyBytesOnAReusedConnection() throws Exception {
        start((r, out) -> {
            if (r.method().equals("HEAD")) {
                // A body on HEAD, sent after the head: the proxy has read the head alone by then.
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n");
                Thread.sleep(15);
                write(out, "wrong-body!");
            } else {
                write(out, ok("get-body"));
            }
            return true;
        });

        HttpResponse<String> head = ProxyTesting.send("HEAD", h.uri("/svc/svc/x"), null);
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
        assertEquals("11", head.headers().firstValue("Content-Length").orElse(null), "HEAD keeps its length");
        Thread.sleep(20);
        HttpResponse<String> get = get("/svc/svc/x");

        assertEquals(200, get.statusCode(), "the HEAD's stray body was not read as the GET's answer: " + get.body());
        assertEquals("get-body", get.body());
    }

    // ---------------------------------------------------------------- sweep

    @Test
    void sweepClosesConnectionsIdleBeyondTheKeepAlive() throws Exception {
        start((r, out) -> {
            write(out, ok("ok"));
            return true;
        });
        assertEquals("ok", get("/svc/svc/x").body());
        awaitIdle(1);
        long later = System.nanoTime() + ConnectionPools.KEEP_ALIVE_NANOS + 1_000_000_000L;

        forwarder().pools.sweep(later);
        if (h.lean != null) {
            h.lean.sweepLoops(later); // the event loops' own idle connections
        }

        assertEquals(0L, stat("upstream-connections-idle"), "idle connections after the sweep: " + stats());
        assertTrue(stat("upstream-connections-expired") >= 1, stats());
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (backend.peerClosed.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(1, backend.peerClosed.get(), "the backend saw the proxy close the swept connection");
    }

    @Test
    void headAndBodyWrittenApartWithNagleOnAreNotHeldForTheDelayedAck() throws Exception {
        // The backend's socket has Nagle's algorithm on (the JDK's default): its second small write
        // waits for the ACK of the first. Without an immediate ACK from the proxy, each answer on a
        // kept-alive connection would wait for the kernel's delayed-ACK timer (40 ms on Linux).
        start((r, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n");
            write(out, "ok");
            return true;
        });
        get("/svc/svc/x");
        awaitIdle(1);

        long start = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> res = get("/svc/svc/x");
            assertEquals("ok", res.body());
        }
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertEquals(1, backend.connections.get(), "one kept-alive connection");
        assertTrue(
                millis < 600, "20 answers took " + millis + " ms; held for the delayed ACK they take 800 ms or more");
    }

    // ---------------------------------------------------------------- helpers

    static String ok(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(h.uri(path)).timeout(Duration.ofSeconds(5));
    }

    HttpResponse<String> get(String path) {
        return ProxyTesting.send(request(path).GET().build());
    }

    String stats() {
        return "proxy counters " + h.proxy.stats();
    }

    long stat(String key) {
        Long v = h.proxy.stats().get(key);
        if (v == null) {
            throw new AssertionError("no counter " + key + " in " + stats());
        }
        return v;
    }

    /**
     * Waits until the proxy has {@code n} idle upstream connections: it returns a connection to its
     * pool just after the client's answer is written, so the next request could otherwise race it.
     */
    void awaitIdle(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (stat("upstream-connections-idle") < n && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals((long) n, stat("upstream-connections-idle"), "idle upstream connections: " + stats());
    }

    private Forwarder forwarder() throws ReflectiveOperationException {
        Field f = ProxyService.class.getDeclaredField("forwarder");
        f.setAccessible(true);
        return (Forwarder) f.get(h.proxy);
    }

    /** How the backend answers one request; false closes the connection (without further answer). */
    @FunctionalInterface
    interface Script {
        boolean answer(Request request, OutputStream out) throws Exception;
    }

    /**
     * One request as the backend read it.
     *
     * @param connection the connection's number, from 1, in accept order
     * @param index the request's number on its connection, from 1
     * @param headers by lower-case name (repeated fields joined with a comma)
     * @param body the body, decoded when chunked
     */
    record Request(int connection, int index, String method, String target, Map<String, String> headers, byte[] body) {
        @Override
        public String toString() {
            return method + " " + target + " on connection " + connection + " #" + index;
        }
    }

    /** A backend on a raw socket that reads requests (head and body) and answers per a script. */
    static final class ScriptedBackend implements AutoCloseable {
        private static final int READ_TIMEOUT_MILLIS = 5_000;

        final AtomicInteger connections = new AtomicInteger();
        final List<Request> requests = new CopyOnWriteArrayList<>();
        /** Connections the proxy closed (end of stream while waiting for a request). */
        final AtomicInteger peerClosed = new AtomicInteger();
        /** Connections this backend closed for idleness ({@link #idleCloseMillis}). */
        final AtomicInteger idleClosed = new AtomicInteger();
        /** When positive: a connection waiting this long for its next request is closed. */
        volatile int idleCloseMillis;

        private final Script script;
        private final ServerSocket server;
        private final List<Socket> open = new CopyOnWriteArrayList<>();

        ScriptedBackend(Script script) throws IOException {
            this.script = script;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().name("scripted-accept").start(this::accept);
        }

        int port() {
            return server.getLocalPort();
        }

        long requestsOn(int connection) {
            return requests.stream().filter(r -> r.connection() == connection).count();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    int number = connections.incrementAndGet();
                    open.add(s);
                    Thread.ofVirtual().name("scripted-" + number).start(() -> serve(s, number));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s, int number) {
            try (s) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                for (int index = 1; ; index++) {
                    int idle = idleCloseMillis;
                    s.setSoTimeout(idle > 0 ? idle : READ_TIMEOUT_MILLIS);
                    Request r;
                    try {
                        r = read(in, number, index, s);
                    } catch (SocketTimeoutException e) {
                        if (idle > 0) {
                            idleClosed.incrementAndGet();
                        }
                        return;
                    }
                    if (r == null) {
                        peerClosed.incrementAndGet();
                        return;
                    }
                    requests.add(r);
                    if (!script.answer(r, out)) {
                        return;
                    }
                    out.flush();
                }
            } catch (Exception e) {
                // the proxy went away mid-exchange (some tests make it): nothing to answer
            }
        }

        /** Reads one request; null when the peer closed before its first byte. */
        private static Request read(InputStream in, int connection, int index, Socket s) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    if (head.size() == 0) {
                        return null;
                    }
                    throw new EOFException("closed within a request head");
                }
                if (head.size() == 0) {
                    s.setSoTimeout(READ_TIMEOUT_MILLIS); // the idle wait is over
                }
                head.write(b);
                matched = (b == '\r' && matched % 2 == 0) || (b == '\n' && matched % 2 == 1) ? matched + 1 : 0;
                if (head.size() > 65_536) {
                    throw new IOException("request head too large");
                }
            }
            String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
            String[] requestLine = lines[0].split(" ");
            Map<String, String> headers = new TreeMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.merge(
                            lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                            lines[i].substring(colon + 1).trim(),
                            (a, b) -> a + "," + b);
                }
            }
            byte[] body;
            if ("chunked".equalsIgnoreCase(headers.getOrDefault("transfer-encoding", ""))) {
                body = readChunked(in);
            } else if (headers.containsKey("content-length")) {
                int n = Integer.parseInt(headers.get("content-length"));
                body = in.readNBytes(n);
                if (body.length < n) {
                    throw new EOFException("closed within a request body");
                }
            } else {
                body = new byte[0];
            }
            return new Request(connection, index, requestLine[0], requestLine[1], headers, body);
        }

        private static byte[] readChunked(InputStream in) throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                String line = readLine(in);
                int semi = line.indexOf(';');
                int size = Integer.parseInt((semi < 0 ? line : line.substring(0, semi)).trim(), 16);
                if (size == 0) {
                    while (!readLine(in).isEmpty()) {
                        // trailer fields
                    }
                    return body.toByteArray();
                }
                byte[] chunk = in.readNBytes(size);
                if (chunk.length < size) {
                    throw new EOFException("closed within a chunk");
                }
                body.write(chunk);
                if (!readLine(in).isEmpty()) {
                    throw new IOException("chunk not followed by CRLF");
                }
            }
        }

        private static String readLine(InputStream in) throws IOException {
            StringBuilder line = new StringBuilder();
            while (true) {
                int b = in.read();
                if (b < 0) {
                    throw new EOFException("closed within a line");
                }
                if (b == '\n') {
                    int n = line.length();
                    return n > 0 && line.charAt(n - 1) == '\r' ? line.substring(0, n - 1) : line.toString();
                }
                line.append((char) b);
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : open) {
                try {
                    s.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }
}
