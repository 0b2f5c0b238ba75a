package io.edgegate.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes the body of Consul's {@code PUT /v1/agent/service/register} into a validated
 * {@link InstanceSpec}, the way Consul's agent reads it: field names in any case (Go's decoder),
 * the snake_case spellings Consul translates, durations as Go strings or as numbers of
 * nanoseconds, {@code ID} defaulting to {@code Name}, and {@code Check} plus {@code Checks}
 * (an empty {@code Check} object is skipped). Unknown fields are ignored. Validation itself is
 * {@link InstanceValidator}'s; its refusals are renamed to Consul's field names
 * ({@code Checks[1].Interval}, {@code Weights.Passing}). Stateless: thread-safe.
 */
final class ConsulRegistrationAdapter {
    /**
     * Check kinds Consul has and this gateway does not run; any of them present is a 400.
     * {@code Script} is the string form Consul itself dropped for {@code Args}; {@code Shell}
     * belongs to Docker checks.
     */
    private static final List<String> UNSUPPORTED_KINDS =
            List.of("Script", "DockerContainerID", "H2PING", "OSService", "AliasService", "AliasNode", "UDP", "Shell");

    /** The validator's names for check fields, and Consul's. */
    private static final Map<String, String> CHECK_FIELDS = Map.ofEntries(
            Map.entry("id", "CheckID"),
            Map.entry("name", "Name"),
            Map.entry("http", "HTTP"),
            Map.entry("tcp", "TCP"),
            Map.entry("ttl", "TTL"),
            Map.entry("interval", "Interval"),
            Map.entry("timeout", "Timeout"),
            Map.entry("method", "Method"),
            Map.entry("header", "Header"),
            Map.entry("deregister-critical-after", "DeregisterCriticalServiceAfter"),
            Map.entry("status", "Status"),
            Map.entry("success-before-passing", "SuccessBeforePassing"),
            Map.entry("failures-before-warning", "FailuresBeforeWarning"),
            Map.entry("failures-before-critical", "FailuresBeforeCritical"),
            Map.entry("tls-skip-verify", "TLSSkipVerify"),
            Map.entry("headers", "Header"),
            Map.entry("grpc", "GRPC"),
            Map.entry("grpc-use-tls", "GRPCUseTLS"),
            Map.entry("args", "Args"),
            Map.entry("notes", "Notes"));

    private final ApiSettings settings;
    private final ConsulRegistrationReader reader;

    ConsulRegistrationAdapter(ApiSettings settings) {
        this.settings = settings;
        this.reader = new ConsulRegistrationReader(this);
    }

    /**
     * The registration in {@code body} as read: streamed when Consul's client wrote it (see
     * {@link ConsulRegistrationReader}), else decoded as a tree, which names what is wrong.
     */
    InstanceSpec instance(byte[] body) {
        InstanceSpec spec = reader.instance(body);
        return spec != null ? spec : instance(Json.parse(body));
    }

    /** The registration in {@code body}; 400 (413/422 for limits) naming the Consul field otherwise. */
    InstanceSpec instance(JsonNode body) {
        ObjectNode obj = Json.requireObject(body, "body");
        try {
            return decode(obj);
        } catch (ApiException e) {
            throw consulNames(e);
        }
    }

    private InstanceSpec decode(ObjectNode obj) {
        String name = Json.string(field(obj, "Name"), "Name");
        String id = Json.string(field(obj, "ID"), "ID");
        String kind = Json.string(field(obj, "Kind"), "Kind");
        if (kind != null && !kind.isEmpty()) {
            throw ApiException.bad(
                    "Kind",
                    "service-kind",
                    "only typical services are supported, not Kind=" + InstanceValidator.shorten(kind));
        }
        String address = Json.string(field(obj, "Address"), "Address");
        Long port = Json.integer(field(obj, "Port"), "Port");
        List<String> tags = Json.strings(field(obj, "Tags"), "Tags");
        Map<String, String> meta = Json.stringMap(field(obj, "Meta"), "Meta");
        Json.bool(field(obj, "EnableTagOverride", "enable_tag_override"), "EnableTagOverride");
        JsonNode tagged = field(obj, "TaggedAddresses", "tagged_addresses");
        if (tagged != null && !tagged.isNull() && !tagged.isObject()) {
            throw ApiException.bad("TaggedAddresses", "type", "expected an object, got " + Json.typeName(tagged));
        }
        return instance(
                name, id, address, port, tags, meta, field(obj, "Weights"), field(obj, "Check"), field(obj, "Checks"));
    }

