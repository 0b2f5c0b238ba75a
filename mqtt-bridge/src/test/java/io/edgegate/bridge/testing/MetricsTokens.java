package io.edgegate.bridge.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * What both services' metrics tests sign in with and how they scrape: an ACL token file with the
 * management token, a metrics-only token (the READMEs' policy: {@code agent: read} alone) and a
 * catalog reader without {@code agent:read}; {@code /metrics} read as Prometheus reads it
 * ({@code Authorization: Bearer}); a wait for a scraped value. Stateless: thread-safe.
 */
public final class MetricsTokens {
    public static final String MANAGEMENT = "management-token-0123456789";
    public static final String METRICS = "metrics-token-0123456789abcdef";
    public static final String READER = "reader-token-0123456789abcdef";

    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    private MetricsTokens() {}

    /** Writes {@code acl.yaml} with the three tokens into {@code dir}; returns its path. */
    public static Path writeAclFile(Path dir) throws IOException {
        Path acl = dir.resolve("acl.yaml");
        Files.writeString(acl, """
                policies:
                  metrics: {agent: read}
                  catalog: {service-prefix: {"": read}, node: read}
                tokens:
                  - {secret: %s, policies: [global-management]}
                  - {secret: %s, policies: [metrics]}
                  - {secret: %s, policies: [catalog]}
                """.formatted(MANAGEMENT, METRICS, READER));
        return acl;
    }

    /** GET {@code uri}, with {@code Authorization: Bearer} when {@code bearer} is not null. */
    public static HttpResponse<String> get(URI uri, String bearer) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        try {
            return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("GET " + uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Scrapes {@code metrics} with the metrics-only token: a 200 in Prometheus's text format, parsed. */
    public static MetricsScrape scrape(URI metrics) {
        HttpResponse<String> answer = get(metrics, METRICS);
        if (answer.statusCode() != 200) {
            throw new AssertionError("GET " + metrics + " answered " + answer.statusCode() + ": " + answer.body());
        }
        String type = answer.headers().firstValue("Content-Type").orElse("");
        if (!type.startsWith("text/plain; version=0.0.4")) {
            throw new AssertionError("GET " + metrics + " answered Content-Type " + type);
        }
        return MetricsScrape.parse(answer.body());
    }

    /** Waits (up to 20 s, scraping every 50 ms) until {@code value} gives {@code expected}. */
    public static void awaitValue(String what, DoubleSupplier value, double expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        double last = value.getAsDouble();
        while (last != expected) {
            if (System.nanoTime() >= deadline) {
                throw new AssertionError(what + ": expected " + expected + ", last scraped " + last);
            }
            Thread.sleep(50);
            last = value.getAsDouble();
        }
    }
}
