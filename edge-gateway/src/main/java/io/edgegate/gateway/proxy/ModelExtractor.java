package io.edgegate.gateway.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads the {@code model} of an OpenAI-compatible request without losing the body: the body is
 * read once into a byte array of its size (bounded), a streaming parser walks the top-level
 * object only until it meets {@code "model"} (skipping other values without building them), and
 * the same array is then forwarded byte for byte. Stateless.
 */
final class ModelExtractor {
    /** The paths of the OpenAI-compatible API whose body names a model. */
    static final String CHAT = "/v1/chat/completions";

    static final String COMPLETIONS = "/v1/completions";
    static final String EMBEDDINGS = "/v1/embeddings";

    private static final JsonFactory FACTORY = ProxyJson.MAPPER.getFactory();

    private ModelExtractor() {}

    /** Whether a forwarded path is one of the inference endpoints. */
    static boolean inferencePath(String path) {
        return path.equals(CHAT) || path.equals(COMPLETIONS) || path.equals(EMBEDDINGS);
    }

    /**
     * Reads the whole request body.
     *
     * @throws ProxyException 413 above {@code maxBytes}, 400 when it cannot be read
     */
    static byte[] readBody(ClientExchange ex, int maxBytes) {
        long declared = ex.contentLength();
        if (declared > maxBytes) {
            throw tooLarge(declared, maxBytes);
        }
        if (!ex.hasEntity()) {
            return new byte[0];
        }
        try (InputStream in = ex.body()) {
            if (declared >= 0) {
                byte[] body = new byte[(int) declared];
                int read = in.readNBytes(body, 0, body.length);
                if (read < body.length) {
                    throw ProxyException.bad(
                            "body", "readable", "shorter than its Content-Length (bytes=" + read + ")");
                }
                return body;
            }
            byte[] body = in.readNBytes(maxBytes + 1);
            if (body.length > maxBytes) {
                throw tooLarge(body.length, maxBytes);
            }
            return body;
        } catch (IOException | java.io.UncheckedIOException e) {
            throw ProxyException.bad("body", "readable", "cannot read the request body: " + e.getMessage());
        }
    }

    private static ProxyException tooLarge(long size, int maxBytes) {
        return new ProxyException(
                413,
                "body",
                "max-buffered-body-bytes",
                "body: too large to read its model (bytes=" + size + ", max-buffered-body-bytes=" + maxBytes + ")",
                null,
                null);
    }

    /**
     * The top-level {@code model} string of a JSON object.
     *
     * @return the model, or null when the object has none
     * @throws ProxyException 400 when the body is not a JSON object or {@code model} not a string
     */
    static String model(byte[] body) {
        try (JsonParser parser = FACTORY.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw ProxyException.bad("body", "json", "expected a JSON object with a model");
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if ("model".equals(field)) {
                    if (value != JsonToken.VALUE_STRING) {
                        throw ProxyException.bad("model", "type", "expected a string, got " + value);
                    }
                    return parser.getText();
                }
                parser.skipChildren();
            }
            if (token != JsonToken.END_OBJECT) {
                throw ProxyException.bad("body", "json", "malformed JSON");
            }
            return null;
        } catch (JsonParseException e) {
            throw ProxyException.bad("body", "json", "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ProxyException.bad("body", "json", "malformed JSON: " + e.getMessage());
        }
    }
}
