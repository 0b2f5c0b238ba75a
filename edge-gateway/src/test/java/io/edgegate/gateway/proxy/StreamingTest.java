package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Server-sent events and other streams through the proxy. */
class StreamingTest {
    @TempDir
    Path dir;

    private Harness h;
    private Backend backend;

    @AfterEach
    void close() {
        if (backend != null) {
            backend.release.countDown();
            backend.close();
        }
        if (h != null) {
            h.close();
        }
    }

    /** The options as this class runs them: the defaults' event loops (a subclass runs without). */
    ProxyOptions on(ProxyOptions options) {
        return options;
    }

    private void start(ProxyOptions options) {
        h = Harness.start(dir, on(options));
        backend = new Backend("sse");
        h.register("llm", "llm-1", backend.port());
    }

    private static HttpResponse<InputStream> open(java.net.URI uri) throws Exception {
        return ProxyTesting.CLIENT.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    @Test
    void firstEventArrivesBeforeTheBackendFinishes() throws Exception {
        start(ProxyOptions.defaults());
        backend.holdAfterFirstEvent = true;

        HttpResponse<InputStream> res = open(h.uri("/svc/llm/sse?events=3&gap=10"));
        assertEquals(200, res.statusCode());
        assertEquals(
                "text/event-stream", res.headers().firstValue("Content-Type").orElseThrow());
        try (BufferedReader events = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            // The backend is stuck after its first event until released: a proxy that buffered
            // would never show it.
            assertEquals("data: event-0", events.readLine());
            assertEquals(1, backend.inFlight.get(), "the backend has not finished");
            backend.release.countDown();
            List<String> rest = new ArrayList<>();
            String line;
            while ((line = events.readLine()) != null) {
                if (!line.isEmpty()) {
                    rest.add(line);
                }
            }
            assertEquals(List.of("data: event-1", "data: event-2", "data: [DONE]"), rest);
        }
        assertEquals(1, h.lean.requests(), "served by the lean connection handler");
    }

    @Test
    void requestBodyReachesTheBackendBeforeTheClientHasSentIt() throws Exception {
        start(ProxyOptions.defaults());
        int first = 128 * 1024;
        int total = first + 3 * 1024 * 1024;
        // A body that stops after its first part until the backend has received that part: a proxy
        // that buffered request bodies would wait forever (here: 10 s, then the test fails).
        InputStream body = new InputStream() {
            private int sent;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0];
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (sent == total) {
                    return -1;
                }
                if (sent == first) {
                    try {
                        if (!backend.uploadStarted.await(10, TimeUnit.SECONDS)) {
                            return -1;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return -1;
                    }
                }
                int n = Math.min(len, (sent < first ? first : total) - sent);
                sent += n;
                return n;
            }
        };

        HttpResponse<String> res = ProxyTesting.send(HttpRequest.newBuilder(h.uri("/svc/llm/upload"))
                .timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> body))
                .build());

        assertEquals(0, backend.uploadStarted.getCount(), "the backend had the first part before the rest was sent");
        assertEquals("received=" + total, res.body());
    }

    @Test
    void streamOutlivesTheTotalTimeoutWhileEventsKeepComing() throws Exception {
        // total 300 ms, but events every 100 ms for about 1 s: a stream has only the idle timeout
        start(ProxyOptions.builder().timeouts(2_000, 1_000, 300).build());

        HttpResponse<String> res = ProxyTesting.get(h.uri("/svc/llm/sse?events=10&gap=100"));

        assertEquals(200, res.statusCode());
        assertTrue(res.body().contains("data: event-9"), res.body());
        assertTrue(res.body().endsWith("data: [DONE]\n\n"), res.body());
    }

    @Test
    void silentStreamIsCutAfterTheIdleTimeout() throws Exception {
        start(ProxyOptions.builder().timeouts(2_000, 300, 60_000).build());
        backend.holdAfterFirstEvent = true; // silent after the first event, until released

        long started = System.nanoTime();
        HttpResponse<InputStream> res = open(h.uri("/svc/llm/sse?events=3&gap=10"));
        try (InputStream body = res.body()) {
            // the client sees the first event, then a broken stream, not a clean end
            assertThrows(IOException.class, body::readAllBytes);
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMillis < 5_000, "cut after the idle timeout, took " + tookMillis + " ms");
        assertEquals(1, h.proxy.stats().get("aborted-mid-body"));
    }
}
