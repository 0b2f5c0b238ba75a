package io.edgegate.gateway.proxy;

import static io.edgegate.gateway.proxy.ProxyTesting.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Routing and balancing through a real proxy to real backends. */
class ProxyRoutingTest {
    @TempDir
    Path dir;

    private Harness harness;
    private final List<Backend> backends = new ArrayList<>();

    @AfterEach
    void close() {
        backends.forEach(Backend::close);
        if (harness != null) {
            harness.close();
        }
    }

    private Backend backend(String name) {
        Backend b = new Backend(name);
        backends.add(b);
        return b;
    }

    private Harness start(ProxyOptions options) {
        harness = Harness.start(dir, options);
        return harness;
    }

    private static JsonNode json(HttpResponse<String> res) throws Exception {
        return ProxyJson.MAPPER.readTree(res.body());
    }

    @Test
    void svcPathReachesServiceWithPrefixStripped() {
        Harness h = start(ProxyOptions.defaults());
        Backend b = backend("a");
        h.register("shop", "shop-1", b.port());

        HttpResponse<String> res = get(h.uri("/svc/shop/echo?x=1&y=%20z"));

        assertEquals(200, res.statusCode(), res.body());
        assertTrue(res.body().contains("path=/echo\n"), res.body());
        assertTrue(res.body().contains("query=x=1&y=%20z\n"), res.body());
        HttpResponse<String> root = get(h.uri("/svc/shop"));
        assertEquals("a", root.body());
    }

    @Test
    void unknownServiceIs404NamingIt() throws Exception {
        Harness h = start(ProxyOptions.defaults());

        HttpResponse<String> res = get(h.uri("/svc/nope/x"));

        assertEquals(404, res.statusCode());
        JsonNode body = json(res);
        assertEquals("unknown-service", body.get("rule").asText());
        assertEquals("nope", body.get("service").asText());
    }

    @Test
    void serviceWithoutHealthyInstanceIs503NamingServiceAndWhy() throws Exception {
        Harness h = start(ProxyOptions.defaults());
        Backend b = backend("a");
        h.register("shop", "shop-1", b.port());
        h.maintenance("shop-1", true);

        HttpResponse<String> res = get(h.uri("/svc/shop/x"));

        assertEquals(503, res.statusCode());
        JsonNode body = json(res);
        assertEquals("shop", body.get("service").asText());
        assertEquals("no-healthy-instance", body.get("rule").asText());
        assertTrue(body.get("error").asText().contains("registered=1, healthy=0"), res.body());
        assertEquals(0, b.served.get());
    }

    @Test
    void hopByHopHeadersAreDroppedAndForwardedHeadersSet() {
        Harness h = start(ProxyOptions.defaults());
        Backend b = backend("a");
        h.register("shop", "shop-1", b.port());

        String res = ProxyTesting.raw(
                h.server.port(),
                "GET /svc/shop/echo HTTP/1.1\r\n"
                        + "Host: front.example:8080\r\n"
                        + "X-Keep: yes\r\n"
                        + "Proxy-Authorization: Basic secret\r\n"
                        + "Keep-Alive: timeout=5\r\n"
                        + "TE: trailers\r\n"
                        + "Upgrade: websocket\r\n"
                        + "X-Forwarded-For: 10.1.2.3\r\n"
                        + "X-Drop-Me: hop\r\n"
                        + "Connection: close, X-Drop-Me\r\n"
                        + "\r\n");

        String lower = res.toLowerCase(java.util.Locale.ROOT);
        assertTrue(res.startsWith("HTTP/1.1 200"), res);
        assertTrue(res.contains("h:x-keep=yes\n"), res);
        for (String hop :
                List.of("proxy-authorization", "keep-alive=", "h:te=", "upgrade", "x-drop-me", "proxy-connection")) {
            assertFalse(lower.contains(hop), hop + " was forwarded: " + res);
        }
        assertTrue(res.contains("h:x-forwarded-for=10.1.2.3, 127.0.0.1\n"), res);
        assertTrue(res.contains("h:x-forwarded-proto=http\n"), res);
        assertTrue(res.contains("h:x-forwarded-host=front.example:8080\n"), res);
        assertTrue(res.contains("h:host=127.0.0.1:" + b.port() + "\n"), res);
        // and on the way back: Connection and what it names, Keep-Alive
        assertFalse(lower.contains("x-secret-hop"), res);
        assertFalse(lower.contains("keep-alive: timeout"), res);
        assertTrue(res.contains("X-Backend: a"), res);
        assertTrue(res.contains("Set-Cookie: a=1\r\n") && res.contains("Set-Cookie: b=2\r\n"), res);
    }

