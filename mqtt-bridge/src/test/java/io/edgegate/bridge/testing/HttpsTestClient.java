package io.edgegate.bridge.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * HTTPS to a listener of the gateway or cloud-sync with the JDK's {@link HttpClient}: trusts a test
 * authority, and presents a client certificate when given one (mTLS). A new client per helper, so
 * each has its own TLS sessions. A refused handshake is an {@link IOException} from
 * {@link #send}.
 */
public final class HttpsTestClient {
    private final HttpClient client;

    private HttpsTestClient(TestCertificates.Authority trusted, TestCertificates.Issued identity) {
        this.client = HttpClient.newBuilder()
                .sslContext(TestCertificates.clientContext(trusted, identity))
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** A client that trusts {@code trusted} and has no certificate of its own. */
    public static HttpsTestClient trusting(TestCertificates.Authority trusted) {
        return new HttpsTestClient(trusted, null);
    }

    /** A client that trusts {@code trusted} and presents {@code identity}. */
    public static HttpsTestClient presenting(TestCertificates.Authority trusted, TestCertificates.Issued identity) {
        return new HttpsTestClient(trusted, identity);
    }

    /** {@code https://127.0.0.1:port} and the path. */
    public static URI https(int port, String pathAndQuery) {
        return URI.create("https://127.0.0.1:" + port + pathAndQuery);
    }

    /**
     * Sends a request with an optional JSON body and extra headers (name, value, ...).
     *
     * @throws IOException when the connection or its TLS handshake fails
     */
    public HttpResponse<String> send(String method, URI uri, String body, String... headers) throws IOException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (headers.length > 0) {
            request.headers(headers);
        }
        request.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(method + " " + uri + " interrupted", e);
        }
    }
}
