package io.edgegate.gateway.registry;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
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
 * A put is written field by field with Jackson's streaming generator, the same bytes its data
 * binding writes for the records (components in declaration order, enums by name), at a fraction
 * of the cost: it is on the registry thread's path for every change. Reading goes through data
 * binding (recovery only). Thread-safe: puts take turns on one buffer and generator (each thread
 * that encodes has its own codec, so they never wait).
 */
final class InstanceCodec {
    static final byte PUT = 'P';
    static final byte DELETE = 'D';
    static final byte CONFIG = 'C';

    /** One configuration entry as journaled; {@code json} is null for a deletion. */
    record ConfigEntry(String kind, String name, String json) {}

    private final ObjectMapper mapper =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** Where puts are written: one buffer and one generator, kept from put to put (see {@link #put}). */
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1_024);

    private JsonGenerator generator;

    synchronized byte[] put(Instance instance) {
        buffer.reset();
        buffer.write(PUT);
        try {
            if (generator == null) {
                generator = mapper.getFactory().createGenerator(buffer);
                generator.setRootValueSeparator(null);
            }
            writeInstance(generator, instance);
            generator.flush();
        } catch (IOException | RuntimeException e) {
            // A generator that failed mid-value is in no state to start the next one.
            generator = null;
            throw new IllegalStateException("cannot encode journal payload: type=P", e);
        }
        return buffer.toByteArray();
    }

    /** {@link Instance} as data binding writes it: {@code spec}, {@code checks}, maintenance, indexes, draining. */
    private static void writeInstance(JsonGenerator g, Instance instance) throws IOException {
        g.writeStartObject();
        g.writeFieldName("spec");
        InstanceSpec spec = instance.spec();
        g.writeStartObject();
        g.writeStringField("service", spec.service());
        g.writeStringField("id", spec.id());
        g.writeStringField("address", spec.address());
        g.writeNumberField("port", spec.port());
        g.writeFieldName("tags");
        writeStrings(g, spec.tags());
        g.writeFieldName("meta");
        g.writeStartObject();
        for (Map.Entry<String, String> e : spec.meta().entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeFieldName("checks");
        g.writeStartArray();
        for (CheckSpec check : spec.checks()) {
            writeCheckSpec(g, check);
        }
        g.writeEndArray();
        g.writeNumberField("weightPassing", spec.weightPassing());
        g.writeNumberField("weightWarning", spec.weightWarning());
        g.writeEndObject();
        g.writeFieldName("checks");
        g.writeStartArray();
        for (CheckState check : instance.checks()) {
            g.writeStartObject();
            g.writeFieldName("spec");
            writeCheckSpec(g, check.spec());
            g.writeStringField("status", check.status().name());
            g.writeStringField("output", check.output());
            g.writeNumberField("createIndex", check.createIndex());
            g.writeNumberField("modifyIndex", check.modifyIndex());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeStringField("maintenanceReason", instance.maintenanceReason());
        g.writeNumberField("createIndex", instance.createIndex());
        g.writeNumberField("modifyIndex", instance.modifyIndex());
        g.writeBooleanField("draining", instance.draining());
        g.writeEndObject();
    }

    private static void writeCheckSpec(JsonGenerator g, CheckSpec check) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", check.id());
        g.writeStringField("name", check.name());
        g.writeStringField("kind", check.kind().name());
        g.writeStringField("target", check.target());
        g.writeStringField("method", check.method());
        g.writeFieldName("headers");
        g.writeStartObject();
        for (Map.Entry<String, List<String>> e : check.headers().entrySet()) {
            g.writeFieldName(e.getKey());
            writeStrings(g, e.getValue());
        }
        g.writeEndObject();
        g.writeNumberField("intervalMillis", check.intervalMillis());
        g.writeNumberField("timeoutMillis", check.timeoutMillis());
        g.writeNumberField("ttlMillis", check.ttlMillis());
        g.writeNumberField("deregisterCriticalAfterMillis", check.deregisterCriticalAfterMillis());
        g.writeStringField("initialStatus", check.initialStatus().name());
        g.writeNumberField("successBeforePassing", check.successBeforePassing());
        g.writeNumberField("failuresBeforeWarning", check.failuresBeforeWarning());
        g.writeNumberField("failuresBeforeCritical", check.failuresBeforeCritical());
        g.writeBooleanField("tlsSkipVerify", check.tlsSkipVerify());
        g.writeFieldName("args");
        writeStrings(g, check.args());
        g.writeBooleanField("grpcUseTls", check.grpcUseTls());
        g.writeStringField("notes", check.notes());
        g.writeEndObject();
    }

    private static void writeStrings(JsonGenerator g, List<String> values) throws IOException {
        g.writeStartArray();
        for (String value : values) {
            g.writeString(value);
        }
        g.writeEndArray();
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
