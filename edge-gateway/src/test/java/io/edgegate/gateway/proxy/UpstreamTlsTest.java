package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.TestCertificates;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import io.helidon.common.tls.Tls;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.yaml.YamlConfigParser;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's HTTPS upstreams: a route's {@code upstream-tls} with its CA bundle and server name,
 * instances that say {@code scheme: https} with the gateway's default CA, and the 502 naming TLS
 * when a certificate does not verify. Real HTTPS backends, certificates made at run time.
 */
class UpstreamTlsTest {
    private static final TestCertificates.Authority CA = TestCertificates.authority("upstream-test-ca");
    private static final TestCertificates.Authority OTHER = TestCertificates.authority("unknown-ca");

    @TempDir
    Path dir;

    private Harness harness;
    private WebServer backend;

    @AfterEach
    void stop() {
        if (harness != null) {
            harness.close();
        }
        if (backend != null) {
            backend.stop();
        }
    }

    /** An HTTPS backend presenting {@code identity}; answers its name and the Host it was sent. */
    private int httpsBackend(String name, TestCertificates.Issued identity) {
        backend = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .tls(Tls.builder()
                        .sslContext(TestCertificates.serverContext(identity, null))
                        .build())
                .routing(r -> r.any((ServerRequest req, ServerResponse res) ->
                        res.send(name + " host=" + req.authority() + " proto=" + req.isSecure())))
                .build()
                .start();
        return backend.port();
    }

    private Path caFile() {
        return CA.write(dir.resolve("upstream-ca.crt"));
    }

    private Harness start(ProxyOptions options, String routeJson) {
        ProxyOptions withRoute = routeJson == null
                ? options
                : options.toBuilder()
                        .routes(List.of(ProxyRoutingTest.route(routeJson)))
                        .build();
        harness = Harness.start(dir.resolve("data"), withRoute);
        return harness;
    }

    private static String tlsRoute(String upstreamTls) {
        return "{\"name\":\"secure\",\"match\":{\"path-prefix\":\"/secure\"},\"service\":\"backend\","
                + "\"strip-prefix\":true,\"policy\":{\"upstream-tls\":" + upstreamTls + "}}";
    }

    @Test
    void routeWithItsCaBundleReachesAnHttpsBackend() {
        int port = httpsBackend("tls-backend", CA.server("backend"));
        Harness h = start(ProxyOptions.defaults(), tlsRoute("{\"ca-file\":\"" + caFile() + "\"}"));
        h.register("backend", "b1", port);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/secure/x"));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("tls-backend host=127.0.0.1:" + port + " proto=true"), r.body());
    }

    @Test
    void backendWhoseCertificateDoesNotVerifyIsA502NamingTls() {
        int port = httpsBackend("impostor", OTHER.server("impostor"));
        Harness h = start(ProxyOptions.defaults(), tlsRoute("{\"ca-file\":\"" + caFile() + "\"}"));
        h.register("backend", "b1", port);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/secure/x"));
        assertEquals(502, r.statusCode(), r.body());
        assertTrue(r.body().contains("upstream-tls-failed") && r.body().contains("TLS with instance b1"), r.body());
        assertTrue(r.body().contains("upstream-ca.crt"), "names the CA bundle: " + r.body());
    }

    @Test
    void serverNameIsSentAsSniAndHostAndVerified() {
        int port = httpsBackend(
                "named", CA.issue("backend.internal", TestCertificates.KeyKind.EC, true, "backend.internal"));
        Harness h = start(
                ProxyOptions.defaults(),
                tlsRoute("{\"ca-file\":\"" + caFile() + "\",\"server-name\":\"backend.internal\"}"));
        h.register("backend", "b1", port);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/secure/x"));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("named host=backend.internal:" + port), r.body());
    }

    @Test
    void certificateOfAnotherNameIsA502NamingTls() {
        int port = httpsBackend(
                "misnamed", CA.issue("backend.internal", TestCertificates.KeyKind.EC, true, "backend.internal"));
        Harness h = start(ProxyOptions.defaults(), tlsRoute("{\"ca-file\":\"" + caFile() + "\"}"));
        h.register("backend", "b1", port);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/secure/x"));
        assertEquals(502, r.statusCode(), r.body());
        assertTrue(r.body().contains("upstream-tls-failed"), r.body());
    }

    @Test
    void skipVerifyReachesABackendOfAnyAuthority() {
        int port = httpsBackend("anyone", OTHER.server("anyone"));
        Harness h = start(ProxyOptions.defaults(), tlsRoute("{\"skip-verify\":true}"));
        h.register("backend", "b1", port);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/secure/x"));
        assertEquals(200, r.statusCode(), r.body());
    }

