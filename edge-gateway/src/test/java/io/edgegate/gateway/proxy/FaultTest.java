package io.edgegate.gateway.proxy;

import static io.edgegate.gateway.proxy.ProxyTesting.get;
import static io.edgegate.gateway.proxy.ProxyTesting.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.bridge.testing.TcpRelay;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Fault;
import io.edgegate.gateway.proxy.ProxyTesting.FaultyBackend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Upstreams that refuse, reset, stall, die under load or keep failing. */
class FaultTest {
    @TempDir
    Path dir;

    private Harness h;
    private final List<AutoCloseable> servers = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable server : servers) {
            server.close();
        }
        if (h != null) {
            h.close();
        }
    }

    /** The options as this class runs them: the defaults' event loops (a subclass runs without). */
    ProxyOptions on(ProxyOptions options) {
        return options;
    }

    private Harness start(ProxyOptions options) {
        h = Harness.start(dir, on(options));
        return h;
    }

    private Backend backend(String name) {
        Backend b = new Backend(name);
        servers.add(b);
        return b;
    }

    private FaultyBackend faulty(Fault fault) throws IOException {
        FaultyBackend b = new FaultyBackend(fault);
        servers.add(b);
        return b;
    }

    private static JsonNode json(HttpResponse<String> res) throws Exception {
        return ProxyJson.MAPPER.readTree(res.body());
    }

    @Test
    void connectFailureIsRetriedOnAnotherInstanceEvenForPost() throws Exception {
        start(ProxyOptions.defaults());
        h.register("svc", "refusing", faulty(Fault.REFUSE).port());
        Backend good = backend("good");
        h.register("svc", "good", good.port());

        for (int i = 0; i < 4; i++) {
            HttpResponse<String> res = send("POST", h.uri("/svc/svc/echo"), "hello");
            assertEquals(200, res.statusCode(), res.body());
            assertTrue(res.body().contains("backend=good\n"), res.body());
            assertTrue(res.body().contains("bytes=5\n"), "the body reached the second instance whole: " + res.body());
        }
        assertTrue(h.proxy.stats().get("retries") >= 2, h.proxy.stats().toString());
    }

    @Test
    void refusedEverywhereIs502NamingTheService() throws Exception {
        start(ProxyOptions.defaults());
        h.register("svc", "r1", faulty(Fault.REFUSE).port());
        h.register("svc", "r2", faulty(Fault.REFUSE).port());

        HttpResponse<String> res = get(h.uri("/svc/svc/x"));

        assertEquals(502, res.statusCode());
        JsonNode body = json(res);
        assertEquals("svc", body.get("service").asText());
        assertEquals("upstream-connect-failed", body.get("rule").asText());
        assertTrue(body.get("error").asText().contains("2 attempts"), res.body());
    }

    @Test
    void resetMidBodyOfAnIdempotentRequestIsRetried() throws Exception {
        start(ProxyOptions.defaults());
        FaultyBackend resetting = faulty(Fault.RESET_MID_BODY);
        h.register("svc", "resetting", resetting.port());
        Backend good = backend("good");
        h.register("svc", "good", good.port());

        for (int i = 0; i < 4; i++) {
            HttpResponse<String> res = get(h.uri("/svc/svc/x"));
            assertEquals(200, res.statusCode(), res.body());
            assertEquals("good", res.body());
        }
        assertTrue(resetting.accepted.get() >= 1, "the resetting instance was tried");
        assertEquals(4, h.lean.requests(), "served by the lean connection handler");
    }

    @Test
    void postIsNotRetriedAfterTheUpstreamBrokeMidBody() throws Exception {
        start(ProxyOptions.defaults());
        h.register("svc", "resetting", faulty(Fault.RESET_MID_BODY).port());
        Backend good = backend("good");
        h.register("svc", "good", good.port());

        // Round robin starts with the first registered instance. Its small body is read whole before
        // the client gets a status, so the failure is answered as a 502, not shown as a cut body.
        HttpResponse<String> res = send("POST", h.uri("/svc/svc/x"), "not twice");
        assertEquals(502, res.statusCode(), res.body());
        assertEquals("svc", json(res).get("service").asText());

        assertEquals(0, good.served.get(), "a POST is never sent twice");
        assertEquals(0, h.proxy.stats().get("retries"));
    }

    @Test
    void stalledUpstreamIs504AfterTheTotalTimeout() throws Exception {
        start(ProxyOptions.builder().timeouts(2_000, 10_000, 300).build());
        h.register("svc", "stalled", faulty(Fault.STALL).port());

        long started = System.nanoTime();
        HttpResponse<String> res = get(h.uri("/svc/svc/x"));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertEquals(504, res.statusCode());
        JsonNode body = json(res);
        assertEquals("upstream-timeout", body.get("rule").asText());
        assertEquals("svc", body.get("service").asText());
        assertTrue(body.get("error").asText().contains("total timeout of 300 ms"), res.body());
        assertTrue(tookMillis >= 250 && tookMillis < 5_000, "took " + tookMillis + " ms");
    }

    @Test
    void stalledUpstreamIs504AfterTheIdleTimeout() throws Exception {
        start(ProxyOptions.builder().timeouts(2_000, 300, 10_000).build());
        h.register("svc", "stalled", faulty(Fault.STALL).port());

        HttpResponse<String> res = get(h.uri("/svc/svc/x"));

        assertEquals(504, res.statusCode());
        assertTrue(json(res).get("error").asText().contains("idle timeout of 300 ms"), res.body());
    }

    @Test
    @Tag("load")
    void killingOneOfThreeBackendsUnderLoadGivesNoClientError() throws Exception {
        start(ProxyOptions.defaults());
        Backend[] b = {backend("b0"), backend("b1"), backend("b2")};
        // b1 is reached through a relay, and the kill is the relay's: every connection reset and new
        // ones refused at once, as the kernel does for a killed process (a web server's own stop may
        // leave a connection it accepted at that moment open and unanswered).
        TcpRelay b1Process = new TcpRelay(b[1].port());
        servers.add(b1Process);
        int b1Port = Integer.parseInt(b1Process.url().substring(b1Process.url().lastIndexOf(':') + 1));
        for (int i = 0; i < 3; i++) {
            h.register("svc", "b" + i, i == 1 ? b1Port : b[i].port());
        }
        // Every instance answers once before the load: the test is about the kill, not a cold start.
        for (int i = 0; i < 3; i++) {
            assertEquals(200, get(h.uri("/svc/svc/x")).statusCode());
        }
        // The kill comes after a number of answers, and the load runs for a number of answers after
        // it, not for a time: a loaded machine makes both slower, not different. The deadline only
        // bounds the loop.
        int beforeKill = 100;
        int afterKill = 150;
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger okAfterKill = new AtomicInteger();
        AtomicBoolean killed = new AtomicBoolean();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (var clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < 6; c++) {
                clients.submit(() -> {
                    while (okAfterKill.get() < afterKill && errors.size() < 10 && System.nanoTime() < deadline) {
                        boolean afterTheKill = killed.get();
                        try {
                            HttpResponse<String> res = get(h.uri("/svc/svc/x"));
                            if (res.statusCode() == 200) {
                                ok.incrementAndGet();
                                if (afterTheKill) {
                                    okAfterKill.incrementAndGet();
                                }
                            } else {
                                errors.add(res.statusCode() + " " + res.body());
                            }
                        } catch (RuntimeException e) {
                            errors.add(e.toString());
                        }
                    }
                });
            }
            while (ok.get() < beforeKill && errors.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            b1Process.close(); // killed: connections reset, new ones refused
            killed.set(true);
        }

        assertEquals(List.of(), List.copyOf(errors));
        assertTrue(okAfterKill.get() >= afterKill, "requests served after the kill: " + okAfterKill.get());
        assertTrue(h.proxy.stats().get("upstream-failures") > 0, "the kill was felt: " + h.proxy.stats());
        assertTrue(b[0].served.get() > 0 && b[2].served.get() > 0);
    }

    @Test
    void failingInstanceIsEjectedAndReturns() throws Exception {
        start(ProxyOptions.builder().outlier(3, 1_000, 0.5).build());
        Backend a = backend("a");
        Backend b = backend("b");
        Backend c = backend("c");
        h.register("svc", "a", a.port());
        h.register("svc", "b", b.port());
        h.register("svc", "c", c.port());
        c.failWith = 503;

        for (int i = 0; i < 12; i++) {
            HttpResponse<String> res = get(h.uri("/svc/svc/x"));
            assertEquals(200, res.statusCode(), "503 is retried for GET: " + res.body());
        }
        assertTrue(h.proxy.ejected("c"), "ejected after 3 failures in a row");
        assertFalse(h.proxy.ejected("a"));
        int seenByC = c.served.get();
        for (int i = 0; i < 20; i++) {
            get(h.uri("/svc/svc/x"));
        }
        assertEquals(seenByC, c.served.get(), "no traffic while ejected");

        c.failWith = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (h.proxy.ejected("c") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(h.proxy.ejected("c"), "back after the ejection time");
        for (int i = 0; i < 9; i++) {
            assertEquals(200, get(h.uri("/svc/svc/x")).statusCode());
        }
        assertTrue(c.served.get() >= seenByC + 3, "traffic again: " + (c.served.get() - seenByC));
        assertEquals(1, h.proxy.stats().get("ejections"));
        assertEquals(0, h.lean.handedOff(), "every request on the lean connection handler");
    }

    @Test
    void ejectionNeverExceedsTheMaxShare() throws Exception {
        start(ProxyOptions.builder().outlier(2, 10_000, 0.5).build());
        Backend a = backend("a");
        Backend b = backend("b");
        Backend c = backend("c");
        h.register("svc", "a", a.port());
        h.register("svc", "b", b.port());
        h.register("svc", "c", c.port());
        b.failWith = 503;
        c.failWith = 503;

        for (int i = 0; i < 30; i++) {
            assertEquals(200, get(h.uri("/svc/svc/x")).statusCode());
        }

        int ejected = (h.proxy.ejected("b") ? 1 : 0) + (h.proxy.ejected("c") ? 1 : 0);
        assertEquals(1, ejected, "max-ejected-share 0.5 of 3 instances ejects one");
        assertFalse(h.proxy.ejected("a"));
    }

    @Test
    void retryBudgetBoundsRetriesWhenEverythingFails() throws Exception {
        // 2 retries a request would triple the load; a 10% budget (after the 100 banked) does not.
        start(ProxyOptions.builder()
                .outlier(1_000_000, 1_000, 0.5)
                .retryBudget(2, 0.1, 0)
                .build());
        Backend[] b = {backend("a"), backend("b"), backend("c")};
        for (int i = 0; i < 3; i++) {
            h.register("svc", "i" + i, b[i].port());
            b[i].failWith = 503;
        }

        int requests = 300;
        for (int i = 0; i < requests; i++) {
            assertEquals(503, get(h.uri("/svc/svc/x")).statusCode());
        }

        long retries = h.proxy.stats().get("retries");
        int load = b[0].served.get() + b[1].served.get() + b[2].served.get();
        assertTrue(retries <= 100 + requests / 10 + 2, "retries=" + retries);
        assertTrue(
                h.proxy.stats().get("retries-refused-by-budget") > 0,
                h.proxy.stats().toString());
        assertEquals(requests + retries, load);
    }
}
