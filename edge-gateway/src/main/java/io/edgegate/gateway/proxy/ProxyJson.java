package io.edgegate.gateway.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * JSON the proxy writes itself: its error bodies ({@code {"error","field","rule"}}, the shape of
 * the native API, plus {@code service} and {@code route}), the model list and the routes API.
 * The proxy keeps its own mapper so that it depends on the registry only, not on the api package.
 * Thread-safe.
 */
final class ProxyJson {
    static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(
                            StreamReadConstraints.builder().maxNestingDepth(32).build())
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private ProxyJson() {}

    /** Sends {@code value} as JSON with the given status. */
    static void send(ServerResponse res, Status status, Object value) {
        res.status(status);
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(bytes(value));
    }

    /** Sends the error body of {@code e} with its status. */
    static void sendError(ServerResponse res, ProxyException e) {
        if (e.status() == 503) {
            res.header(HeaderNames.RETRY_AFTER, "1");
        }
        send(res, Status.create(e.status()), errorBody(e));
    }

    /** Answers a proxied request with {@code value} as JSON and the given status. */
    static void send(ClientExchange ex, int status, Object value) {
        ex.sendJson(status, bytes(value), false);
    }

    /** Answers a proxied request with the error body of {@code e} and its status ({@code Retry-After} with a 503). */
    static void sendError(ClientExchange ex, ProxyException e) {
        ex.sendJson(e.status(), bytes(errorBody(e)), e.status() == 503);
    }

    private static Map<String, Object> errorBody(ProxyException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", e.getMessage());
        body.put("field", e.field());
        body.put("rule", e.rule());
        if (e.service() != null) {
            body.put("service", e.service());
        }
        if (e.route() != null) {
            body.put("route", e.route());
        }
        return body;
    }

    private static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode response", e);
        }
    }
}
