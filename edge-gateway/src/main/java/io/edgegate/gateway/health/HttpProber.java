package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * HTTP(S) checks with the JDK client over HTTP/1.1 with keep-alive: one client that verifies
 * certificates, one that trusts any ({@code tlsSkipVerify}). Consul's rules: 2xx passing, 429
 * warning, any other status or no answer critical; the output is {@code HTTP GET <url>: 200 OK
 * Output: <first bytes of the body>}. Reads at most the output cap of a body, then stops reading
 * it (the connection is closed rather than drained). Thread-safe.
 */
final class HttpProber implements Prober {
    /** Headers the JDK client sets itself and refuses from callers; a check's values for them are ignored. */
    private static final Set<String> RESTRICTED_HEADERS =
            Set.of("connection", "content-length", "expect", "host", "upgrade");

    private static final String ACCEPT = "text/plain, text/*, */*";

    private final int maxOutputBytes;
    private final String userAgent;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    // Built on the first check that needs each: a node without HTTP checks never loads the JDK
    // HTTP client and TLS (some 750 classes, a selector thread per client, the CA store parsed),
    // which is memory and start-up time, and classes the image's AOT cache would carry. Guarded by this.
    private HttpClient verifying;
    private HttpClient trustingAll;
    private boolean closed;

    HttpProber(int maxOutputBytes, String userAgent) {
        this.maxOutputBytes = maxOutputBytes;
        this.userAgent = userAgent;
    }

    private HttpClient.Builder client() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .executor(executor);
    }

    /** The client for {@code check}, built on first use; null once closed. */
    private synchronized HttpClient clientFor(CheckSpec check) {
        if (closed) {
            return null;
        }
        if (check.tlsSkipVerify()) {
            if (trustingAll == null) {
                trustingAll =
                        client().sslContext(TrustAllCertificates.context()).build();
            }
            return trustingAll;
        }
        if (verifying == null) {
            verifying = client().build();
        }
        return verifying;
    }

    @Override
    public ProbeResult probe(CheckSpec check) {
        String what = "HTTP " + check.method() + " " + check.target();
        HttpRequest request;
        try {
            request = request(check);
        } catch (IllegalArgumentException e) {
            return Probers.critical(what + ": " + Probers.reason(e));
        }
        HttpClient client = clientFor(check);
        if (client == null) {
            return Probers.critical(what + ": the prober is closed");
        }
        CompletableFuture<HttpResponse<BoundedOutput>> response =
                client.sendAsync(request, info -> new FirstBytes(maxOutputBytes));
        try {
            // The request timeout covers the exchange up to the response headers; this one the body too.
            HttpResponse<BoundedOutput> answer = response.get(check.timeoutMillis(), TimeUnit.MILLISECONDS);
            int code = answer.statusCode();
            Health status = code >= 200 && code < 300 ? Health.PASSING : code == 429 ? Health.WARNING : Health.CRITICAL;
            return new ProbeResult(
                    status,
                    what + ": " + code + reasonPhrase(code) + " Output: "
                            + answer.body().text());
        } catch (TimeoutException e) {
            response.cancel(true);
            return Probers.timedOut(what, check.timeoutMillis());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HttpTimeoutException) {
                return Probers.timedOut(what, check.timeoutMillis());
            }
            return Probers.critical(what + ": " + Probers.reason(e.getCause()));
        } catch (InterruptedException e) {
            response.cancel(true);
            Thread.currentThread().interrupt();
            return Probers.critical(what + ": interrupted");
        }
    }

    private HttpRequest request(CheckSpec check) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(check.target()))
                .timeout(Duration.ofMillis(check.timeoutMillis()))
                .method(check.method(), HttpRequest.BodyPublishers.noBody())
                .header("User-Agent", userAgent)
                .header("Accept", ACCEPT);
        for (Map.Entry<String, List<String>> header : check.headers().entrySet()) {
            String name = header.getKey();
            if (RESTRICTED_HEADERS.contains(name.toLowerCase(Locale.ROOT))
                    || header.getValue().isEmpty()) {
                continue;
            }
            // A check's own User-Agent or Accept replaces the default, as in Consul.
            request.setHeader(name, header.getValue().getFirst());
            for (int i = 1; i < header.getValue().size(); i++) {
                request.header(name, header.getValue().get(i));
            }
        }
        return request.build();
    }

    /** Aborts exchanges in flight (a probe in flight turns critical) and closes pooled connections. */
    void close() {
        synchronized (this) {
            closed = true;
            if (verifying != null) {
                verifying.shutdownNow();
            }
            if (trustingAll != null) {
                trustingAll.shutdownNow();
            }
        }
        executor.shutdownNow();
    }

    /** Go's {@code http.StatusText} for the common codes, with a leading space; empty for others. */
    static String reasonPhrase(int code) {
        return switch (code) {
            case 200 -> " OK";
            case 201 -> " Created";
            case 202 -> " Accepted";
            case 204 -> " No Content";
            case 301 -> " Moved Permanently";
            case 302 -> " Found";
            case 304 -> " Not Modified";
            case 307 -> " Temporary Redirect";
            case 308 -> " Permanent Redirect";
            case 400 -> " Bad Request";
            case 401 -> " Unauthorized";
            case 403 -> " Forbidden";
            case 404 -> " Not Found";
            case 405 -> " Method Not Allowed";
            case 408 -> " Request Timeout";
            case 429 -> " Too Many Requests";
            case 500 -> " Internal Server Error";
            case 501 -> " Not Implemented";
            case 502 -> " Bad Gateway";
            case 503 -> " Service Unavailable";
            case 504 -> " Gateway Timeout";
            default -> "";
        };
    }

    /**
     * Keeps the first bytes of a body, then cancels the subscription: the rest is never read
     * (and never buffered). The body completes at the cap or at the end, whichever comes first.
     */
    private static final class FirstBytes implements HttpResponse.BodySubscriber<BoundedOutput> {
        private final BoundedOutput output;
        private final CompletableFuture<BoundedOutput> body = new CompletableFuture<>();
        private Flow.Subscription subscription;

        FirstBytes(int maxBytes) {
            this.output = new BoundedOutput(maxBytes);
        }

        @Override
        public CompletionStage<BoundedOutput> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            for (ByteBuffer buffer : buffers) {
                output.write(buffer);
            }
            if (output.full()) {
                body.complete(output);
                subscription.cancel();
            } else {
                subscription.request(1);
            }
        }

        @Override
        public void onError(Throwable e) {
            // After the cap the body is complete already; a later error is the cancel's echo.
            body.completeExceptionally(e);
        }

        @Override
        public void onComplete() {
            body.complete(output);
        }
    }
}
