package io.edgegate.gateway.api;

import io.edgegate.acl.AclException;
import io.edgegate.gateway.proxy.LeanApi.Answer;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What both APIs share for the lean connections ({@code LeanApi}): the answers, field for field as
 * their routes and error handlers ({@link Json#installErrorHandlers}, {@link
 * Json#installConsulErrorHandlers}) give them, and which path parameters they take as sent.
 * Stateless.
 */
final class LeanAnswers {
    private static final byte[] EMPTY = {};
    private static final String JSON_FIELD = "Content-Type: application/json\r\n";
    private static final byte[] JSON = ascii(JSON_FIELD);
    private static final byte[] JSON_RETRY = ascii(JSON_FIELD + "Retry-After: 1\r\n");
    private static final byte[] TEXT = ascii("Content-Type: text/plain\r\n");
    /** A 200 without a body (the Consul API's writes). */
    static final Answer OK_EMPTY = new Answer(200, EMPTY, EMPTY);

    private LeanAnswers() {}

    /**
     * Whether {@code rawPath[from, to)} is a path parameter the routes would see unchanged: one
     * non-empty segment that needs no decoding (no '%') and no normalisation (not "." or "..").
     */
    static boolean plainSegment(String rawPath, int from, int to) {
        if (to <= from) {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = rawPath.charAt(i);
            if (c == '/' || c == '%') {
                return false;
            }
        }
        int length = to - from;
        return !(rawPath.charAt(from) == '.' && (length == 1 || length == 2 && rawPath.charAt(from + 1) == '.'));
    }

    /** A JSON answer with header fields of its own besides the content type ({@code fields}: whole lines). */
    static Answer json(int status, String fields, byte[] body) {
        return new Answer(status, ascii(JSON_FIELD + fields), body);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * The answer to a write: at once when the registry decided on the caller's thread (its fast
     * paths and refusals), else when the write is durable or the write timeout passed. A refusal
     * is answered as the routes answer it; {@code rename} gives a registry refusal the field names
     * of the API (identity for the native one).
     */
    static <T> CompletableFuture<Answer> outcome(
            Registry registry,
            CompletableFuture<T> write,
            Function<T, Answer> answer,
            UnaryOperator<RegistryException> rename) {
        if (write.isDone()) {
            return CompletableFuture.completedFuture(
                    write.isCompletedExceptionally()
                            ? refusal(rename.apply(registry.refusal(write.exceptionNow())), false)
                            : answer.apply(write.resultNow()));
        }
        return registry.withinWriteTimeout(write).handle((result, failure) -> {
            if (failure == null) {
                return answer.apply(result);
            }
            Throwable cause =
                    failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
            return refusal(rename.apply(registry.refusal(cause)), false);
        });
    }

    /**
     * The answer to a refusal: an {@link ApiException} or {@link RegistryException} as the JSON
     * error body with its status (and {@code Retry-After: 1} on a 503), an {@link AclException} as
     * a 403 naming the missing right (JSON, or Consul's text for {@code consul}).
     *
     * @throws RuntimeException {@code refused} itself when it is none of those (a defect: a 500)
     */
    static Answer refusal(RuntimeException refused, boolean consul) {
        return switch (refused) {
            case AclException denied ->
                consul
                        ? new Answer(403, TEXT, denied.consulMessage().getBytes(StandardCharsets.UTF_8))
                        : new Answer(403, JSON, Json.encode(denied.errorBody()));
            case RegistryException e -> error(e.status(), e.field(), e.rule(), e.getMessage());
            case ApiException e -> error(e.status(), e.field(), e.rule(), e.getMessage());
            default -> throw refused;
        };
    }

    private static Answer error(int status, String field, String rule, String message) {
        return new Answer(status, status == 503 ? JSON_RETRY : JSON, Json.encode(Json.errorBody(field, rule, message)));
    }
}
