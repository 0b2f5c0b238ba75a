package io.edgegate.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.StatusPageFiles;
import io.helidon.webserver.WebServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The status page handler on a real web server, with a test page of its own ({@code ui/} beside this class). */
class StatusPageTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    static WebServer server;

    @BeforeAll
    static void start() {
        StatusPage page = StatusPage.of(StatusPageTest.class, "page.js");
        server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .routing(r -> r.register(page).any((req, res) -> res.send("not the page")))
                .build()
                .start();
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    static HttpResponse<String> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertSecurityHeaders(HttpResponse<String> res) {
        assertEquals(
                "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                res.headers().firstValue("Content-Security-Policy").orElse(null));
        assertEquals(
                "nosniff", res.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertEquals("no-referrer", res.headers().firstValue("Referrer-Policy").orElse(null));
        assertEquals("DENY", res.headers().firstValue("X-Frame-Options").orElse(null));
    }

    @Test
    void indexIsServedAtTheSlashWithTheSecurityHeaders() throws Exception {
        HttpResponse<String> res = send("GET", "/ui/");

        assertEquals(200, res.statusCode());
        assertEquals(
                "text/html; charset=utf-8",
                res.headers().firstValue("Content-Type").orElse(null));
        assertTrue(res.body().contains("test page"), res.body());
        assertSecurityHeaders(res);
        assertEquals("no-cache", res.headers().firstValue("Cache-Control").orElse(null));
    }

    @Test
    void everyFileThePageLoadsIsServedWithItsType() throws Exception {
        List<String> files = StatusPageFiles.assertAllServed(URI.create("http://127.0.0.1:" + server.port() + "/ui/"));

        assertEquals(List.of("page.js", "common.js", "icon.svg", "common.css"), files);
    }

    @Test
    void sharedFilesAreServed() throws Exception {
        for (String name : StatusPage.SHARED) {
            HttpResponse<String> res = send("GET", "/ui/" + name);
            assertEquals(200, res.statusCode(), name);
            assertSecurityHeaders(res);
        }
        assertEquals(
                "text/css; charset=utf-8",
                send("GET", "/ui/common.css")
                        .headers()
                        .firstValue("Content-Type")
                        .orElse(null));
        assertEquals(
                "image/svg+xml",
                send("GET", "/ui/icon.svg").headers().firstValue("Content-Type").orElse(null));
    }

    @Test
    void pathWithoutSlashIsRedirectedToThePage() throws Exception {
        HttpResponse<String> res = send("GET", "/ui");

        assertEquals(308, res.statusCode());
        assertEquals("/ui/", res.headers().firstValue("Location").orElse(null));
    }

    @Test
    void fileNotOfThePageIs404FromThePage() throws Exception {
        for (String path :
                List.of("/ui/secret.txt", "/ui/../pom.xml", "/ui/a/b", "/ui/%2e%2e/x", "/ui/ui/index.html")) {
            HttpResponse<String> res = send("GET", path);
            assertEquals(404, res.statusCode(), path);
            assertTrue(res.body().startsWith("not found: the status page has no file"), path + ": " + res.body());
            assertSecurityHeaders(res);
        }
    }

    @Test
    void otherPathsAreNotThePages() throws Exception {
        assertEquals("not the page", send("GET", "/uix").body());
        assertEquals("not the page", send("GET", "/x/ui/").body());
    }

    @Test
    void methodOtherThanGetIs405() throws Exception {
        HttpResponse<String> res = send("POST", "/ui/");

        assertEquals(405, res.statusCode());
        assertEquals("GET", res.headers().firstValue("Allow").orElse(null));
        assertSecurityHeaders(res);
    }

    @Test
    void unchangedFileIsAnswered304ToItsEtag() throws Exception {
        String etag = send("GET", "/ui/page.js").headers().firstValue("ETag").orElseThrow();

        HttpResponse<String> res = send("GET", "/ui/page.js", "If-None-Match", etag);

        assertEquals(304, res.statusCode());
        assertEquals("", res.body());
        assertEquals(
                200, send("GET", "/ui/page.js", "If-None-Match", "\"other\"").statusCode());
    }

    @Test
    void indexIsTheSharedShellWithThePagesPartsInItsSlots() throws Exception {
        String html = send("GET", "/ui/").body();

        assertTrue(html.contains("<title>test page</title>"), html);
        assertTrue(html.contains("<h1>test page <span id=\"where\"></span></h1>"), html);
        assertTrue(html.contains("<script type=\"module\" src=\"page.js\"></script>"), html);
        assertTrue(html.contains("The page shows what this token may read. Any token.</p>"), html);
        assertTrue(html.contains("<p id=\"conn\" class=\"conn\"></p>\n<p>test page</p>\n"), html);
        assertTrue(html.contains("<form id=\"signin-form\""), html);
        assertFalse(html.contains("{{"), html);
        assertFalse(html.contains("<template"), html);
    }

    @Test
    void everySlotIsFilledWithItsPartAsWritten() {
        assertEquals(
                "<b>A &amp; $1 \\ B</b>|x|<b>A &amp; $1 \\ B</b>",
                StatusPage.compose(
                        "{{a}}|{{b-c}}|{{a}}",
                        "<template id=\"b-c\">x</template><template id=\"a\"><b>A &amp; $1 \\ B</b></template>",
                        "t"));
    }

    @Test
    void slotWithoutItsPartStopsTheStartNamingBoth() {
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> StatusPage.compose("{{title}} {{app}}", "<template id=\"title\">t</template>", "x/ui/page.html"));

        assertEquals("status page part missing: app in x/ui/page.html", e.getMessage());
    }

    @Test
    void partThatFillsNoSlotStopsTheStart() {
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> StatusPage.compose(
                        "{{title}}", "<template id=\"title\">t</template><template id=\"tilte\">u</template>", "p"));

        assertEquals("status page part fills no slot of the shell: tilte in p", e.getMessage());
    }

    @Test
    void missingFileStopsTheStartNamingIt() {
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> StatusPage.of(StatusPageTest.class, "nope.js"));

        assertTrue(e.getMessage().contains("io/edgegate/ui/ui/nope.js"), e.getMessage());
    }
}
