package io.edgegate.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real gateway in the test's JVM on ephemeral ports, with its journal in a test directory, and
 * a small HTTP client for both of its APIs.
 */
public final class TestGateway implements AutoCloseable {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    /** The management token of each running test gateway, by listener port: {@link #send} attaches it. */
    private static final Map<Integer, String> TOKENS = new ConcurrentHashMap<>();

    private final EdgeGateway gateway;
    private final String managementToken;

    private TestGateway(EdgeGateway gateway) {
        this.gateway = gateway;
        Path file = gateway.config().server().dataDir().resolve(GatewayConfig.MANAGEMENT_TOKEN_FILE);
        String token = null;
        if (Files.exists(file)) {
            try {
                token = Files.readString(file).strip();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            TOKENS.put(gateway.port(), token);
            TOKENS.put(gateway.consulPort(), token);
        }
        this.managementToken = token;
    }

    /** The management token the gateway made on its first start (null with a token file). */
    public String managementToken() {
        return managementToken;
    }

    /** Starts a gateway with the default configuration, ports 0 and {@code dataDir}. */
    public static TestGateway start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /** Starts a gateway with configuration overrides given as environment variables. */
    public static TestGateway start(Path dataDir, Map<String, String> env) {
        GatewayConfig config = GatewayConfig.load(env, (Path) null).toBuilder()
                .ports(0, 0)
                .dataDir(dataDir)
                .build();
        return new TestGateway(EdgeGateway.start(config));
    }

    public EdgeGateway gateway() {
        return gateway;
    }

    public URI api(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + gateway.port() + pathAndQuery);
    }

    public URI consul(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + gateway.consulPort() + pathAndQuery);
    }

    /**
     * Sends a request with an optional JSON body, with the management token of the test gateway
     * listening on the URI's port (every right); returns status, headers and body.
     */
    public static HttpResponse<String> send(String method, URI uri, String body) {
        return sendAs(TOKENS.get(uri.getPort()), method, uri, body);
    }

    /** Sends a request with the given token ({@code X-Consul-Token}; null for none). */
    public static HttpResponse<String> sendAs(String token, String method, URI uri, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        if (token != null) {
            request.header("X-Consul-Token", token);
        }
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        request.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + uri + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(method + " " + uri + " interrupted", e);
        }
    }

    /** The management token of the test gateway on {@code port}, or null. */
    public static String tokenFor(int port) {
        return TOKENS.get(port);
    }

    /** Makes {@link #send} (and the proxy tests' clients) attach {@code token} for {@code port}. */
    public static void rememberToken(int port, String token) {
        TOKENS.put(port, token);
    }

    public static void forgetToken(int port) {
        TOKENS.remove(port);
    }

    @Override
    public void close() {
        TOKENS.remove(gateway.port());
        TOKENS.remove(gateway.consulPort());
        gateway.close();
    }
}
