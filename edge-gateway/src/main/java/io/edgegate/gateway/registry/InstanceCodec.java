package io.edgegate.gateway.registry;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Journal payloads of the registry: {@code 'P'} followed by the instance as JSON (put),
 * {@code 'D'} followed by the instance id in UTF-8 (delete), or {@code 'C'} followed by a
 * configuration entry as JSON ({@code {"kind","name","json"}}, {@code json} null to delete). JSON keeps the journal readable
 * and lets fields be added without a format break (unknown fields are ignored on read).
 * Thread-safe.
 */
final class InstanceCodec {
    static final byte PUT = 'P';
    static final byte DELETE = 'D';
    static final byte CONFIG = 'C';

    /** One configuration entry as journaled; {@code json} is null for a deletion. */
    record ConfigEntry(String kind, String name, String json) {}

    private final ObjectMapper mapper =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    byte[] put(Instance instance) {
        return prefixed(PUT, instance);
    }

    byte[] delete(String id) {
        byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[utf8.length + 1];
        payload[0] = DELETE;
        System.arraycopy(utf8, 0, payload, 1, utf8.length);
        return payload;
    }

    byte[] config(ConfigEntry entry) {
        return prefixed(CONFIG, entry);
    }

    /** The type byte followed by {@code value} as JSON, in one array sized once. */
    private byte[] prefixed(byte type, Object value) {
        try {
            byte[] json = mapper.writeValueAsBytes(value);
            byte[] payload = new byte[json.length + 1];
            payload[0] = type;
            System.arraycopy(json, 0, payload, 1, json.length);
            return payload;
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode journal payload: type=" + (char) type, e);
        }
    }

    ConfigEntry configEntry(byte[] payload) {
        try {
            return mapper.readValue(payload, 1, payload.length - 1, ConfigEntry.class);
        } catch (IOException e) {
            throw new IllegalStateException("cannot decode journal payload: bytes=" + payload.length, e);
        }
    }

    /** The instance of a put payload. */
    Instance instance(byte[] payload) {
        try {
            return mapper.readValue(payload, 1, payload.length - 1, Instance.class);
        } catch (IOException e) {
            throw new IllegalStateException("cannot decode journal payload: bytes=" + payload.length, e);
        }
    }

    /** The id of a delete payload. */
    String deletedId(byte[] payload) {
        return new String(Arrays.copyOfRange(payload, 1, payload.length), StandardCharsets.UTF_8);
    }
}
