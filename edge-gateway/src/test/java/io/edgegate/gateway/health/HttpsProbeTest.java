package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.edgegate.gateway.registry.Health;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTPS checks against a JDK HTTPS server with a self-signed certificate made for the test. */
class HttpsProbeTest {
    private static final long TIMEOUT_MILLIS = 2_000;

    @TempDir
    static Path dir;

    private static final ExecutorService HANDLERS = Executors.newVirtualThreadPerTaskExecutor();
    private static HttpsServer server;
    private static Probers probers;

    @BeforeAll
    static void start() throws Exception {
        SelfSignedCertificate certificate = SelfSignedCertificate.create(dir);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(certificate.serverContext()));
        server.setExecutor(HANDLERS);
        server.createContext("/health", e -> {
            e.sendResponseHeaders(200, 2);
            try (OutputStream out = e.getResponseBody()) {
                out.write("up".getBytes());
            }
        });
        server.start();
        probers = new Probers(Probers.Options.defaults());
    }

    @AfterAll
    static void stop() {
        probers.close();
        server.stop(0);
        HANDLERS.shutdownNow();
    }

    @Test
    void httpsWithSkipVerifyIsPassing() {
        String url = "https://127.0.0.1:" + server.getAddress().getPort() + "/health";

        ProbeResult result =
                probers.probe(Checks.http(url, "GET", Map.of(), TIMEOUT_MILLIS, true), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("HTTP GET " + url + ": 200 OK Output: up", result.output());
    }

    @Test
    void httpsSelfSignedWithoutSkipVerifyIsCritical() {
        String url = "https://127.0.0.1:" + server.getAddress().getPort() + "/health";

        ProbeResult result =
                probers.probe(Checks.http(url, "GET", Map.of(), TIMEOUT_MILLIS, false), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().contains("SSLHandshakeException"), result.output());
    }
}