    @Test
    void instanceWithSchemeHttpsIsReachedUnderSvcThroughTheGatewaysCa() {
        int port = httpsBackend("svc-tls", CA.server("svc"));
        Harness h = start(ProxyOptions.builder().upstreamCaFile(caFile()).build(), null);
        h.register("secure-svc", "s1", port, List.of(), Map.of("scheme", "https"), 1);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/svc/secure-svc/hello"));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("svc-tls"), r.body());
    }

    @Test
    void instanceWithSchemeHttpsIsRefusedWhenTheJvmDoesNotTrustIt() {
        int port = httpsBackend("untrusted", CA.server("svc"));
        Harness h = start(ProxyOptions.defaults(), null);
        h.register("secure-svc", "s1", port, List.of(), Map.of("scheme", "https"), 1);
        HttpResponse<String> r = ProxyTesting.get(h.uri("/svc/secure-svc/hello"));
        assertEquals(502, r.statusCode(), r.body());
        assertTrue(r.body().contains("JVM's trust store"), r.body());
    }

    @Test
    void tlsConnectionsAreKeptAliveAndReused() {
        int port = httpsBackend("kept", CA.server("backend"));
        Harness h = start(ProxyOptions.defaults(), tlsRoute("{\"ca-file\":\"" + caFile() + "\"}"));
        h.register("backend", "b1", port);
        for (int i = 0; i < 5; i++) {
            assertEquals(200, ProxyTesting.get(h.uri("/secure/" + i)).statusCode());
        }
        Map<String, Long> stats = h.proxy.stats();
        assertEquals(1L, stats.get("upstream-connections-opened"), stats.toString());
        assertEquals(4L, stats.get("upstream-connections-reused"), stats.toString());
    }

