package io.edgegate.gateway;

import static io.edgegate.bridge.testing.HeadlessBrowser.instanceOnScreen;
import static io.edgegate.bridge.testing.HeadlessBrowser.whenAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.edgegate.bridge.testing.HeadlessBrowser;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;

/**
 * The gateway's status page at {@code /ui/} in a real browser (headless Chromium): it loads and
 * signs in, follows the registry live (registrations, failing checks and deregistrations appear
 * without a reload), shows routes with their weights, the proxy's traffic and which right a token
 * lacks, shows registered text as text, and fits a phone's width. One gateway and one browser for
 * the class; each test uses services of its own. Screenshots: {@code target/ui-screenshots/}.
 */
@Tag("browser")
class StatusPageBrowserTest {
    static final String ADMIN = "ui-admin-token-0123456789";
    static final String VIEWER = "ui-viewer-token-0123456789";

    @TempDir
    static Path dir;

    static TestGateway gateway;
    static HeadlessBrowser browser;
    /** A local service: {@code /health} answers {@link #healthStatus}; anything else 200. */
    static HttpServer upstream;

    static final AtomicInteger healthStatus = new AtomicInteger(200);

    @BeforeAll
    static void start() throws IOException {
        Path tokens = dir.resolve("acl.yaml");
        Files.writeString(tokens, """
                policies:
                  viewer: {service-prefix: {"": read}, node: read, agent: read}
                tokens:
                  - {secret: %s, policies: [global-management], description: operators}
                  - {secret: %s, policies: [viewer], description: line screen}
                """.formatted(ADMIN, VIEWER));
        gateway = TestGateway.start(dir.resolve("data"), Map.of("EDGEGATE_ACL_TOKENS_FILE", tokens.toString()));
        TestGateway.rememberToken(gateway.gateway().port(), ADMIN);
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/", exchange -> {
            boolean health = exchange.getRequestURI().getPath().equals("/health");
            int status = health ? healthStatus.get() : 200;
            byte[] body = (status == 200 ? "ok" : "model not loaded").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        upstream.start();
        browser = HeadlessBrowser.start();
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.close();
        }
        if (upstream != null) {
            upstream.stop(0);
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The gateway's API with the operators' token: the one place a token is attached. */
    static HttpResponse<String> api(String method, String path, String body) {
        HttpResponse<String> res = TestGateway.sendAs(ADMIN, method, gateway.api(path), body);
        assertTrue(res.statusCode() / 100 == 2, method + " " + path + ": " + res.statusCode() + " " + res.body());
        return res;
    }

    static void register(String json) {
        api("POST", "/v1/instances", json);
    }

    static String instance(String service, String id, int port, String extra) {
        return "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"127.0.0.1\",\"port\":" + port
                + (extra == null ? "" : "," + extra) + "}";
    }

    /** Opens the page afresh and signs in with {@code token}, as a person would: paste and press the button. */
    static void signIn(String token) {
        browser.signIn(
                gateway.api("/ui/").toString(),
                token,
                d -> browser.shown(By.id("app")) && browser.shown(By.id("node-card"))
                        || browser.shown(By.cssSelector("#node .needs")));
    }

    static String healthOnScreen(String id) {
        return browser.attribute(instanceOnScreen(id), "data-health");
    }

    // ---------------------------------------------------------------- tests

    @Test
    void signInKeepsTheTokenInSessionStorageOnlyAndShowsWhoIsSignedIn() {
        signIn(ADMIN);

        assertTrue(browser.find(By.id("who")).getText().contains("operators"), browser.pageText());
        assertEquals(ADMIN, browser.script("return sessionStorage.getItem('edgegate-token');"));
        assertNull(browser.script("return localStorage.getItem('edgegate-token');"));
        assertFalse(
                browser.driver().getCurrentUrl().contains(ADMIN),
                browser.driver().getCurrentUrl());
        assertEquals("", browser.find(By.id("token")).getDomProperty("value"), "the field is emptied");
        browser.find(By.id("signout")).click();
        browser.await("the sign-in form again", d -> browser.shown(By.id("token")));
        assertNull(browser.script("return sessionStorage.getItem('edgegate-token');"));
    }

    @Test
    void unknownTokenIsRefusedAtSignIn() {
        browser.submitToken(gateway.api("/ui/").toString(), "nobody-issued-this-0123456789");

        browser.await(
                "the refusal",
                d -> browser.find(By.id("signin-error")).getText().contains("not known"));
        assertFalse(browser.shown(By.id("app")));
    }

    @Test
    void registrationAppearsWithoutAReload() {
        signIn(ADMIN);
        browser.script("window.notReloaded = true;");

        register(instance("appear", "appear-1", 9001, "\"tags\":[\"line-3\"],\"meta\":{\"model\":\"qwen2.5-7b\"}"));

        String text = browser.await("the new instance", d -> browser.text(instanceOnScreen("appear-1")));
        assertEquals(Boolean.TRUE, browser.script("return window.notReloaded === true;"), "the page was not reloaded");
        assertTrue(text.contains("127.0.0.1:9001"), text);
        assertTrue(text.contains("line-3"), text);
        assertTrue(text.contains("model") && text.contains("qwen2.5-7b"), text);
    }

    @Test
    void failingCheckTurnsItsInstanceCriticalOnScreen() {
        healthStatus.set(200);
        int port = upstream.getAddress().getPort();
        register(instance(
                "checked",
                "checked-1",
                port,
                "\"check\":{\"name\":\"model loaded\",\"http\":\"http://127.0.0.1:" + port
                        + "/health\",\"interval\":\"200ms\"}"));
        signIn(ADMIN);
        browser.await("passing on screen", d -> "passing".equals(healthOnScreen("checked-1")));
        browser.script("window.notReloaded = true;");

        healthStatus.set(500);

        String card = browser.await(
                "critical on screen",
                d -> "critical".equals(healthOnScreen("checked-1"))
                        ? browser.text(instanceOnScreen("checked-1"))
                        : null);
        assertTrue(card.contains("CRITICAL"), "a word, not colour alone: " + card);
        browser.await("the check's output", d -> {
            String text = browser.text(instanceOnScreen("checked-1"));
            return text != null && text.contains("model not loaded");
        });
        assertEquals(Boolean.TRUE, browser.script("return window.notReloaded === true;"));
        healthStatus.set(200);
    }

    @Test
    void deregisteredInstanceDisappears() {
        register(instance("leaving", "leaving-1", 9101, null));
        register(instance("leaving", "leaving-2", 9102, null));
        signIn(ADMIN);
        browser.await("both instances", d -> browser.shown(instanceOnScreen("leaving-2")));

        api("DELETE", "/v1/instances/leaving-2", null);

        browser.await("the instance gone", d -> browser.find(instanceOnScreen("leaving-2")) == null);
        assertTrue(browser.shown(instanceOnScreen("leaving-1")), "the other stays");
        api("DELETE", "/v1/instances/leaving-1", null);
        browser.await(
                "the service gone with its last instance",
                d -> browser.find(By.cssSelector("[data-service='leaving']")) == null);
    }

    @Test
    void routesShowTheirBalancerAndCanaryWeights() {
        signIn(ADMIN);

        api("PUT", "/v1/routes/llm-canary", """
                {"match":{"path-prefix":"/llm"},"service":"llm-infer","strip-prefix":true,
                 "policy":{"subsets":[{"name":"stable","weight":80,"tags":["version:v1"]},
                                      {"name":"canary","weight":20,"tags":["version:v2"]}],
                           "balancer":"least-request"}}""");

        // Read in one wait: the page re-renders every few seconds and replaces the route's elements.
        By route = By.cssSelector("[data-route='llm-canary']");
        List<String> shown = browser.await(
                "the route with both weights",
                d -> whenAll(
                        browser.text(route),
                        browser.text(By.cssSelector("[data-route='llm-canary'] [data-subset='stable'] .weight")),
                        browser.text(By.cssSelector("[data-route='llm-canary'] [data-subset='canary'] .weight"))));
        String text = shown.get(0);
        assertTrue(text.contains("least-request"), text);
        assertTrue(text.contains("llm-infer"), text);
        assertEquals("80%", shown.get(1), text);
        assertEquals("20%", shown.get(2), text);
        api("DELETE", "/v1/routes/llm-canary", null);
    }

    @Test
    void tokenWithoutOperatorReadIsToldWhichRightItLacks() {
        register(instance("viewed", "viewed-1", 9201, null));

        signIn(VIEWER);

        By needs = By.cssSelector("#routes .needs");
        List<String> shown = browser.await(
                "the missing right", d -> whenAll(browser.attribute(needs, "data-needs"), browser.text(needs)));
        assertEquals("operator:read", shown.get(0));
        assertTrue(shown.get(1).contains("operator:read"), shown.get(1));
        browser.await("its services all the same", d -> browser.shown(instanceOnScreen("viewed-1")));
    }

    @Test
    void proxyTrafficOfAServiceIsCountedOnScreen() {
        int port = upstream.getAddress().getPort();
        register(instance("busy", "busy-1", port, null));
        signIn(ADMIN);
        browser.await("the service", d -> browser.shown(By.cssSelector("[data-service='busy']")));

        for (int i = 0; i < 3; i++) {
            assertEquals(
                    200,
                    TestGateway.sendAs(null, "GET", gateway.api("/svc/busy/x"), null)
                            .statusCode());
        }

        browser.await("3 requests on screen", d -> "3"
                .equals(browser.text(By.cssSelector("[data-service='busy'] .traffic .requests"))));
    }

    @Test
    void registeredTextIsShownAsTextNeverAsMarkup() {
        String tag = "<img src=x onerror=\"window.injected=1\">";
        String meta = "<i id=\"injected\">x</i>";
        register(instance(
                "markup", "markup-1", 9301, "\"tags\":[" + json(tag) + "],\"meta\":{\"note\":" + json(meta) + "}"));

        signIn(ADMIN);

        String card = browser.await("the instance", d -> browser.text(instanceOnScreen("markup-1")));
        assertTrue(card.contains(tag), card);
        assertTrue(card.contains(meta), card);
        assertNull(browser.script("return document.getElementById('injected');"));
        assertNull(browser.script("return document.querySelector('#services img');"));
        assertNull(browser.script("return window.injected === undefined ? null : window.injected;"));
    }

    @Test
    void pageFitsAPhoneAndBreaksNoContentSecurityRule() {
        int port = upstream.getAddress().getPort();
        healthStatus.set(200);
        register(instance(
                "llm-infer",
                "llm-infer-1",
                port,
                "\"tags\":[\"version:v1\",\"region:line-3\"],\"meta\":{\"model\":\"qwen2.5-7b\",\"gpu\":\"L4\"},"
                        + "\"check\":{\"name\":\"model loaded\",\"http\":\"http://127.0.0.1:" + port
                        + "/health\",\"interval\":\"1s\"}"));
        register(instance(
                "llm-infer",
                "llm-infer-2",
                9402,
                "\"tags\":[\"version:v2\",\"region:line-3\"],\"meta\":{\"model\":\"qwen2.5-7b\"},"
                        + "\"check\":{\"name\":\"heartbeat\",\"ttl\":\"30s\"}"));
        register(instance("vision", "vision-line-3-camera-controller-with-a-long-id-1", 9403, "\"tags\":[\"cam:7\"]"));
        api("PUT", "/v1/routes/llm", """
                {"match":{"path-prefix":"/llm"},"service":"llm-infer","strip-prefix":true,
                 "policy":{"subsets":[{"name":"stable","weight":80,"tags":["version:v1"]},
                                      {"name":"canary","weight":20,"tags":["version:v2"]}],
                           "balancer":"least-request"}}""");
        signIn(ADMIN);
        browser.await("a passing instance", d -> "passing".equals(healthOnScreen("llm-infer-1")));
        for (int i = 0; i < 5; i++) {
            TestGateway.sendAs(null, "GET", gateway.api("/llm/v1/models"), null);
        }
        browser.await("traffic", d -> "5"
                .equals(browser.text(By.cssSelector("[data-service='llm-infer'] .traffic .requests"))));
        browser.await("the route", d -> browser.shown(By.cssSelector("[data-route='llm']")));

        browser.assertFitsAPhone("gateway");
        browser.assertNoScriptErrors();
        api("DELETE", "/v1/routes/llm", null);
    }

    private static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
