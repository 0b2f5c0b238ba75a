package io.edgegate.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes native-API registration bodies into validated {@link InstanceSpec}s. Strict: a field it
 * does not know is a 400 naming it, so a typo such as {@code "sevice"} is caught instead of
 * silently ignored. Types are checked here; values are checked by the shared
 * {@link InstanceValidator}, so both APIs apply the same rules. Stateless and thread-safe.
 */
final class NativeRegistrationAdapter {
    private static final Set<String> INSTANCE_FIELDS =
            Set.of("service", "id", "address", "port", "tags", "meta", "check", "checks", "weights");
    private static final Set<String> WEIGHT_FIELDS = Set.of("passing", "warning");
    private static final Set<String> BATCH_FIELDS = Set.of("instances");
    /** Check kinds Consul knows and this gateway does not run: named in the 400. */
    private static final Set<String> UNSUPPORTED_KINDS = Set.of(
            "script", "docker", "docker-container-id", "h2ping", "os-service", "alias-service", "alias-node", "udp");
    /** Every accepted spelling of a check field, to its canonical (dash-case) name. */
    static final Map<String, String> CHECK_FIELDS = checkFields();

    private final InstanceValidator validator;
    private final NativeRegistrationReader reader;

    NativeRegistrationAdapter(InstanceValidator validator) {
        this.validator = validator;
        this.reader = new NativeRegistrationReader(this, validator.limits().maxBatch());
    }

    /**
     * One registration body ({@code POST /v1/instances}) as read: streamed when it is valid (see
     * {@link NativeRegistrationReader}), else decoded as a tree, which names what is wrong.
     */
    InstanceSpec instance(byte[] body) {
        InstanceSpec spec = reader.instance(body);
        return spec != null ? spec : instance(Json.parse(body));
    }

    /** A batch body ({@code POST /v1/instances/batch}) as read; see {@link #instance(byte[])}. */
    List<InstanceSpec> batch(byte[] body) {
        List<InstanceSpec> specs = reader.batch(body);
        return specs != null ? specs : batch(Json.parse(body));
    }

    /** One registration body ({@code POST /v1/instances}). */
    InstanceSpec instance(JsonNode body) {
        return instance(Json.requireObject(body, "body"), "");
    }

    /**
     * A batch body ({@code {"instances": [...]}}), all validated before anything is registered:
     * the first bad entry refuses the whole batch, naming {@code instances[i].field}.
     */
    List<InstanceSpec> batch(JsonNode body) {
        ObjectNode object = Json.requireObject(body, "body");
        rejectUnknown(object, "", BATCH_FIELDS);
        JsonNode array = object.get("instances");
        if (array == null || array.isNull()) {
            throw ApiException.bad("instances", "required", "an array of instances is required");
        }
        if (!array.isArray()) {
            throw ApiException.bad("instances", "type", "expected an array of instances, got " + Json.typeName(array));
        }
        int maxBatch = validator.limits().maxBatch();
        if (array.size() > maxBatch) {
            throw new ApiException(
                    413,
                    "instances",
                    "max-batch",
                    "instances: too many in one batch (count=" + array.size() + ", max-batch=" + maxBatch + ")");
        }
        if (array.isEmpty()) {
            throw ApiException.bad("instances", "non-empty", "a batch needs at least one instance");
        }
        List<InstanceSpec> specs = new ArrayList<>(array.size());
        Map<String, Integer> ids = new HashMap<>();
        Map<String, String> checkIds = new HashMap<>();
        for (int i = 0; i < array.size(); i++) {
            ObjectNode entry = Json.requireObject(array.get(i), "instances[" + i + "]");
            InstanceSpec spec = entry(entry, i);
            Integer first = ids.putIfAbsent(spec.id(), i);
            if (first != null) {
                throw ApiException.bad(
                        "instances[" + i + "].id",
                        "unique",
                        "duplicate id in batch (value=" + InstanceValidator.shorten(spec.id()) + ", first at instances["
                                + first + "])");
            }
            // Check ids are unique on the node; two entries of one batch must not claim the same one.
            for (int c = 0; c < spec.checks().size(); c++) {
                CheckSpec check = spec.checks().get(c);
                String owner = checkIds.putIfAbsent(check.id(), spec.id());
                if (owner != null) {
                    throw ApiException.bad(
                            checkPath(entry, "instances[" + i + "].", c) + ".id",
                            "unique",
                            "check id used twice in batch (value=" + InstanceValidator.shorten(check.id())
                                    + ", also on instance " + InstanceValidator.shorten(owner) + ")");
                }
            }
            specs.add(spec);
        }
        return specs;
    }