    /**
     * A registration from its fields, typed already but for the weights, check and checks (JSON as
     * given, null or absent when missing); validated.
     */
    InstanceSpec instance(
            String name,
            String id,
            String address,
            Long port,
            List<String> tags,
            Map<String, String> meta,
            JsonNode weights,
            JsonNode check,
            JsonNode list) {
        Long weightPassing = null;
        Long weightWarning = null;
        if (weights != null && !weights.isNull()) {
            ObjectNode w = Json.requireObject(weights, "Weights");
            weightPassing = Json.integer(field(w, "Passing"), "Weights.Passing");
            weightWarning = Json.integer(field(w, "Warning"), "Weights.Warning");
            if (weightPassing != null && weightPassing < 1) {
                throw ApiException.bad(
                        "Weights.Passing", "range", "Passing must be greater than 0 (value=" + weightPassing + ")");
            }
        }
        String serviceName = name == null ? "" : name;
        List<CheckInput> checks = new ArrayList<>();
        if (check != null && !check.isNull()) {
            ObjectNode c = Json.requireObject(check, "Check");
            if (!isEmpty(c)) {
                checks.add(check(c, "Check", serviceName));
            }
        }
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                throw ApiException.bad("Checks", "type", "expected an array of checks, got " + Json.typeName(list));
            }
            for (int i = 0; i < list.size(); i++) {
                String path = "Checks[" + i + "]";
                checks.add(check(Json.requireObject(list.get(i), path), path, serviceName));
            }
        }
        // Consul: an instance registered without an ID takes its service name as ID.
        String instanceId = id == null || id.isEmpty() ? name : id;
        return settings.validator()
                .instance(
                        "",
                        InstanceValidator.FieldNames.CONSUL,
                        name,
                        instanceId,
                        address,
                        port,
                        tags,
                        meta,
                        checks,
                        weightPassing,
                        weightWarning,
                        settings.advertiseAddress(),
                        0);
    }

    private static CheckInput check(ObjectNode c, String path, String serviceName) {
        String unsupported = null;
        for (String kind : UNSUPPORTED_KINDS) {
            if (present(field(c, kind, snake(kind)))) {
                unsupported = kind;
                break;
            }
        }
        String id = text(field(c, "CheckID", "check_id", "ID"), path + ".CheckID");
        String name = text(field(c, "Name"), path + ".Name");
        return CheckInput.builder(path)
                .id(id)
                .name(name == null ? "Service '" + serviceName + "' check" : name)
                .http(text(field(c, "HTTP"), path + ".HTTP"))
                .tcp(text(field(c, "TCP"), path + ".TCP"))
                .ttl(duration(field(c, "TTL"), path + ".TTL"))
                .interval(duration(field(c, "Interval"), path + ".Interval"))
                .timeout(duration(field(c, "Timeout"), path + ".Timeout"))
                .method(text(field(c, "Method"), path + ".Method"))
                .headers(headers(field(c, "Header"), path + ".Header"))
                .deregisterCriticalAfter(duration(
                        field(c, "DeregisterCriticalServiceAfter", "deregister_critical_service_after"),
                        path + ".DeregisterCriticalServiceAfter"))
                .status(text(field(c, "Status"), path + ".Status"))
                .successBeforePassing(Json.integer(
                        field(c, "SuccessBeforePassing", "success_before_passing"), path + ".SuccessBeforePassing"))
                .failuresBeforeWarning(Json.integer(
                        field(c, "FailuresBeforeWarning", "failures_before_warning"), path + ".FailuresBeforeWarning"))
                .failuresBeforeCritical(Json.integer(
                        field(c, "FailuresBeforeCritical", "failures_before_critical"),
                        path + ".FailuresBeforeCritical"))
                .tlsSkipVerify(Json.bool(field(c, "TLSSkipVerify", "tls_skip_verify"), path + ".TLSSkipVerify"))
                .grpc(text(field(c, "GRPC"), path + ".GRPC"))
                .grpcUseTls(Json.bool(field(c, "GRPCUseTLS", "grpc_use_tls"), path + ".GRPCUseTLS"))
                .args(args(c, path))
                .notes(Json.string(field(c, "Notes"), path + ".Notes"))
                .unsupportedKind(unsupported)
                .build();
    }

    /**
     * An exec check's {@code Args}, or {@code ScriptArgs} as older agents wrote it: null when
     * absent; an empty array is kept, so that the validator can say it names no program.
     */
    private static List<String> args(ObjectNode c, String path) {
        JsonNode args = field(c, "Args");
        if (args != null && !args.isNull()) {
            return Json.strings(args, path + ".Args");
        }
        return Json.strings(field(c, "ScriptArgs", "script_args"), path + ".ScriptArgs");
    }

    /** A string field where Consul treats "" as absent. */
    private static String text(JsonNode value, String path) {
        String s = Json.string(value, path);
        return s == null || s.isEmpty() ? null : s;
    }

    /**
     * A duration as Consul's check decoder reads it: a Go duration string, or a JSON number of
     * nanoseconds (fractions truncated, as Go's {@code time.Duration(float64)}). Returned as text
     * for {@link Durations}: a number becomes {@code <n>ns}.
     */
    static String duration(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (value.isTextual()) {
            return value.textValue().isEmpty() ? null : value.textValue();
        }
        if (value.isNumber()) {
            if (!value.canConvertToLong()) {
                throw ApiException.bad(path, "duration", "duration out of range (value=" + value + ")");
            }
            return value.longValue() + "ns";
        }
        throw ApiException.bad(
                path,
                "type",
                "expected a duration such as \"10s\" or a number of nanoseconds, got " + Json.typeName(value));
    }

    /** Consul's {@code map[string][]string} of HTTP check headers. */
    private static Map<String, List<String>> headers(JsonNode value, String path) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isObject()) {
            throw ApiException.bad(path, "type", "expected an object of string arrays, got " + Json.typeName(value));
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : value.properties()) {
            List<String> values = Json.strings(e.getValue(), path + "." + e.getKey());
            out.put(e.getKey(), values == null ? List.of() : values);
        }
        return out;
    }

    /** Whether a field carries a value: not null, not "", not an empty array or object. */
    private static boolean present(JsonNode value) {
        if (value == null || value.isNull()) {
            return false;
        }
        if (value.isTextual()) {
            return !value.textValue().isEmpty();
        }
        if (value.isContainerNode()) {
            return !value.isEmpty();
        }
        return true;
    }

    /** Consul's {@code CheckType.Empty()}: every field at its zero value. */
    private static boolean isEmpty(ObjectNode check) {
        Iterator<JsonNode> values = check.elements();
        while (values.hasNext()) {
            JsonNode v = values.next();
            boolean zero = v.isNull()
                    || (v.isTextual() && v.textValue().isEmpty())
                    || (v.isContainerNode() && v.isEmpty())
                    || (v.isBoolean() && !v.booleanValue())
                    || (v.isNumber() && v.asDouble() == 0);
            if (!zero) {
                return false;
            }
        }
        return true;
    }

    /** The first of {@code names} present in {@code obj}, matched ignoring case as Go's decoder does. */
    static JsonNode field(ObjectNode obj, String... names) {
        for (String name : names) {
            JsonNode value = Json.field(obj, name, true);
            if (value != null) {
                return value;
            }
        }
        return null;
    }

    private static String snake(String camel) {
        return switch (camel) {
            case "DockerContainerID" -> "docker_container_id";
            case "AliasService" -> "alias_service";
            case "AliasNode" -> "alias_node";
            case "OSService" -> "os_service";
            default -> camel;
        };
    }

    /** The same refusal with the validator's field names turned into Consul's. */
    static ApiException consulNames(ApiException e) {
        String field = e.field();
        String renamed = consulField(field);
        if (renamed.equals(field)) {
            return e;
        }
        String message = e.getMessage();
        if (message != null && message.startsWith(field)) {
            message = renamed + message.substring(field.length());
        }
        return new ApiException(e.status(), renamed, e.rule(), message);
    }

    static String consulField(String field) {
        if (field == null) {
            return null;
        }
        if (field.equals("weights.passing")) {
            return "Weights.Passing";
        }
        if (field.equals("weights.warning")) {
            return "Weights.Warning";
        }
        if (field.startsWith("Check")) {
            // Check.<field>, Checks[1].<field>, with an optional tail: Check.args[0], Check.headers.X-A
            int dot = field.indexOf('.');
            if (dot > 0) {
                int end = dot + 1;
                while (end < field.length() && field.charAt(end) != '.' && field.charAt(end) != '[') {
                    end++;
                }
                String consul = CHECK_FIELDS.get(field.substring(dot + 1, end));
                if (consul != null) {
                    return field.substring(0, dot + 1) + consul + field.substring(end);
                }
            }
        }
        return field;
    }
}
