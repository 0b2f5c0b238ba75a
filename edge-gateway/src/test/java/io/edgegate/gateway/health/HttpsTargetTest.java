package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.edgegate.gateway.registry.Health;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIMatcher;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS checks connect to the address their probe resolved, yet speak TLS for the URL's host: it
 * is the server name sent (SNI) and the name the certificate must carry. The certificate here is
 * for {@code localhost} and {@code 127.0.0.1}; {@code other.test} resolves to 127.0.0.1 too.
 */
class HttpsTargetTest {
    private static final long TIMEOUT_MILLIS = 5_000;

    @TempDir
    static Path dir;

    private static final ExecutorService HANDLERS = Executors.newVirtualThreadPerTaskExecutor();
    private static final List<String> SERVER_NAMES = new CopyOnWriteArrayList<>();
    private static HttpsServer server;
    private static SelfSignedCertificate certificate;

    private static final HostResolver RESOLVER = (host, timeoutMillis) -> host.endsWith(".test")
            ? new InetAddress[] {InetAddress.getByName("127.0.0.1")}
            : HostResolver.system().resolve(host, timeoutMillis);

    @BeforeAll
    static void start() throws Exception {
        certificate = SelfSignedCertificate.create(dir);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(certificate.serverContext()) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters parameters = getSSLContext().getDefaultSSLParameters();
                parameters.setSNIMatchers(List.of(new SNIMatcher(0) {
                    @Override
                    public boolean matches(SNIServerName name) {
                        SERVER_NAMES.add(((SNIHostName) name).getAsciiName());
                        return true;
                    }
                }));
                params.setSSLParameters(parameters);
            }
        });
        server.setExecutor(HANDLERS);
        server.createContext("/health", e -> {
            e.sendResponseHeaders(200, 2);
            try (OutputStream out = e.getResponseBody()) {
                out.write("up".getBytes());
            }
        });
        server.start();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
        HANDLERS.shutdownNow();
    }

    @Test
    void urlHostIsTheServerNameSent() {
        String url = "https://other.test:" + server.getAddress().getPort() + "/health";
        try (Probers probers = new Probers(Probers.Options.defaults(), CheckTargetPolicy.ownAddressOnly(), RESOLVER)) {

            ProbeResult result = probers.probe(Checks.http(url, "GET", Map.of(), TIMEOUT_MILLIS, true), "127.0.0.1");

            assertEquals(Health.PASSING, result.status(), result.output());
            assertEquals(List.of("other.test"), SERVER_NAMES);
        } finally {
            SERVER_NAMES.clear();
        }
    }

    @Test
    void certificateIsCheckedAgainstTheUrlHostNotTheAddressReached() throws Exception {
        // The JVM's default TLS context is what verifying probes use: made to trust this test's
        // certificate for the length of this test only.
        SSLContext previous = SSLContext.getDefault();
        SSLContext.setDefault(trusting(certificate));
        try (Probers probers = new Probers(Probers.Options.defaults(), CheckTargetPolicy.ownAddressOnly(), RESOLVER)) {
            int port = server.getAddress().getPort();
            String named = "https://localhost:" + port + "/health";
            String other = "https://other.test:" + port + "/health";

            ProbeResult trusted =
                    probers.probe(Checks.http(named, "GET", Map.of(), TIMEOUT_MILLIS, false), "localhost");
            ProbeResult mismatched =
                    probers.probe(Checks.http(other, "GET", Map.of(), TIMEOUT_MILLIS, false), "127.0.0.1");

            assertEquals(Health.PASSING, trusted.status(), trusted.output());
            assertEquals(Health.CRITICAL, mismatched.status(), mismatched.output());
            assertTrue(mismatched.output().contains("SSLHandshakeException"), mismatched.output());
            assertTrue(mismatched.output().contains("other.test"), mismatched.output());
        } finally {
            SSLContext.setDefault(previous);
            SERVER_NAMES.clear();
        }
    }

    private static SSLContext trusting(SelfSignedCertificate certificate) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        X509Certificate cert = certificate.certificate();
        trust.setCertificateEntry("server", cert);
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }
}