    @Test
    void pathAndQueryAreForwardedAsTheyCame() {
        Harness h = start(ProxyOptions.defaults());
        Backend b = backend("a");
        h.register("shop", "shop-1", b.port());

        HttpResponse<String> res = get(h.uri("/svc/shop/echo/x%2Fy/a%20b?q=%26&r=a+b&s=%2B&x=1&x=2"));

        assertEquals(200, res.statusCode(), res.body());
        assertTrue(res.body().contains("path=/echo/x%2Fy/a%20b\n"), res.body());
        assertTrue(res.body().contains("query=q=%26&r=a+b&s=%2B&x=1&x=2\n"), res.body());
    }

    @Test
    void subsetRoutingByVersionSendsOnlyToThatVersion() {
        Harness h = start(ProxyOptions.defaults().toBuilder()
                .routes(List.of(route(
                        "{\"name\":\"v2-only\",\"match\":{\"path-prefix\":\"/app\"},\"service\":\"app\",\"strip-prefix\":true,"
                                + "\"policy\":{\"tags\":[\"version:v2\"]}}")))
                .build());
        Backend v1 = backend("v1");
        Backend v2a = backend("v2a");
        Backend v2b = backend("v2b");
        h.register("app", "app-1", v1.port(), List.of("version:v1"), Map.of(), 1);
        h.register("app", "app-2", v2a.port(), List.of("version:v2"), Map.of(), 1);
        h.register("app", "app-3", v2b.port(), List.of("version:v2"), Map.of(), 1);

        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < 40; i++) {
            HttpResponse<String> res = get(h.uri("/app/x"));
            assertEquals(200, res.statusCode(), res.body());
            seen.merge(res.body(), 1, Integer::sum);
        }

