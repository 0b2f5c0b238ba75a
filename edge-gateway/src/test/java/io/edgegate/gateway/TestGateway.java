package io.edgegate.gateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A real gateway in the test's JVM on ephemeral ports, with its journal in a test directory, and
 * a small HTTP client for both of its APIs.
 */
public final class TestGateway implements AutoCloseable {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    private final EdgeGateway gateway;

    private TestGateway(EdgeGateway gateway) {
        this.gateway = gateway;
    }

    /** Starts a gateway with the default configuration, ports 0 and {@code dataDir}. */
    public static TestGateway start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /** Starts a gateway with configuration overrides given as environment variables. */
    public static TestGateway start(Path dataDir, Map<String, String> env) {
        GatewayConfig config = GatewayConfig.load(env, (Path) null).withPortsAndDataDir(0, 0, dataDir);
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

    /** Sends a request with an optional JSON body; returns status, headers and body. */
    public static HttpResponse<String> send(String method, URI uri, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
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

    @Override
    public void close() {
        gateway.close();
    }
}
