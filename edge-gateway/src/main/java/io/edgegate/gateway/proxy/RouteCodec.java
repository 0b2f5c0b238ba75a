package io.edgegate.gateway.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.config.GoDuration;
import io.edgegate.gateway.proxy.RouteSpec.ModelRouting;
import io.edgegate.gateway.proxy.RouteSpec.Policy;
import io.edgegate.gateway.proxy.RouteSpec.Subset;
import io.edgegate.gateway.proxy.RouteSpec.TlsPolicy;
import io.edgegate.tls.PemFiles;
import io.edgegate.tls.TlsMaterialException;
import io.helidon.config.Config;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes route definitions: the JSON of {@code /v1/routes} and of the registry's
 * {@code route} configuration entries, and the YAML list {@code edgegate.proxy.routes} (turned
 * into the same tree first, so one set of rules validates both). Every refusal is a
 * {@link ProxyException} 400 naming the field ({@code policy.subsets[1].weight}) and the value.
 * Stateless.
 *
 * <pre>{@code
 * {"name": "llm-canary", "service": "llm", "strip-prefix": true,
 *  "match": {"host": "llm.local", "path-prefix": "/llm", "headers": {"x-tenant": "a"}},
 *  "policy": {"tags": ["region:line-3"], "meta": {}, "balancer": "least-request",
 *             "subsets": [{"name": "stable", "weight": 80, "tags": ["version:v1"]},
 *                         {"name": "canary", "weight": 20, "tags": ["version:v2"]}],
 *             "hash-header": "x-session-id", "model-routing": "auto",
 *             "timeouts": {"connect": "1s", "idle": "60s", "total": "30s"}, "retries": 2,
 *             "scoring": {"queue": 2, "kv-cache": 4, "prefix": 4, "adapter": 3},
 *             "upstream-tls": {"ca-file": "/etc/edgegate/upstream-ca.crt", "server-name": "llm.internal",
 *                              "skip-verify": false}}}
 * }</pre>
 */
final class RouteCodec {
    static final int MAX_NAME_LENGTH = 128;
    static final int MAX_PREFIX_LENGTH = 256;
    static final int MAX_HOST_LENGTH = 253;
    static final int MAX_VALUE_LENGTH = 512;
    static final int MAX_ENTRIES = 32;
    static final int MAX_SUBSETS = 16;
    static final int MAX_SUBSET_WEIGHT = 10_000;
    static final int MAX_RETRIES = 5;
    static final long MAX_TIMEOUT_MILLIS = 24L * 3600 * 1000;

    private static final Set<String> ROUTE_FIELDS =
            Set.of("name", "match", "service", "strip-prefix", "policy", "source");
    private static final Set<String> MATCH_FIELDS = Set.of("host", "path-prefix", "headers");
    private static final Set<String> POLICY_FIELDS = Set.of(
            "tags",
            "meta",
            "subsets",
            "balancer",
            "hash-header",
            "model-routing",
            "timeouts",
            "retries",
            "require-token",
            "upstream-tls",
            "scoring");
    private static final Set<String> SCORING_FIELDS = Set.of("queue", "kv-cache", "prefix", "adapter");
    private static final Set<String> UPSTREAM_TLS_FIELDS = Set.of("ca-file", "server-name", "skip-verify");
    private static final Set<String> SUBSET_FIELDS = Set.of("name", "weight", "tags", "meta");
    private static final Set<String> TIMEOUT_FIELDS = Set.of("connect", "idle", "total");

    private RouteCodec() {}

    // ---------------------------------------------------------------- reading