        assertEquals(Map.of("v2a", 20, "v2b", 20), seen);
        assertEquals(0, v1.served.get());
    }

    @Test
    void routeWithNoMatchingInstanceIs503NamingThePolicy() throws Exception {
        Harness h = start(ProxyOptions.defaults().toBuilder()
                .routes(List.of(route("{\"name\":\"v3\",\"match\":{\"path-prefix\":\"/app\"},\"service\":\"app\","
                        + "\"policy\":{\"tags\":[\"version:v3\"]}}")))
                .build());
        Backend v1 = backend("v1");
        h.register("app", "app-1", v1.port(), List.of("version:v1"), Map.of(), 1);

        HttpResponse<String> res = get(h.uri("/app/x"));

        assertEquals(503, res.statusCode());
        JsonNode body = json(res);
        assertEquals("no-matching-instance", body.get("rule").asText());
        assertEquals("v3", body.get("route").asText());
        assertTrue(body.get("error").asText().contains("version:v3"), res.body());
    }

    @Test
    @Tag("load")
    void canarySplitIsWithinTwoPointsOverTenThousandRequests() throws Exception {
        Harness h = start(ProxyOptions.defaults().toBuilder()
                .routes(List.of(route("{\"name\":\"canary\",\"match\":{\"path-prefix\":\"/app\"},\"service\":\"app\","
                        + "\"policy\":{\"subsets\":[{\"name\":\"stable\",\"weight\":80,\"tags\":[\"version:v1\"]},"
                        + "{\"name\":\"canary\",\"weight\":20,\"tags\":[\"version:v2\"]}]}}")))
                .build());
        Backend v1a = backend("v1");
        Backend v1b = backend("v1");
        Backend v2 = backend("v2");
        h.register("app", "app-1", v1a.port(), List.of("version:v1"), Map.of(), 1);
        h.register("app", "app-2", v1b.port(), List.of("version:v1"), Map.of(), 1);
        h.register("app", "app-3", v2.port(), List.of("version:v2"), Map.of(), 1);
        int requests = 10_000;
        AtomicInteger next = new AtomicInteger();
        AtomicInteger canary = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();

        try (var clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < 8; c++) {
                clients.submit(() -> {
                    while (next.getAndIncrement() < requests) {
                        ProxyTesting.Answer res = ProxyTesting.load(h.uri("/app/x"));
                        if (res.status() != 200) {
                            failed.incrementAndGet();
                        } else if (res.body().equals("v2")) {
                            canary.incrementAndGet();
                        }
                    }
                });
            }
        }

        assertEquals(0, failed.get());
        double share = canary.get() * 100.0 / requests;
        assertTrue(Math.abs(share - 20.0) <= 2.0, "canary share " + share + "% of " + requests);
        assertEquals(requests, v1a.served.get() + v1b.served.get() + v2.served.get());
    }

    @Test
    void weightedBalancingFollowsRegistrationWeights() {
        Harness h = start(ProxyOptions.defaults().toBuilder()
                .routes(List.of(route("{\"name\":\"w\",\"match\":{\"path-prefix\":\"/w\"},\"service\":\"w\","
                        + "\"policy\":{\"balancer\":\"weighted-round-robin\"}}")))
                .build());
        Backend heavy = backend("heavy");
        Backend light = backend("light");
        Backend mid = backend("mid");
        h.register("w", "w-1", heavy.port(), List.of(), Map.of(), 5);
        h.register("w", "w-2", light.port(), List.of(), Map.of(), 1);
        h.register("w", "w-3", mid.port(), List.of(), Map.of(), 2);

        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < 80; i++) {
            seen.merge(get(h.uri("/w/x")).body(), 1, Integer::sum);
        }

        // Smooth weighted round robin is exact over whole cycles (8 requests).
        assertEquals(Map.of("heavy", 50, "light", 10, "mid", 20), seen);
    }

    @Test
    void consistentHashKeepsASessionOnOneInstance() {
        Harness h = start(ProxyOptions.defaults().toBuilder()
                .routes(List.of(route("{\"name\":\"kv\",\"match\":{\"path-prefix\":\"/kv\"},\"service\":\"kv\","
                        + "\"policy\":{\"balancer\":\"consistent-hash\",\"hash-header\":\"X-Session\"}}")))
                .build());
        for (int i = 0; i < 3; i++) {
            h.register("kv", "kv-" + i, backend("b" + i).port());
        }

        Map<String, String> owner = new HashMap<>();
        for (int round = 0; round < 3; round++) {
            for (int s = 0; s < 30; s++) {
                String session = "session-" + s;
                String served = get(h.uri("/kv/x"), "X-Session", session).body();
                String first = owner.putIfAbsent(session, served);
                assertTrue(first == null || first.equals(served), session + " moved from " + first + " to " + served);
            }
        }
        assertTrue(new java.util.HashSet<>(owner.values()).size() > 1, "sessions spread: " + owner);
    }

    @Test
    void headAndNoContentAnswersPassWithoutBody() {
        Harness h = start(ProxyOptions.defaults());
        Backend b = backend("abc");
        h.register("shop", "shop-1", b.port());

        HttpResponse<String> head = ProxyTesting.send("HEAD", h.uri("/svc/shop/x"), null);
        assertEquals(200, head.statusCode());
        assertEquals(
                "3",
                head.headers().firstValue("Content-Length").orElseThrow(),
                head.headers().toString());
        assertEquals("", head.body());

        b.failWith = 204;
        HttpResponse<String> none = get(h.uri("/svc/shop/x"));
        assertEquals(204, none.statusCode(), none.body());
        assertEquals("", none.body());
    }

    @Test
    void noRouteIs404NamingThePath() throws Exception {
        Harness h = start(ProxyOptions.defaults());

        HttpResponse<String> res = get(h.uri("/nowhere"));

        assertEquals(404, res.statusCode());
        assertEquals("no-route", json(res).get("rule").asText());
    }

    static RouteSpec route(String json) {
        try {
            return RouteCodec.read(ProxyJson.MAPPER.readTree(json), "", false, RouteSpec.SOURCE_CONFIG);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
