package io.edgegate.gateway.proxy;

import io.helidon.http.Method;
import java.util.concurrent.CompletableFuture;

/**
 * API requests that lean connections answer themselves instead of handing the connection to
 * Helidon's routing: the registry's hot writes, which every agent sends every few seconds (a
 * heartbeat or a TTL check's report, an unchanged re-registration), on either API's listener. On an event loop such a request costs a read and a
 * write, where Helidon's HTTP/1.1 costs a virtual thread's park and wake-up and its routing's
 * objects. Implemented by the API, with the same decoding, rights and answers as its routes.
 *
 * <p>A request this lane does not take (another path or method, a query, a body streamed as it
 * comes or larger than the API reads) is Helidon's, as before: the connection is handed over.
 *
 * <p>Thread-safe: called from every connection's thread and every event loop.
 */
public interface LeanApi {
    /** {@link #operation}: the request is not this lane's. */
    int NONE = -1;

    /**
     * The operation a request names, or {@link #NONE}. Called for every request that is not the
     * proxy's: cheap, no allocation.
     *
     * @param rawQuery the query as sent, empty without one
     * @param contentLength the body's declared length, or -1 without one (a chunked body is never
     *     offered)
     */
    int operation(Method method, String rawPath, String rawQuery, long contentLength);

    /**
     * Starts an operation {@link #operation} chose. Never throws for a refusal (bad input, a
     * token without the right, an unknown instance, the registry's refusal): the answer carries
     * it. The future completes when the answer is known: at once for a write the registry takes
     * on the caller's thread, else once the write is durable (or the registry's write timeout
     * passed), on the registry's thread; exceptionally only for a defect (answered 500).
     *
     * @param token the {@code X-Consul-Token} field's value, or null
     * @param authorization the {@code Authorization} field's value, or null
     * @param body the whole request body (empty without one)
     */
    CompletableFuture<Answer> start(int operation, String rawPath, String token, String authorization, byte[] body);

    /**
     * An answer: its status, its header fields (each line with its CRLF: {@code Content-Type} when
     * it has a body, {@code X-Edgegate-Index: 42}, {@code Retry-After: 1}; the connection adds the
     * framing and {@code Date}) and its body (empty for none).
     */
    record Answer(int status, byte[] fields, byte[] body) {}
}