    /**
     * Reads and validates one route.
     *
     * @param node the route object
     * @param prefix what to put before field names in errors ({@code ""} for the API,
     *     {@code edgegate.proxy.routes[0].} for the configuration)
     * @param lenient whether numbers and booleans may be strings (configuration values are)
     * @param source {@link RouteSpec#SOURCE_CONFIG} or {@link RouteSpec#SOURCE_API}
     */
    static RouteSpec read(JsonNode node, String prefix, boolean lenient, String source) {
        ObjectNode route = object(node, prefix.isEmpty() ? "body" : trimDot(prefix));
        rejectUnknown(route, prefix, ROUTE_FIELDS);
        String name = string(route.get("name"), prefix + "name");
        if (name == null) {
            throw ProxyException.bad(prefix + "name", "required", "a route name is required");
        }
        requireName(prefix + "name", name);
        String service = string(route.get("service"), prefix + "service");
        if (service == null || service.isEmpty()) {
            throw ProxyException.bad(prefix + "service", "required", "the service to route to is required");
        }
        if (service.length() > MAX_NAME_LENGTH || !printable(service) || service.indexOf('/') >= 0) {
            throw ProxyException.bad(
                    prefix + "service",
                    "format",
                    "1-" + MAX_NAME_LENGTH + " printable characters without '/' (value=" + shorten(service) + ")");
        }
        Boolean strip = bool(route.get("strip-prefix"), prefix + "strip-prefix", lenient);

        String host = null;
        String pathPrefix = "/";
        Map<String, String> headers = Map.of();
        JsonNode matchNode = route.get("match");
        if (matchNode != null && !matchNode.isNull()) {
            String mp = prefix + "match.";
            ObjectNode match = object(matchNode, prefix + "match");
            rejectUnknown(match, mp, MATCH_FIELDS);
            host = string(match.get("host"), mp + "host");
            if (host != null) {
                host = host.toLowerCase(Locale.ROOT);
                if (!validHost(host)) {
                    throw ProxyException.bad(
                            mp + "host",
                            "format",
                            "a host name, or *.suffix for any subdomain, without port (value=" + shorten(host) + ")");
                }
            }
            String p = string(match.get("path-prefix"), mp + "path-prefix");
            if (p != null) {
                if (p.isEmpty() || p.charAt(0) != '/' || p.length() > MAX_PREFIX_LENGTH || !validPath(p)) {
                    throw ProxyException.bad(
                            mp + "path-prefix",
                            "format",
                            "a path starting with '/', at most " + MAX_PREFIX_LENGTH
                                    + " characters, no query, spaces or control characters (value=" + shorten(p)
                                    + ")");
                }
                // "/llm/" and "/llm" mean the same segment prefix; keep one spelling.
                pathPrefix = p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
            }
            Map<String, String> h = stringMap(match.get("headers"), mp + "headers");
            if (h != null) {
                Map<String, String> lower = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : h.entrySet()) {
                    if (!token(e.getKey())) {
                        throw ProxyException.bad(
                                mp + "headers." + e.getKey(),
                                "format",
                                "not a header name (value=" + shorten(e.getKey()) + ")");
                    }
                    lower.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue());
                }
                headers = lower;
            }
        }

        Policy policy = Policy.DEFAULT;
        JsonNode policyNode = route.get("policy");
        if (policyNode != null && !policyNode.isNull()) {
            policy = policy(object(policyNode, prefix + "policy"), prefix + "policy.", lenient);
        }
        return new RouteSpec(name, host, pathPrefix, headers, service, strip != null && strip, policy, source);
    }

    private static Policy policy(ObjectNode node, String prefix, boolean lenient) {
        rejectUnknown(node, prefix, POLICY_FIELDS);
        List<String> tags = strings(node.get("tags"), prefix + "tags");
        Map<String, String> meta = stringMap(node.get("meta"), prefix + "meta");
        List<Subset> subsets = new ArrayList<>();
        JsonNode subsetsNode = node.get("subsets");
        if (subsetsNode != null && !subsetsNode.isNull()) {
            if (!subsetsNode.isArray()) {
                throw ProxyException.bad(
                        prefix + "subsets", "type", "expected an array of subsets, got " + typeName(subsetsNode));
            }
            if (subsetsNode.size() > MAX_SUBSETS) {
                throw ProxyException.bad(
                        prefix + "subsets",
                        "max-subsets",
                        "too many subsets (count=" + subsetsNode.size() + ", max=" + MAX_SUBSETS + ")");
            }
            Set<String> names = new HashSet<>();
            long total = 0;
            for (int i = 0; i < subsetsNode.size(); i++) {
                String sp = prefix + "subsets[" + i + "].";
                ObjectNode s = object(subsetsNode.get(i), prefix + "subsets[" + i + "]");
                rejectUnknown(s, sp, SUBSET_FIELDS);
                String name = string(s.get("name"), sp + "name");
                if (name == null) {
                    name = "subset-" + i;
                } else {
                    requireName(sp + "name", name);
                }
                if (!names.add(name)) {
                    throw ProxyException.bad(sp + "name", "unique", "subset name used twice (value=" + name + ")");
                }
                Long weight = integer(s.get("weight"), sp + "weight", lenient);
                if (weight == null) {
                    throw ProxyException.bad(sp + "weight", "required", "a subset needs a weight");
                }
                if (weight < 0 || weight > MAX_SUBSET_WEIGHT) {
                    throw ProxyException.bad(
                            sp + "weight",
                            "range",
                            "weight out of range (value=" + weight + ", range=0-" + MAX_SUBSET_WEIGHT + ")");
                }
                total += weight;
                List<String> st = strings(s.get("tags"), sp + "tags");
                Map<String, String> sm = stringMap(s.get("meta"), sp + "meta");
                subsets.add(
                        new Subset(name, weight.intValue(), st == null ? List.of() : st, sm == null ? Map.of() : sm));
            }
            if (!subsets.isEmpty() && total == 0) {
                throw ProxyException.bad(prefix + "subsets", "weight", "at least one subset needs a positive weight");
            }
        }

        Balancer balancer = Balancer.DEFAULT;
        String b = string(node.get("balancer"), prefix + "balancer");
        if (b != null) {
            balancer = Balancer.parse(b);
            if (balancer == null || balancer == Balancer.DEFAULT) {
                throw ProxyException.bad(
                        prefix + "balancer",
                        "one-of",
                        "unknown balancer (value=" + shorten(b)
                                + "; one of round-robin, weighted-round-robin, least-request, consistent-hash, score)");
            }
        }
        String hashHeader = string(node.get("hash-header"), prefix + "hash-header");
        if (hashHeader != null && !token(hashHeader)) {
            throw ProxyException.bad(
                    prefix + "hash-header", "format", "not a header name (value=" + shorten(hashHeader) + ")");
        }
        if (balancer == Balancer.CONSISTENT_HASH && hashHeader == null) {
            throw ProxyException.bad(
                    prefix + "hash-header", "required", "the consistent-hash balancer needs the header to hash");
        }
        if (hashHeader != null && balancer != Balancer.CONSISTENT_HASH) {
            throw ProxyException.bad(
                    prefix + "hash-header",
                    "balancer",
                    "only the consistent-hash balancer hashes a header (balancer=" + balancer.wireName() + ")");
        }
        if (hashHeader != null) {
            hashHeader = hashHeader.toLowerCase(Locale.ROOT);
        }
        ModelRouting modelRouting = ModelRouting.AUTO;
        String m = string(node.get("model-routing"), prefix + "model-routing");
        if (m != null) {
            modelRouting = ModelRouting.parse(m);
            if (modelRouting == null) {
                throw ProxyException.bad(
                        prefix + "model-routing",
                        "one-of",
                        "unknown mode (value=" + shorten(m) + "; one of auto, on, off)");
            }
        }
        Long connect = null;
        Long idle = null;
        Long total = null;
        JsonNode timeouts = node.get("timeouts");
        if (timeouts != null && !timeouts.isNull()) {
            String tp = prefix + "timeouts.";
            ObjectNode t = object(timeouts, prefix + "timeouts");
            rejectUnknown(t, tp, TIMEOUT_FIELDS);
            connect = timeout(t.get("connect"), tp + "connect");
            idle = timeout(t.get("idle"), tp + "idle");
            total = timeout(t.get("total"), tp + "total");
        }
        Long retries = integer(node.get("retries"), prefix + "retries", lenient);
        if (retries != null && (retries < 0 || retries > MAX_RETRIES)) {
            throw ProxyException.bad(
                    prefix + "retries",
                    "range",
                    "retries out of range (value=" + retries + ", range=0-" + MAX_RETRIES + ")");
        }
        ScoreWeights scoring = null;
        JsonNode scoringNode = node.get("scoring");
        if (scoringNode != null && !scoringNode.isNull()) {
            if (balancer != Balancer.SCORE && balancer != Balancer.DEFAULT) {
                throw ProxyException.bad(
                        prefix + "scoring",
                        "balancer",
                        "only the score balancer (or the default one) uses scoring weights (balancer="
                                + balancer.wireName() + ")");
            }
            scoring = scoring(object(scoringNode, prefix + "scoring"), prefix + "scoring.", lenient);
        }
        TlsPolicy upstreamTls = null;
        JsonNode tlsNode = node.get("upstream-tls");
        if (tlsNode != null && !tlsNode.isNull()) {
            upstreamTls = upstreamTls(object(tlsNode, prefix + "upstream-tls"), prefix + "upstream-tls.", lenient);
        }
        return new Policy(
                tags == null ? List.of() : tags,
                meta == null ? Map.of() : meta,
                subsets,
                balancer,
                hashHeader,
                modelRouting,
                connect,
                idle,
                total,
                retries == null ? null : retries.intValue(),
                Boolean.TRUE.equals(bool(node.get("require-token"), prefix + "require-token", lenient)),
                upstreamTls,
                scoring);
    }

    /** A route's {@code scoring}: each weight a number 0-1000, those left out at their default. */
    private static ScoreWeights scoring(ObjectNode node, String prefix, boolean lenient) {
        rejectUnknown(node, prefix, SCORING_FIELDS);
        ScoreWeights d = ScoreWeights.DEFAULT;
        return new ScoreWeights(
                weight(node.get("queue"), prefix + "queue", d.queue(), lenient),
                weight(node.get("kv-cache"), prefix + "kv-cache", d.kvCache(), lenient),
                weight(node.get("prefix"), prefix + "prefix", d.prefix(), lenient),
                weight(node.get("adapter"), prefix + "adapter", d.adapter(), lenient));
    }

    private static double weight(JsonNode node, String field, double fallback, boolean lenient) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        double value;
        if (node.isNumber()) {
            value = node.doubleValue();
        } else if (lenient && node.isTextual()) {
            try {
                value = Double.parseDouble(node.textValue().trim());
            } catch (NumberFormatException e) {
                throw ProxyException.bad(field, "type", "expected a number, got " + shorten(node.textValue()));
            }
        } else {
            throw ProxyException.bad(
                    field, "type", "expected a number, got " + typeName(node) + " (value=" + node + ")");
        }
        if (!(value >= 0 && value <= ScoreWeights.MAX)) {
            throw ProxyException.bad(field, "range", "weight out of range (value=" + node + ", range=0-1000)");
        }
        return value;
    }

    private static TlsPolicy upstreamTls(ObjectNode node, String prefix, boolean lenient) {
        rejectUnknown(node, prefix, UPSTREAM_TLS_FIELDS);
        String caFile = string(node.get("ca-file"), prefix + "ca-file");
        if (caFile != null && (!caFile.startsWith("/") || !printable(caFile))) {
            throw ProxyException.bad(
                    prefix + "ca-file",
                    "format",
                    "an absolute path of a PEM CA bundle (value=" + shorten(caFile) + ")");
        }
        String serverName = string(node.get("server-name"), prefix + "server-name");
        if (serverName != null) {
            serverName = serverName.toLowerCase(Locale.ROOT);
            if (serverName.startsWith("*.") || !validHost(serverName) && !ipv6Literal(serverName)) {
                throw ProxyException.bad(
                        prefix + "server-name",
                        "format",
                        "a host name or IP address the upstream certificate names, without port (value="
                                + shorten(serverName) + ")");
            }
        }
        Boolean skip = bool(node.get("skip-verify"), prefix + "skip-verify", lenient);
        boolean skipVerify = skip != null && skip;
        if (skipVerify && caFile != null) {
            throw ProxyException.bad(
                    prefix + "ca-file",
                    "skip-verify",
                    "skip-verify accepts any certificate: a ca-file would not be used (value=" + shorten(caFile) + ")");
        }
        return new TlsPolicy(caFile, serverName, skipVerify);
    }

    /**
     * Refuses a route whose {@code upstream-tls.ca-file} cannot be used now: checked when a route
     * is configured or stored, not when it is read back (a bundle that goes missing later fails
     * the route's handshakes, naming it, instead of dropping the route).
     *
     * @param prefix as for {@link #read}
     */
    static void checkFiles(RouteSpec route, String prefix) {
        TlsPolicy tls = route.policy().upstreamTls();
        if (tls == null || tls.caFile() == null) {
            return;
        }
        try {
            PemFiles.certificates(Path.of(tls.caFile()));
        } catch (TlsMaterialException e) {
            throw ProxyException.bad(prefix + "policy.upstream-tls.ca-file", "unreadable", e.getMessage());
        }
    }

    private static boolean ipv6Literal(String name) {
        if (name.indexOf(':') < 0) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.')) {
                return false;
            }
        }
        return true;
    }

    private static Long timeout(JsonNode node, String field) {
        String text = string(node, field);
        if (text == null) {
            return null;
        }
        long millis = parseMillis(field, text);
        if (millis <= 0 || millis > MAX_TIMEOUT_MILLIS) {
            throw ProxyException.bad(field, "range", "timeout out of range (value=" + text + ", range=1ms-24h)");
        }
        return millis;
    }

    // ---------------------------------------------------------------- writing

    /** The route as JSON, in the shape {@link #read} takes (defaults left out). */
    static ObjectNode write(RouteSpec route) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("name", route.name());
        ObjectNode match = node.putObject("match");
        if (route.host() != null) {
            match.put("host", route.host());
        }
        match.put("path-prefix", route.pathPrefix());
        if (!route.headers().isEmpty()) {
            ObjectNode headers = match.putObject("headers");
            route.headers().entrySet().stream()
                    .sorted(Map.Entry.comparingByKey())
                    .forEach(e -> headers.put(e.getKey(), e.getValue()));
        }
        node.put("service", route.service());
        node.put("strip-prefix", route.stripPrefix());
        Policy p = route.policy();
        ObjectNode policy = node.putObject("policy");
        if (!p.tags().isEmpty()) {
            ArrayNode tags = policy.putArray("tags");
            p.tags().forEach(tags::add);
        }
        if (!p.meta().isEmpty()) {
            putMap(policy.putObject("meta"), p.meta());
        }
        if (!p.subsets().isEmpty()) {
            ArrayNode subsets = policy.putArray("subsets");
            for (Subset s : p.subsets()) {
                ObjectNode sn = subsets.addObject().put("name", s.name()).put("weight", s.weight());
                if (!s.tags().isEmpty()) {
                    ArrayNode tags = sn.putArray("tags");
                    s.tags().forEach(tags::add);
                }
                if (!s.meta().isEmpty()) {
                    putMap(sn.putObject("meta"), s.meta());
                }
            }
        }
        if (p.balancer() != Balancer.DEFAULT) {
            policy.put("balancer", p.balancer().wireName());
        }
        if (p.hashHeader() != null) {
            policy.put("hash-header", p.hashHeader());
        }
        policy.put("model-routing", p.modelRouting().wireName());
        if (p.connectTimeoutMillis() != null || p.idleTimeoutMillis() != null || p.timeoutMillis() != null) {
            ObjectNode t = policy.putObject("timeouts");
            if (p.connectTimeoutMillis() != null) {
                t.put("connect", p.connectTimeoutMillis() + "ms");
            }
            if (p.idleTimeoutMillis() != null) {
                t.put("idle", p.idleTimeoutMillis() + "ms");
            }
            if (p.timeoutMillis() != null) {
                t.put("total", p.timeoutMillis() + "ms");
            }
        }
        if (p.retries() != null) {
            policy.put("retries", p.retries());
        }
        if (p.requireToken()) {
            policy.put("require-token", true);
        }
        if (p.scoring() != null) {
            policy.putObject("scoring")
                    .put("queue", p.scoring().queue())
                    .put("kv-cache", p.scoring().kvCache())
                    .put("prefix", p.scoring().prefix())
                    .put("adapter", p.scoring().adapter());
        }
        TlsPolicy tls = p.upstreamTls();
        if (tls != null) {
            ObjectNode t = policy.putObject("upstream-tls");
            if (tls.caFile() != null) {
                t.put("ca-file", tls.caFile());
            }
            if (tls.serverName() != null) {
                t.put("server-name", tls.serverName());
            }
            t.put("skip-verify", tls.skipVerify());
        }
        return node;
    }

    private static void putMap(ObjectNode target, Map<String, String> map) {
        map.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> target.put(e.getKey(), e.getValue()));
    }

    // ---------------------------------------------------------------- configuration

    /**
     * A configuration subtree as a JSON tree: objects, lists and string values, so configuration
     * and API share {@link #read} (with {@code lenient} for the strings).
     */
    static JsonNode tree(Config node) {
        return switch (node.type()) {
            case OBJECT -> {
                ObjectNode object = JsonNodeFactory.instance.objectNode();
                for (Config child : node.asNodeList().orElse(List.of())) {
                    object.set(child.name(), tree(child));
                }
                yield object;
            }
            case LIST -> {
                ArrayNode array = JsonNodeFactory.instance.arrayNode();
                for (Config child : node.asNodeList().orElse(List.of())) {
                    array.add(tree(child));
                }
                yield array;
            }
            case VALUE -> JsonNodeFactory.instance.textNode(node.asString().orElse(""));
            case MISSING -> JsonNodeFactory.instance.nullNode();
        };
    }

    // ---------------------------------------------------------------- durations

    /** Parses a duration ({@link GoDuration}'s grammar) to milliseconds; a 400 naming {@code field} otherwise. */
    static long parseMillis(String field, String text) {
        try {
            return GoDuration.parseMillis(text);
        } catch (IllegalArgumentException e) {
            throw ProxyException.bad(field, "duration", e.getMessage());
        }
    }

    // ---------------------------------------------------------------- typed access

    /** Whether {@code name} is a valid route or subset name. */
    static boolean validName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z'
                    || c >= 'A' && c <= 'Z'
                    || c >= '0' && c <= '9'
                    || c == '.'
                    || c == '_'
                    || c == '-')) {
                return false;
            }
        }
        return true;
    }

    static void requireName(String field, String name) {
        if (!validName(name)) {
            throw ProxyException.bad(
                    field,
                    "format",
                    "1-" + MAX_NAME_LENGTH + " characters of A-Z a-z 0-9 . _ - (value=" + shorten(name) + ")");
        }
    }

    private static ObjectNode object(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            throw ProxyException.bad(field, "required", "a JSON object is required");
        }
        if (!(node instanceof ObjectNode object)) {
            throw ProxyException.bad(field, "type", "expected an object, got " + typeName(node));
        }
        return object;
    }

    private static void rejectUnknown(ObjectNode node, String prefix, Set<String> known) {
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!known.contains(e.getKey())) {
                throw ProxyException.bad(
                        prefix + e.getKey(),
                        "unknown-field",
                        "unknown field (known: "
                                + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String string(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw ProxyException.bad(field, "type", "expected a string, got " + typeName(node));
        }
        String value = node.textValue();
        if (value.length() > MAX_VALUE_LENGTH) {
            throw ProxyException.bad(
                    field, "max-length", "too long (length=" + value.length() + ", max=" + MAX_VALUE_LENGTH + ")");
        }
        return value;
    }

    private static Long integer(JsonNode node, String field, boolean lenient) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return node.longValue();
        }
        if (lenient && node.isTextual()) {
            try {
                return Long.parseLong(node.textValue().trim());
            } catch (NumberFormatException e) {
                // fall through to the error naming the value
            }
        }
        throw ProxyException.bad(field, "type", "expected an integer, got " + typeName(node) + " (value=" + node + ")");
    }

    private static Boolean bool(JsonNode node, String field, boolean lenient) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (lenient
                && node.isTextual()
                && (node.textValue().equals("true") || node.textValue().equals("false"))) {
            return Boolean.parseBoolean(node.textValue());
        }
        throw ProxyException.bad(
                field, "type", "expected true or false, got " + typeName(node) + " (value=" + node + ")");
    }

    private static List<String> strings(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            throw ProxyException.bad(field, "type", "expected an array of strings, got " + typeName(node));
        }
        if (node.size() > MAX_ENTRIES) {
            throw ProxyException.bad(
                    field, "max-entries", "too many entries (count=" + node.size() + ", max=" + MAX_ENTRIES + ")");
        }
        List<String> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            String value = string(node.get(i), field + "[" + i + "]");
            if (value == null) {
                throw ProxyException.bad(field + "[" + i + "]", "type", "expected a string, got null");
            }
            out.add(value);
        }
        return out;
    }

    private static Map<String, String> stringMap(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw ProxyException.bad(field, "type", "expected an object of strings, got " + typeName(node));
        }
        if (node.size() > MAX_ENTRIES) {
            throw ProxyException.bad(
                    field, "max-entries", "too many entries (count=" + node.size() + ", max=" + MAX_ENTRIES + ")");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String value = string(e.getValue(), field + "." + e.getKey());
            if (value == null) {
                throw ProxyException.bad(field + "." + e.getKey(), "type", "expected a string, got null");
            }
            out.put(e.getKey(), value);
        }
        return out;
    }

    private static String typeName(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case ARRAY -> "array";
            case OBJECT -> "object";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    private static boolean validHost(String host) {
        String h = host.startsWith("*.") ? host.substring(2) : host;
        if (h.isEmpty() || h.length() > MAX_HOST_LENGTH) {
            return false;
        }
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    private static boolean validPath(String path) {
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= ' ' || c == '?' || c == '#' || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code name} is an HTTP token (a header name). */
    static boolean token(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = c >= 'a' && c <= 'z'
                    || c >= 'A' && c <= 'Z'
                    || c >= '0' && c <= '9'
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < ' ' || s.charAt(i) == 0x7f) {
                return false;
            }
        }
        return true;
    }

    static String shorten(String value) {
        return value.length() <= 64 ? value : value.substring(0, 64) + "...";
    }

    private static String trimDot(String prefix) {
        return prefix.endsWith(".") ? prefix.substring(0, prefix.length() - 1) : prefix;
    }
}
