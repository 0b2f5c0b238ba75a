package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.List;
import java.util.Map;

/**
 * What the registration fuzz targets check about an accepted registration: the native body a
 * client would send to register the same instance again, and that the spec keeps every limit.
 */
final class RegistrationBodies {
    private RegistrationBodies() {}

    /** The native registration body of {@code spec}, every field explicit (check ids, names, durations in ms). */
    static ObjectNode nativeBody(InstanceSpec spec) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("service", spec.service());
        o.put("id", spec.id());
        o.put("address", spec.address());
        o.put("port", spec.port());
        ArrayNode tags = o.putArray("tags");
        spec.tags().forEach(tags::add);
        ObjectNode meta = o.putObject("meta");
        spec.meta().forEach(meta::put);
        o.putObject("weights").put("passing", spec.weightPassing()).put("warning", spec.weightWarning());
        ArrayNode checks = o.putArray("checks");
        for (CheckSpec c : spec.checks()) {
            ObjectNode j = checks.addObject();
            j.put("id", c.id());
            j.put("name", c.name());
            switch (c.kind()) {
                case HTTP -> j.put("http", c.target());
                case TCP -> j.put("tcp", c.target());
                case GRPC -> j.put("grpc", c.target());
                case TTL -> j.put("ttl", c.ttlMillis() + "ms");
                case EXEC -> {
                    ArrayNode args = j.putArray("args");
                    c.args().forEach(args::add);
                }
            }
            if (c.kind() != CheckKind.TTL) {
                j.put("interval", c.intervalMillis() + "ms");
            }
            j.put("timeout", c.timeoutMillis() + "ms");
            j.put("method", c.method());
            ObjectNode headers = j.putObject("headers");
            for (Map.Entry<String, List<String>> h : c.headers().entrySet()) {
                ArrayNode values = headers.putArray(h.getKey());
                h.getValue().forEach(values::add);
            }
            j.put("deregister-critical-after", c.deregisterCriticalAfterMillis() + "ms");
            j.put("status", c.initialStatus().wireName());
            j.put("success-before-passing", c.successBeforePassing());
            j.put("failures-before-warning", c.failuresBeforeWarning());
            j.put("failures-before-critical", c.failuresBeforeCritical());
            j.put("tls-skip-verify", c.tlsSkipVerify());
            j.put("grpc-use-tls", c.grpcUseTls());
            j.put("notes", c.notes());
        }
        return o;
    }

    /** Asserts that an accepted registration stays inside {@code limits}. */
    static void assertWithinLimits(InstanceSpec spec, Limits limits) {
        assertTrue(
                !spec.service().isEmpty() && spec.service().length() <= limits.maxNameLength(),
                () -> "service name length " + spec.service().length());
        assertTrue(
                !spec.id().isEmpty() && spec.id().length() <= 2 * limits.maxNameLength(),
                () -> "id length " + spec.id().length());
        assertTrue(spec.port() >= 0 && spec.port() <= 65_535, () -> "port " + spec.port());
        assertTrue(
                spec.tags().size() <= limits.maxTags(),
                () -> "tags " + spec.tags().size());
        for (String tag : spec.tags()) {
            assertTrue(!tag.isEmpty() && tag.length() <= limits.maxTagLength(), () -> "tag length " + tag.length());
        }
        assertTrue(
                spec.meta().size() <= limits.maxMeta(),
                () -> "meta entries " + spec.meta().size());
        spec.meta().forEach((k, v) -> {
            assertTrue(!k.isEmpty() && k.length() <= limits.maxMetaKeyLength(), () -> "meta key length " + k.length());
            assertTrue(v.length() <= limits.maxMetaValueLength(), () -> "meta value length " + v.length());
        });
        assertTrue(
                spec.checks().size() <= limits.maxChecks(),
                () -> "checks " + spec.checks().size());
        assertEquals(
                spec.checks().size(),
                spec.checks().stream().map(CheckSpec::id).distinct().count(),
                "check ids of one instance are unique");
        for (CheckSpec c : spec.checks()) {
            assertTrue(c.kind() == CheckKind.TTL ? c.ttlMillis() > 0 : c.intervalMillis() >= 100, () -> "timing " + c);
            assertTrue(c.timeoutMillis() > 0, () -> "timeout " + c);
            assertTrue(c.deregisterCriticalAfterMillis() >= 0, () -> "deregister-critical-after " + c);
        }
    }
}
