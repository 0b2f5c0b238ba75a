package io.edgegate.gateway.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.AclException;
import io.edgegate.gateway.registry.RegistryException;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON in and out of both APIs: bounded body reading, typed field access whose errors name the
 * field, and the error body. Thread-safe.
 */
public final class Json {
    /** Shared mapper; configured once, thread-safe. */
    public static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(
                            StreamReadConstraints.builder().maxNestingDepth(32).build())
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {}

    /**
     * Reads the whole request body as JSON, refusing more than {@code maxBytes} (413) and
     * malformed JSON (400). An empty body reads as {@code null}.
     */
    public static JsonNode readBody(ServerRequest req, int maxBytes) {
        return parse(readBytes(req, maxBytes));
    }

    /**
     * Reads the whole request body as bytes, refusing more than {@code maxBytes} (413), for a
     * decoder that streams it.
     */
    static byte[] readBytes(ServerRequest req, int maxBytes) {
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > maxBytes) {
            throw tooLarge(declared, maxBytes);
        }
        byte[] body;
        try (InputStream in = req.content().inputStream()) {
            if (declared >= 0) {
                // Size first, allocate once: the common case is a small body with a length.
                body = new byte[(int) declared];
                int read = in.readNBytes(body, 0, body.length);
                if (read < body.length) {
                    throw new ApiException(
                            400,
                            "body",
                            "readable",
                            "body: shorter than its Content-Length (bytes=" + read + ", content-length=" + declared
                                    + ")");
                }
            } else {
                body = in.readNBytes(maxBytes + 1);
                if (body.length > maxBytes) {
                    throw tooLarge(body.length, maxBytes);
                }
            }
        } catch (IOException e) {
            throw new ApiException(400, "body", "readable", "body: cannot read request body: " + e.getMessage());
        }
        return body;
    }

    /**
     * Parses a whole request body as JSON: {@code null} when empty, 400 naming the defect when
     * malformed.
     */
    static JsonNode parse(byte[] body) {
        if (body.length == 0) {
            return null;
        }
        try {
            return MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            // A broken constraint (nesting deeper than 32, a number too long) has no location.
            JsonLocation at = e.getLocation();
            throw new ApiException(
                    400,
                    "body",
                    "json",
                    "body: malformed JSON: " + e.getOriginalMessage()
                            + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()));
        } catch (IOException e) {
            throw new ApiException(400, "body", "json", "body: malformed JSON: " + e.getMessage());
        }
    }

    private static ApiException tooLarge(long size, int maxBytes) {
        return new ApiException(
                413, "body", "max-body-bytes", "body: too large (bytes=" + size + ", max-body-bytes=" + maxBytes + ")");
    }

    /** The body as an object; 400 naming {@code what} otherwise. */
    public static ObjectNode requireObject(JsonNode node, String what) {
        if (node == null || node.isNull()) {
            throw ApiException.bad(what, "required", "a JSON object is required");
        }
        if (!(node instanceof ObjectNode object)) {
            throw ApiException.bad(what, "type", "expected a JSON object, got " + typeName(node));
        }
        return object;
    }

    /** A field of {@code obj} looked up by exact name or, when {@code anyCase}, ignoring case (as Go's decoder does). */
    public static JsonNode field(ObjectNode obj, String name, boolean anyCase) {
        JsonNode value = obj.get(name);
        if (value != null || !anyCase) {
            return value;
        }
        for (Map.Entry<String, JsonNode> e : obj.properties()) {
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    /** A string or null when absent/null; 400 naming {@code path} for another type. */
    public static String string(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw ApiException.bad(path, "type", "expected a string, got " + typeName(value));
        }
        return value.textValue();
    }

    /** An integer or null when absent/null; 400 for another type or a fraction. */
    public static Long integer(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw ApiException.bad(
                    path, "type", "expected an integer, got " + typeName(value) + " (value=" + value + ")");
        }
        return value.longValue();
    }

    /** A boolean or null when absent/null. */
    public static Boolean bool(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isBoolean()) {
            throw ApiException.bad(path, "type", "expected a boolean, got " + typeName(value));
        }
        return value.booleanValue();
    }

    /** An array of strings or null when absent/null. */
    public static List<String> strings(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isArray()) {
            throw ApiException.bad(path, "type", "expected an array of strings, got " + typeName(value));
        }
        List<String> out = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            JsonNode item = value.get(i);
            if (!item.isTextual()) {
                throw ApiException.bad(path + "[" + i + "]", "type", "expected a string, got " + typeName(item));
            }
            out.add(item.textValue());
        }
        return out;
    }

    /** An object of string values or null when absent/null. */
    public static Map<String, String> stringMap(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isObject()) {
            throw ApiException.bad(path, "type", "expected an object of strings, got " + typeName(value));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : value.properties()) {
            if (!e.getValue().isTextual()) {
                throw ApiException.bad(
                        path + "." + e.getKey(), "type", "expected a string, got " + typeName(e.getValue()));
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    public static String typeName(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case ARRAY -> "array";
            case OBJECT -> "object";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /**
     * Answers {@link ApiException} and {@link RegistryException} thrown by any handler of this
     * routing with the JSON error body and their status, and an {@link AclException} with a 403
     * whose body names the right the token lacks: {@code {"error","field":"token","rule":"acl",
     * "needs":"service:llm-infer:write"}}.
     */
    public static void installErrorHandlers(HttpRouting.Builder routing) {
        installRefusals(routing);
        routing.error(AclException.class, (req, res, e) -> send(res, Status.FORBIDDEN_403, e.errorBody()));
    }

    /**
     * As {@link #installErrorHandlers}, but an {@link AclException} is answered as Consul does: a
     * 403 with its plain-text {@code Permission denied: ...} or {@code ACL not found}, which
     * Consul's clients recognise.
     */
    public static void installConsulErrorHandlers(HttpRouting.Builder routing) {
        installRefusals(routing);
        routing.error(AclException.class, (req, res, e) -> {
            res.status(Status.FORBIDDEN_403);
            res.header(HeaderValues.CONTENT_TYPE_TEXT_PLAIN);
            res.send(e.consulMessage());
        });
    }

    private static void installRefusals(HttpRouting.Builder routing) {
        routing.error(
                        ApiException.class,
                        (req, res, e) -> sendError(res, e.status(), e.field(), e.rule(), e.getMessage()))
                .error(
                        RegistryException.class,
                        (req, res, e) -> sendError(res, e.status(), e.field(), e.rule(), e.getMessage()));
    }

    /** Sends {@code value} as JSON with the given status. */
    public static void send(ServerResponse res, Status status, Object value) {
        sendEncoded(res, status, encode(value));
    }

    /** {@code value} as JSON. */
    static byte[] encode(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode response", e);
        }
    }

    /** Sends a body already encoded as JSON. */
    public static void sendEncoded(ServerResponse res, Status status, byte[] json) {
        res.status(status);
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(json);
    }

    /** Sends the error body {@code {"error","field","rule"}}. */
    public static void sendError(ServerResponse res, int status, String field, String rule, String message) {
        if (status == 503) {
            res.header(HeaderNames.RETRY_AFTER, "1");
        }
        send(res, Status.create(status), errorBody(field, rule, message));
    }

    /** The error body {@code {"error","field","rule"}} every API answers a refusal with. */
    public static Map<String, Object> errorBody(String field, String rule, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", message);
        body.put("field", field);
        body.put("rule", rule);
        return body;
    }
}
