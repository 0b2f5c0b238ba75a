package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's data path and access control: open unless a route requires a token with read on its
 * service, and the gateway's token never reaches the upstream.
 */
class ProxyAccessTest {
    private static final String ADMIN = "admin-token-0123456789";
    private static final String APP_READER = "app-reader-token-0123456789";
    private static final String OTHER_READER = "other-reader-token-0123456789";

    @TempDir
    Path dir;

    private TestGateway gateway;
    private Backend backend;

    @BeforeEach
    void start() throws Exception {
        Path tokens = dir.resolve("acl.yaml");
        Files.writeString(tokens, """
                policies:
                  app-reader: {service: {app: read}}
                  other-reader: {service: {other: read}}
                tokens:
                  - {secret: %s, policies: [global-management]}
                  - {secret: %s, policies: [app-reader]}
                  - {secret: %s, policies: [other-reader]}
                """.formatted(ADMIN, APP_READER, OTHER_READER));
        gateway = TestGateway.start(dir.resolve("data"), Map.of("EDGEGATE_ACL_TOKENS_FILE", tokens.toString()));
        backend = new Backend("app");
        assertEquals(
                200,
                TestGateway.sendAs(
                                ADMIN,
                                "POST",
                                gateway.api("/v1/instances"),
                                "{\"service\":\"app\",\"id\":\"app-1\",\"address\":\"127.0.0.1\",\"port\":"
                                        + backend.port() + "}")
                        .statusCode());
        assertEquals(
                200,
                TestGateway.sendAs(
                                ADMIN,
                                "PUT",
                                gateway.api("/v1/routes/private"),
                                "{\"match\":{\"path-prefix\":\"/private\"},\"service\":\"app\",\"strip-prefix\":true,"
                                        + "\"policy\":{\"require-token\":true}}")
                        .statusCode());
    }

    @AfterEach
    void stop() {
        backend.close();
        gateway.close();
    }

    @Test
    void implicitRoutesStayOpenAndTheTokenHeaderIsNotForwarded() {
        HttpResponse<String> res =
                ProxyTesting.send("GET", gateway.api("/svc/app/echo"), null, "X-Consul-Token", ADMIN);
        assertEquals(200, res.statusCode(), res.body());
        assertFalse(res.body().contains("x-consul-token"), res.body());
        assertEquals(
                200,
                ProxyTesting.send("GET", gateway.api("/svc/app/echo"), null, "X-Consul-Token", "")
                        .statusCode());
    }

    @Test
    void routeRequiringATokenRefusesWithoutReadOnItsService() {
        int before = backend.served.get();
        HttpResponse<String> none = TestGateway.sendAs(null, "GET", gateway.api("/private/echo"), null);
        assertEquals(403, none.statusCode(), none.body());
        assertTrue(none.body().contains("\"needs\":\"service:app:read\""), none.body());
        assertEquals(
                403,
                TestGateway.sendAs(OTHER_READER, "GET", gateway.api("/private/echo"), null)
                        .statusCode());
        assertEquals(before, backend.served.get(), "a refused request never reaches the upstream");
        HttpResponse<String> allowed = TestGateway.sendAs(APP_READER, "GET", gateway.api("/private/echo"), null);
        assertEquals(200, allowed.statusCode(), allowed.body());
        assertFalse(allowed.body().contains("x-consul-token"), allowed.body());
    }

    @Test
    void bearerTokenThatAuthorisedTheRouteIsNotForwarded() {
        HttpResponse<String> res =
                ProxyTesting.send("GET", gateway.api("/private/echo"), null, "Authorization", "Bearer " + APP_READER);
        assertEquals(200, res.statusCode(), res.body());
        assertFalse(res.body().contains(APP_READER), "the gateway's token stays at the gateway: " + res.body());
        // On an open route an Authorization header is the upstream's own (an API key): it passes.
        HttpResponse<String> open = ProxyTesting.send(
                "GET", gateway.api("/svc/app/echo"), null, "Authorization", "Bearer upstream-api-key");
        assertTrue(open.body().contains("h:authorization=Bearer upstream-api-key"), open.body());
    }
}
