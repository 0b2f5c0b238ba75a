package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.edgegate.gateway.registry.ErrorLog;
import io.helidon.http.HeaderNames;
import io.helidon.http.WritableHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which route a request matches. */
class RouteTableTest {
    private final Forwarder forwarder = new Forwarder(ProxyOptions.defaults(), new ErrorLog());

    @AfterEach
    void close() {
        forwarder.close();
    }

    private RouteTable table(String... routes) {
        ServiceRuntime service =
                new ServiceRuntime("svc", ProxyOptions.defaults(), new ConcurrentHashMap<>(), new AtomicLong());
        List<RouteRuntime> runtimes = new ArrayList<>();
        for (String json : routes) {
            RouteSpec spec = ProxyRoutingTest.route(json);
            runtimes.add(new RouteRuntime(spec, spec.name(), service, ProxyOptions.defaults(), forwarder));
        }
        return new RouteTable(runtimes);
    }

    private static String r(String name, String match) {
        return "{\"name\":\"" + name + "\",\"service\":\"svc\",\"match\":" + match + "}";
    }

    private static String matched(RouteTable table, String host, String path, String... headers) {
        WritableHeaders<?> h = WritableHeaders.create();
        for (int i = 0; i < headers.length; i += 2) {
            h.set(HeaderNames.create(headers[i]), headers[i + 1]);
        }
        RouteRuntime route = table.match(host, path, h);
        return route == null ? null : route.name;
    }

    @Test
    void mostSpecificRouteWins() {
        RouteTable table = table(
                r("any", "{}"),
                r("api", "{\"path-prefix\":\"/api\"}"),
                r("api-v2", "{\"path-prefix\":\"/api/v2\"}"),
                r("tenant", "{\"path-prefix\":\"/api\",\"headers\":{\"X-Tenant\":\"a\"}}"),
                r("wild", "{\"host\":\"*.example.com\"}"),
                r("exact", "{\"host\":\"shop.example.com\"}"));

        assertEquals("exact", matched(table, "SHOP.example.com:8080", "/api/v2/x"));
        assertEquals("wild", matched(table, "a.b.example.com", "/api"));
        assertEquals("api-v2", matched(table, "gw", "/api/v2/x", "X-Tenant", "a"));
        assertEquals("tenant", matched(table, "gw", "/api/x", "X-Tenant", "a"));
        assertEquals("api", matched(table, "gw", "/api/x", "X-Tenant", "b"));
        assertEquals("any", matched(table, "example.com", "/other"));
        assertEquals("any", matched(table, null, "/"));
    }

    @Test
    void prefixMatchesOnSegmentBoundaries() {
        RouteTable table = table(r("llm", "{\"path-prefix\":\"/llm/\"}"));

        assertEquals("llm", matched(table, "gw", "/llm"));
        assertEquals("llm", matched(table, "gw", "/llm/v1/chat"));
        assertNull(matched(table, "gw", "/llmx"));
    }

    @Test
    void headerWildcardMeansPresent() {
        RouteTable table = table(r("debug", "{\"headers\":{\"x-debug\":\"*\"}}"));

        assertEquals("debug", matched(table, "gw", "/x", "X-Debug", "anything"));
        assertNull(matched(table, "gw", "/x"));
    }

    @Test
    void stripPrefixLeavesTheRest() {
        RouteSpec spec = ProxyRoutingTest.route(
                "{\"name\":\"s\",\"service\":\"svc\",\"strip-prefix\":true,\"match\":{\"path-prefix\":\"/llm\"}}");
        RouteRuntime route = new RouteRuntime(
                spec,
                "s",
                new ServiceRuntime("svc", ProxyOptions.defaults(), new ConcurrentHashMap<>(), new AtomicLong()),
                ProxyOptions.defaults(),
                forwarder);

        assertEquals("/v1/chat/completions", RouteTable.forwardPath(route, "/llm/v1/chat/completions"));
        assertEquals("/", RouteTable.forwardPath(route, "/llm"));
    }
}
