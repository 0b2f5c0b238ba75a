package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.edgegate.bridge.testing.StatusPageFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway serves its status page at {@code /ui/} on the API port, without a token, as part of
 * its own paths: a route that takes every path never gets {@code /ui/...}.
 */
class StatusPageTest {
    @TempDir
    Path dir;

    private TestGateway gateway;
    private HttpServer upstream;
    private final AtomicInteger proxied = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        gateway = TestGateway.start(dir);
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/", exchange -> {
            proxied.incrementAndGet();
            byte[] body = "upstream".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        upstream.start();
    }

    @AfterEach
    void stop() {
        upstream.stop(0);
        gateway.close();
    }

    private HttpResponse<String> anonymous(String method, String path) {
        return TestGateway.sendAs(null, method, gateway.api(path), null);
    }

    @Test
    void pageIsServedWithoutATokenUnderAStrictContentSecurityPolicy() {
        HttpResponse<String> res = anonymous("GET", "/ui/");

        assertEquals(200, res.statusCode());
        assertTrue(res.body().contains("<script type=\"module\" src=\"gateway.js\"></script>"), res.body());
        assertTrue(
                res.headers().firstValue("Content-Security-Policy").orElse("").startsWith("default-src 'self';"),
                res.headers().toString());
        assertEquals(
                "nosniff", res.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertEquals("no-referrer", res.headers().firstValue("Referrer-Policy").orElse(null));
    }

    @Test
    void everyFileThePageLoadsIsServedFromTheGatewayItself() throws Exception {
        List<String> files = StatusPageFiles.assertAllServed(gateway.api("/ui/"));

        assertEquals(List.of("gateway.js", "common.js", "icon.svg", "common.css"), files);
    }

    @Test
    void statusPagePathsAreNeverProxiedEvenByACatchAllRoute() {
        TestGateway.send("PUT", gateway.api("/v1/routes/everything"), """
                {"match":{"path-prefix":"/"},"service":"web"}""");
        TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"web\",\"id\":\"web-1\",\"address\":\"127.0.0.1\",\"port\":"
                        + upstream.getAddress().getPort() + "}");
        assertEquals("upstream", anonymous("GET", "/elsewhere").body(), "the route takes other paths");
        proxied.set(0);

        assertEquals(200, anonymous("GET", "/ui/").statusCode());
        assertEquals(308, anonymous("GET", "/ui").statusCode());
        assertEquals(404, anonymous("GET", "/ui/elsewhere").statusCode());
        assertEquals(404, anonymous("GET", "/ui/a/b").statusCode());
        assertEquals(405, anonymous("POST", "/ui/").statusCode());

        assertEquals(0, proxied.get(), "nothing under /ui reached the upstream");
    }
}