    @Test
    void tlsConnectionClosedByTheUpstreamWhileIdleIsNotReused() throws Exception {
        // Answers one request per connection with keep-alive, then closes it (close_notify, FIN)
        try (javax.net.ssl.SSLServerSocket server =
                (javax.net.ssl.SSLServerSocket) TestCertificates.serverContext(CA.server("closer"), null)
                        .getServerSocketFactory()
                        .createServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try (java.net.Socket s = server.accept()) {
                        java.io.InputStream in = s.getInputStream();
                        int matched = 0;
                        int b;
                        while (matched < 4 && (b = in.read()) >= 0) {
                            matched = b == '\r' || b == '\n' ? matched + 1 : 0;
                        }
                        s.getOutputStream()
                                .write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                        Thread.sleep(20);
                    } catch (java.io.IOException | InterruptedException e) {
                        return;
                    }
                }
            });
            Harness h = start(ProxyOptions.defaults(), tlsRoute("{\"ca-file\":\"" + caFile() + "\"}"));
            h.register("backend", "b1", server.getLocalPort());
            assertEquals(200, ProxyTesting.get(h.uri("/secure/1")).statusCode());
            Thread.sleep(200); // the upstream closed it meanwhile; past the pool's stale-check age
            HttpResponse<String> second = ProxyTesting.get(h.uri("/secure/2"));
            assertEquals(200, second.statusCode(), second.body());
            Map<String, Long> stats = h.proxy.stats();
            assertEquals(2L, stats.get("upstream-connections-opened"), stats.toString());
            assertEquals(1L, stats.get("upstream-connections-stale"), stats.toString());
            acceptor.interrupt();
        }
    }

    @Test
    void tlsAndPlainConnectionsToOneAddressUseSeparatePools() {
        ServiceRuntime service =
                new ServiceRuntime("svc", ProxyOptions.defaults(), new ConcurrentHashMap<>(), new AtomicLong());
        Upstream u = new Upstream("i1", service, "127.0.0.1", 8443);
        try (ConnectionPools pools = new ConnectionPools(4);
                Forwarder forwarder =
                        new Forwarder(ProxyOptions.defaults(), new io.edgegate.gateway.registry.ErrorLog())) {
            UpstreamTls verified = forwarder.tls(new RouteSpec.TlsPolicy(null, null, false));
            UpstreamTls skipping = forwarder.tls(new RouteSpec.TlsPolicy(null, null, true));
            ConnectionPool plain = pools.of(u);
            ConnectionPool secure = pools.of(u, verified);
            ConnectionPool insecure = pools.of(u, skipping);
            assertNotSame(plain, secure);
            assertNotSame(secure, insecure);
            assertSame(secure, pools.of(u, verified));
            assertSame(plain, pools.of(u));
            assertEquals(null, plain.tls);
            assertSame(verified, secure.tls);
            assertSame(verified, forwarder.tls(new RouteSpec.TlsPolicy(null, null, false)), "equal policies share");
        }
    }

    @Test
    void tlsSettingsOfRoutesNoLongerInForceAreForgotten() {
        try (Forwarder forwarder =
                new Forwarder(ProxyOptions.defaults(), new io.edgegate.gateway.registry.ErrorLog())) {
            RouteSpec.TlsPolicy kept = new RouteSpec.TlsPolicy(null, "kept.internal", false);
            RouteSpec.TlsPolicy dropped = new RouteSpec.TlsPolicy(null, "dropped.internal", false);
            UpstreamTls keptTls = forwarder.tls(kept);
            UpstreamTls droppedTls = forwarder.tls(dropped);
            UpstreamTls defaults = forwarder.defaultTls();
            forwarder.keepTls(java.util.Set.of(kept));
            assertSame(keptTls, forwarder.tls(kept));
            assertSame(defaults, forwarder.tls(new RouteSpec.TlsPolicy(null, null, false)));
            assertNotSame(droppedTls, forwarder.tls(dropped));
        }
    }

    // ---------------------------------------------------------------- route definitions

    @Test
    void upstreamTlsReadsBackEqual() {
        RouteSpec route = ProxyRoutingTest.route(
                tlsRoute("{\"ca-file\":\"/etc/ca.crt\",\"server-name\":\"LLM.internal\",\"skip-verify\":false}"));
        assertEquals(
                new RouteSpec.TlsPolicy("/etc/ca.crt", "llm.internal", false),
                route.policy().upstreamTls());
        assertEquals(route, RouteCodec.read(RouteCodec.write(route), "", false, RouteSpec.SOURCE_CONFIG));
    }

    @Test
    void upstreamTlsRefusalsNameTheField() {
        assertEquals(
                "policy.upstream-tls.ca-file",
                assertThrows(ProxyException.class, () -> ProxyRoutingTest.route(tlsRoute("{\"ca-file\":\"ca.crt\"}")))
                        .field());
        assertEquals(
                "policy.upstream-tls.server-name",
                assertThrows(
                                ProxyException.class,
                                () -> ProxyRoutingTest.route(tlsRoute("{\"server-name\":\"*.internal\"}")))
                        .field());
        assertEquals(
                "policy.upstream-tls.ca-file",
                assertThrows(
                                ProxyException.class,
                                () -> ProxyRoutingTest.route(
                                        tlsRoute("{\"ca-file\":\"/etc/ca.crt\",\"skip-verify\":true}")))
                        .field());
        assertEquals(
                "policy.upstream-tls.verify",
                assertThrows(ProxyException.class, () -> ProxyRoutingTest.route(tlsRoute("{\"verify\":false}")))
                        .field());
    }

    @Test
    void storedRouteWithAMissingCaFileIsA400NamingIt() {
        Harness h = start(ProxyOptions.defaults(), null);
        HttpResponse<String> r = ProxyTesting.send(
                "PUT", h.uri("/v1/routes/secure"), tlsRoute("{\"ca-file\":\"" + dir.resolve("missing.crt") + "\"}"));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("policy.upstream-tls.ca-file") && r.body().contains("missing.crt"), r.body());
    }

    @Test
    void configuredRouteWithAnUnreadableCaFileStopsTheStart() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ProxyOptions.from(yaml("""
                edgegate:
                  proxy:
                    routes:
                      - name: secure
                        service: backend
                        policy:
                          upstream-tls:
                            ca-file: %s
                """.formatted(dir.resolve("absent.crt")))));
        assertTrue(e.getMessage().contains("edgegate.proxy.routes[0].policy.upstream-tls.ca-file"), e.getMessage());
    }

    @Test
    void configuredRouteWithUpstreamTlsReadsFromYaml() {
        Path ca = caFile();
        ProxyOptions options = ProxyOptions.from(yaml("""
                edgegate:
                  proxy:
                    upstream-ca-file: %s
                    routes:
                      - name: secure
                        service: backend
                        policy:
                          upstream-tls:
                            server-name: backend.internal
                            skip-verify: "false"
                """.formatted(ca)));
        assertEquals(ca, options.upstreamCaFile());
        assertEquals(
                new RouteSpec.TlsPolicy(null, "backend.internal", false),
                options.routes().get(0).policy().upstreamTls());
    }

    @Test
    void emptyUpstreamTlsInYamlTurnsTlsOnWithTheDefaults() {
        ProxyOptions options = ProxyOptions.from(yaml("""
                edgegate:
                  proxy:
                    routes:
                      - name: secure
                        service: backend
                        policy:
                          upstream-tls: {}
                """));
        assertEquals(
                new RouteSpec.TlsPolicy(null, null, false),
                options.routes().get(0).policy().upstreamTls());
    }

    @Test
    void unreadableUpstreamCaFileStopsTheStart() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ProxyOptions.from(yaml("edgegate:\n  proxy:\n    upstream-ca-file: " + dir.resolve("none.crt"))));
        assertTrue(e.getMessage().contains("edgegate.proxy.upstream-ca-file="), e.getMessage());
    }

    private static Config yaml(String text) {
        return Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource()
                .disableParserServices()
                .addParser(YamlConfigParser.create())
                .addSource(ConfigSources.create(text, io.helidon.common.media.type.MediaTypes.APPLICATION_X_YAML))
                .build()
                .get("edgegate.proxy");
    }
}