    /**
     * Entry {@code i} of a batch. Decoded first without the {@code instances[i].} prefix of its
     * field names, which only a refusal shows: building every field's path for every entry was a
     * large part of a batch's allocation. A refused entry is decoded again with the prefix, which
     * refuses it the same way (decoding depends on the entry alone), now naming the full path.
     */
    private InstanceSpec entry(ObjectNode entry, int i) {
        try {
            return instance(entry, "");
        } catch (ApiException unnamed) {
            instance(entry, "instances[" + i + "].");
            throw unnamed;
        }
    }

    /** Where the {@code c}-th check of a registration sits: {@code check} comes first, then {@code checks[]}. */
    private static String checkPath(ObjectNode object, String prefix, int c) {
        JsonNode single = object.get("check");
        if (single == null || single.isNull()) {
            return prefix + "checks[" + c + "]";
        }
        return c == 0 ? prefix + "check" : prefix + "checks[" + (c - 1) + "]";
    }

    private InstanceSpec instance(ObjectNode object, String prefix) {
        rejectUnknown(object, prefix, INSTANCE_FIELDS);
        return instance(
                prefix,
                Json.string(object.get("service"), prefix + "service"),
                Json.string(object.get("id"), prefix + "id"),
                Json.string(object.get("address"), prefix + "address"),
                Json.integer(object.get("port"), prefix + "port"),
                Json.strings(object.get("tags"), prefix + "tags"),
                Json.stringMap(object.get("meta"), prefix + "meta"),
                object.get("check"),
                object.get("checks"),
                object.get("weights"));
    }

    /**
     * A registration from its fields, typed already but for the check, checks and weights (JSON
     * as given, null or absent when missing); validated.
     */
    private InstanceSpec instance(
            String prefix,
            String service,
            String id,
            String address,
            Long port,
            List<String> tags,
            Map<String, String> meta,
            JsonNode check,
            JsonNode array,
            JsonNode weights) {
        List<CheckInput> checks = (check == null || check.isNull()) && (array == null || array.isNull())
                ? List.of()
                : checks(prefix, check, array);
        Long weightPassing = null;
        Long weightWarning = null;
        if (weights != null && !weights.isNull()) {
            ObjectNode w = Json.requireObject(weights, prefix + "weights");
            rejectUnknown(w, prefix + "weights.", WEIGHT_FIELDS);
            weightPassing = Json.integer(w.get("passing"), prefix + "weights.passing");
            weightWarning = Json.integer(w.get("warning"), prefix + "weights.warning");
        }
        return validated(prefix, service, id, address, port, tags, meta, checks, weightPassing, weightWarning);
    }

    /** A registration from its typed fields (null when absent), validated by the native API's rules. */
    InstanceSpec validated(
            String prefix,
            String service,
            String id,
            String address,
            Long port,
            List<String> tags,
            Map<String, String> meta,
            List<CheckInput> checks,
            Long weightPassing,
            Long weightWarning) {
        return validator.instance(
                prefix,
                InstanceValidator.FieldNames.NATIVE,
                service,
                id,
                address,
                port,
                tags,
                meta,
                checks,
                weightPassing,
                weightWarning,
                null,
                1);
    }

    private List<CheckInput> checks(String prefix, JsonNode check, JsonNode array) {
        List<CheckInput> checks = new ArrayList<>(2);
        if (check != null && !check.isNull()) {
            checks.add(check(Json.requireObject(check, prefix + "check"), prefix + "check"));
        }
        if (array != null && !array.isNull()) {
            if (!array.isArray()) {
                throw ApiException.bad(
                        prefix + "checks", "type", "expected an array of checks, got " + Json.typeName(array));
            }
            for (int i = 0; i < array.size(); i++) {
                String path = prefix + "checks[" + i + "]";
                checks.add(check(Json.requireObject(array.get(i), path), path));
            }
        }
        int maxChecks = validator.limits().maxChecks();
        if (checks.size() > maxChecks) {
            String field = prefix + (array != null && !array.isNull() ? "checks" : "check");
            throw new ApiException(
                    400,
                    field,
                    "max-checks",
                    field + ": too many checks (count=" + checks.size() + ", max-checks=" + maxChecks + ")");
        }
        return checks;
    }

