package io.edgegate.gateway.registry;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Journal payloads of the registry: {@code 'P'} followed by the instance as JSON (put),
 * {@code 'D'} followed by the instance id in UTF-8 (delete), or {@code 'C'} followed by a
 * configuration entry as JSON ({@code {"kind","name","json"}}, {@code json} null to delete). JSON keeps the journal readable
 * and lets fields be added without a format break (unknown fields are ignored on read).
 * A put is written field by field into one byte array ({@link JsonBytes}), the same bytes
 * Jackson's data binding writes for the records (components in declaration order, enums by name),
 * at a fraction of the cost: it is on the registry thread's path for every change and on the
 * snapshot writer's for every instance. Reading goes through data binding (recovery only).
 * Thread-safe: puts take turns on one buffer (each thread that encodes has its own codec, so they
 * never wait).
 */
final class InstanceCodec {
    static final byte PUT = 'P';
    static final byte DELETE = 'D';
    static final byte CONFIG = 'C';

    /** One configuration entry as journaled; {@code json} is null for a deletion. */
    record ConfigEntry(String kind, String name, String json) {}

    private final ObjectMapper mapper =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** Where puts are written, kept from put to put (see {@link #put}). */
    private final JsonBytes out = new JsonBytes();

    // The constant pieces of a put, in the order data binding writes the records' components.
    private static final byte[] SPEC_SERVICE = JsonBytes.ascii("{\"spec\":{\"service\":");
    private static final byte[] ID = JsonBytes.ascii(",\"id\":");
    private static final byte[] ADDRESS = JsonBytes.ascii(",\"address\":");
    private static final byte[] PORT = JsonBytes.ascii(",\"port\":");
    private static final byte[] TAGS = JsonBytes.ascii(",\"tags\":");
    private static final byte[] META = JsonBytes.ascii(",\"meta\":{");
    private static final byte[] SPEC_CHECKS = JsonBytes.ascii("},\"checks\":[");
    private static final byte[] WEIGHT_PASSING = JsonBytes.ascii("],\"weightPassing\":");
    private static final byte[] WEIGHT_WARNING = JsonBytes.ascii(",\"weightWarning\":");
    private static final byte[] CHECKS = JsonBytes.ascii("},\"checks\":[");
    private static final byte[] STATE_SPEC = JsonBytes.ascii("{\"spec\":");
    private static final byte[] STATUS = JsonBytes.ascii(",\"status\":");
    private static final byte[] OUTPUT = JsonBytes.ascii(",\"output\":");
    private static final byte[] CREATE_INDEX = JsonBytes.ascii(",\"createIndex\":");
    private static final byte[] MODIFY_INDEX = JsonBytes.ascii(",\"modifyIndex\":");
    private static final byte[] MAINTENANCE_REASON = JsonBytes.ascii("],\"maintenanceReason\":");
    private static final byte[] DRAINING = JsonBytes.ascii(",\"draining\":");
    private static final byte[] CHECK_ID = JsonBytes.ascii("{\"id\":");
    private static final byte[] NAME = JsonBytes.ascii(",\"name\":");
    private static final byte[] KIND = JsonBytes.ascii(",\"kind\":");
    private static final byte[] TARGET = JsonBytes.ascii(",\"target\":");
    private static final byte[] METHOD = JsonBytes.ascii(",\"method\":");
    private static final byte[] HEADERS = JsonBytes.ascii(",\"headers\":{");
    private static final byte[] INTERVAL = JsonBytes.ascii("},\"intervalMillis\":");
    private static final byte[] TIMEOUT = JsonBytes.ascii(",\"timeoutMillis\":");
    private static final byte[] TTL = JsonBytes.ascii(",\"ttlMillis\":");
    private static final byte[] DEREGISTER_AFTER = JsonBytes.ascii(",\"deregisterCriticalAfterMillis\":");
    private static final byte[] INITIAL_STATUS = JsonBytes.ascii(",\"initialStatus\":");
    private static final byte[] SUCCESS_BEFORE_PASSING = JsonBytes.ascii(",\"successBeforePassing\":");
    private static final byte[] FAILURES_BEFORE_WARNING = JsonBytes.ascii(",\"failuresBeforeWarning\":");
    private static final byte[] FAILURES_BEFORE_CRITICAL = JsonBytes.ascii(",\"failuresBeforeCritical\":");
    private static final byte[] TLS_SKIP_VERIFY = JsonBytes.ascii(",\"tlsSkipVerify\":");
    private static final byte[] ARGS = JsonBytes.ascii(",\"args\":");
    private static final byte[] GRPC_USE_TLS = JsonBytes.ascii(",\"grpcUseTls\":");
    private static final byte[] NOTES = JsonBytes.ascii(",\"notes\":");

    synchronized byte[] put(Instance instance) {
        out.reset();
        out.raw(PUT);
        try {
            writeInstance(out, instance);
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot encode journal payload: type=P", e);
        }
        return out.toByteArray();
    }

    /** {@link Instance} as data binding writes it: {@code spec}, {@code checks}, maintenance, indexes, draining. */
    private static void writeInstance(JsonBytes o, Instance instance) throws IOException {
        InstanceSpec spec = instance.spec();
        o.raw(SPEC_SERVICE);
        o.string(spec.service());
        o.raw(ID);
        o.string(spec.id());
        o.raw(ADDRESS);
        o.string(spec.address());
        o.raw(PORT);
        o.number(spec.port());
        o.raw(TAGS);
        writeStrings(o, spec.tags());
        o.raw(META);
        boolean first = true;
        for (Map.Entry<String, String> e : spec.meta().entrySet()) {
            if (!first) {
                o.raw((byte) ',');
            }
            first = false;
            o.string(e.getKey());
            o.raw((byte) ':');
            o.string(e.getValue());
        }
        o.raw(SPEC_CHECKS);
        first = true;
        for (CheckSpec check : spec.checks()) {
            if (!first) {
                o.raw((byte) ',');
            }
            first = false;
            writeCheckSpec(o, check);
        }
        o.raw(WEIGHT_PASSING);
        o.number(spec.weightPassing());
        o.raw(WEIGHT_WARNING);
        o.number(spec.weightWarning());
        o.raw(CHECKS);
        first = true;
        for (CheckState check : instance.checks()) {
            if (!first) {
                o.raw((byte) ',');
            }
            first = false;
            o.raw(STATE_SPEC);
            writeCheckSpec(o, check.spec());
            o.raw(STATUS);
            o.string(check.status().name());
            o.raw(OUTPUT);
            o.string(check.output());
            o.raw(CREATE_INDEX);
            o.number(check.createIndex());
            o.raw(MODIFY_INDEX);
            o.number(check.modifyIndex());
            o.raw((byte) '}');
        }
        o.raw(MAINTENANCE_REASON);
        o.string(instance.maintenanceReason());
        o.raw(CREATE_INDEX);
        o.number(instance.createIndex());
        o.raw(MODIFY_INDEX);
        o.number(instance.modifyIndex());
        o.raw(DRAINING);
        o.bool(instance.draining());
        o.raw((byte) '}');
    }

    private static void writeCheckSpec(JsonBytes o, CheckSpec check) throws IOException {
        o.raw(CHECK_ID);
        o.string(check.id());
        o.raw(NAME);
        o.string(check.name());
        o.raw(KIND);
        o.string(check.kind().name());
        o.raw(TARGET);
        o.string(check.target());
        o.raw(METHOD);
        o.string(check.method());
        o.raw(HEADERS);
        boolean first = true;
        for (Map.Entry<String, List<String>> e : check.headers().entrySet()) {
            if (!first) {
                o.raw((byte) ',');
            }
            first = false;
            o.string(e.getKey());
            o.raw((byte) ':');
            writeStrings(o, e.getValue());
        }
        o.raw(INTERVAL);
        o.number(check.intervalMillis());
        o.raw(TIMEOUT);
        o.number(check.timeoutMillis());
        o.raw(TTL);
        o.number(check.ttlMillis());
        o.raw(DEREGISTER_AFTER);
        o.number(check.deregisterCriticalAfterMillis());
        o.raw(INITIAL_STATUS);
        o.string(check.initialStatus().name());
        o.raw(SUCCESS_BEFORE_PASSING);
        o.number(check.successBeforePassing());
        o.raw(FAILURES_BEFORE_WARNING);
        o.number(check.failuresBeforeWarning());
        o.raw(FAILURES_BEFORE_CRITICAL);
        o.number(check.failuresBeforeCritical());
        o.raw(TLS_SKIP_VERIFY);
        o.bool(check.tlsSkipVerify());
        o.raw(ARGS);
        writeStrings(o, check.args());
        o.raw(GRPC_USE_TLS);
        o.bool(check.grpcUseTls());
        o.raw(NOTES);
        o.string(check.notes());
        o.raw((byte) '}');
    }

    private static void writeStrings(JsonBytes o, List<String> values) throws IOException {
        o.raw((byte) '[');
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                o.raw((byte) ',');
            }
            o.string(values.get(i));
        }
        o.raw((byte) ']');
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