    private static CheckInput check(ObjectNode object, String path) {
        Map<String, JsonNode> fields = new HashMap<>();
        String unsupported = null;
        for (Map.Entry<String, JsonNode> e : object.properties()) {
            String name = e.getKey();
            if (UNSUPPORTED_KINDS.contains(name)) {
                unsupported = unsupported == null ? name : unsupported;
                continue;
            }
            String canonical = CHECK_FIELDS.get(name);
            if (canonical == null) {
                throw unknownField(path + "." + name, name, CHECK_FIELDS.keySet());
            }
            if (fields.put(canonical, e.getValue()) != null) {
                throw ApiException.bad(path + "." + canonical, "duplicate", "given twice under two spellings");
            }
        }
        return CheckInput.builder(path)
                .id(Json.string(fields.get("id"), path + ".id"))
                .name(Json.string(fields.get("name"), path + ".name"))
                .http(Json.string(fields.get("http"), path + ".http"))
                .tcp(Json.string(fields.get("tcp"), path + ".tcp"))
                .ttl(Json.string(fields.get("ttl"), path + ".ttl"))
                .interval(Json.string(fields.get("interval"), path + ".interval"))
                .timeout(Json.string(fields.get("timeout"), path + ".timeout"))
                .method(Json.string(fields.get("method"), path + ".method"))
                .headers(headers(fields.get("headers"), path + ".headers"))
                .deregisterCriticalAfter(
                        Json.string(fields.get("deregister-critical-after"), path + ".deregister-critical-after"))
                .status(Json.string(fields.get("status"), path + ".status"))
                .successBeforePassing(
                        Json.integer(fields.get("success-before-passing"), path + ".success-before-passing"))
                .failuresBeforeWarning(
                        Json.integer(fields.get("failures-before-warning"), path + ".failures-before-warning"))
                .failuresBeforeCritical(
                        Json.integer(fields.get("failures-before-critical"), path + ".failures-before-critical"))
                .tlsSkipVerify(Json.bool(fields.get("tls-skip-verify"), path + ".tls-skip-verify"))
                .grpc(Json.string(fields.get("grpc"), path + ".grpc"))
                .grpcUseTls(Json.bool(fields.get("grpc-use-tls"), path + ".grpc-use-tls"))
                .args(Json.strings(fields.get("args"), path + ".args"))
                .notes(Json.string(fields.get("notes"), path + ".notes"))
                .unsupportedKind(unsupported)
                .build();
    }

    /** Check request headers: an object of a string or an array of strings per header name (values checked by the validator). */
    static Map<String, List<String>> headers(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isObject()) {
            throw ApiException.bad(
                    path,
                    "type",
                    "expected an object of header names to a string or strings, got " + Json.typeName(value));
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : value.properties()) {
            String field = path + "." + e.getKey();
            List<String> values =
                    e.getValue().isTextual() ? List.of(e.getValue().textValue()) : Json.strings(e.getValue(), field);
            if (values == null) {
                throw ApiException.bad(field, "type", "expected a string or an array of strings, got null");
            }
            out.put(e.getKey(), values);
        }
        return out;
    }

    private static void rejectUnknown(ObjectNode object, String prefix, Set<String> known) {
        Iterator<String> names = object.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!known.contains(name)) {
                throw unknownField(prefix + name, name, known);
            }
        }
    }

    private static ApiException unknownField(String field, String name, Set<String> known) {
        return ApiException.bad(
                field,
                "unknown-field",
                "unknown field (name=" + InstanceValidator.shorten(name) + "), expected one of "
                        + new java.util.TreeSet<>(known));
    }

    private static Map<String, String> checkFields() {
        Map<String, String> m = new HashMap<>();
        for (String name : List.of(
                "id",
                "name",
                "http",
                "tcp",
                "ttl",
                "interval",
                "timeout",
                "method",
                "headers",
                "deregister-critical-after",
                "status",
                "success-before-passing",
                "failures-before-warning",
                "failures-before-critical",
                "tls-skip-verify",
                "grpc",
                "grpc-use-tls",
                "args",
                "notes")) {
            m.put(name, name);
        }
        m.put("deregisterCriticalAfter", "deregister-critical-after");
        m.put("successBeforePassing", "success-before-passing");
        m.put("failuresBeforeWarning", "failures-before-warning");
        m.put("failuresBeforeCritical", "failures-before-critical");
        m.put("tlsSkipVerify", "tls-skip-verify");
        m.put("grpcUseTls", "grpc-use-tls");
        return Map.copyOf(m);
    }
}
