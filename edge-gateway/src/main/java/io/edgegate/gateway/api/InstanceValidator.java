package io.edgegate.gateway.api;

import io.edgegate.gateway.health.CheckTargetPolicy;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.ForbiddenAddresses;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.InstanceSpec;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one place both APIs turn raw registration fields into a valid {@link InstanceSpec}: names,
 * address, port, tags, metadata, checks, each against {@link Limits}. Every refusal is a 400 (or
 * 413/422 for a limit) naming the field, the rule and the value. Exec checks run programs on the
 * node, so they are refused ({@code exec-disabled}) unless the node enables them. An instance's
 * address may not be a {@link ForbiddenAddresses forbidden address} ({@code forbidden-address});
 * an HTTP, TCP or gRPC check may target only its instance's address or an allowed network
 * ({@code check-target}, see {@link CheckTargetPolicy}: what needs no name lookup is decided
 * here, a host name at each probe). Immutable: thread-safe.
 */
public final class InstanceValidator {
    private static final long DEFAULT_CHECK_TIMEOUT_MILLIS = 10_000;
    private static final long MIN_INTERVAL_MILLIS = 100;
    /** Request headers an HTTP check may carry. */
    static final int MAX_CHECK_HEADERS = 64;
    /** Program plus arguments of an exec check. */
    static final int MAX_EXEC_ARGS = 64;
    /** Characters of one exec argument. */
    static final int MAX_EXEC_ARG_LENGTH = 4096;
    /** Characters of a check's notes. */
    static final int MAX_NOTES_LENGTH = 1024;
    /** Characters of the service name of a gRPC check target. */
    static final int MAX_GRPC_SERVICE_LENGTH = 256;
    /** The configuration key that allows exec checks, named in the refusal. */
    public static final String EXEC_CHECKS_KEY = "edgegate.health.enable-exec-checks";

    private static final String CHECK_KINDS = "http, tcp, grpc, args, ttl";

    private final Limits limits;
    private final boolean execChecksEnabled;
    private final CheckTargetPolicy checkTargets;

    /** A validator that refuses exec checks, and checks on anything but their instance's address. */
    public InstanceValidator(Limits limits) {
        this(limits, false);
    }

    /**
     * A validator whose checks may target their instance's address only.
     *
     * @param execChecksEnabled whether exec checks ({@code args}) are accepted
     *     ({@value #EXEC_CHECKS_KEY})
     */
    public InstanceValidator(Limits limits, boolean execChecksEnabled) {
        this(limits, execChecksEnabled, CheckTargetPolicy.ownAddressOnly());
    }

    /**
     * @param execChecksEnabled whether exec checks ({@code args}) are accepted
     *     ({@value #EXEC_CHECKS_KEY})
     * @param checkTargets where HTTP, TCP and gRPC checks may connect
     */
    public InstanceValidator(Limits limits, boolean execChecksEnabled, CheckTargetPolicy checkTargets) {
        this.limits = limits;
        this.execChecksEnabled = execChecksEnabled;
        this.checkTargets = checkTargets;
    }

    public Limits limits() {
        return limits;
    }

    /**
     * Validates one registration.
     *
     * @param prefix prefix for field names in errors ({@code ""}, {@code "instances[3]."})
     * @param names the field names of this API: service, id, address, port, tags, meta, checks
     * @param defaultAddress used when the address is absent or empty (null: required)
     * @param minPort lowest port accepted (Consul accepts 0)
     */
    public InstanceSpec instance(
            String prefix,
            FieldNames names,
            String service,
            String id,
            String address,
            Long port,
            List<String> tags,
            Map<String, String> meta,
            List<CheckInput> checks,
            Long weightPassing,
            Long weightWarning,
            String defaultAddress,
            int minPort) {
        // Field names in refusals are built only when refusing: every registration passes here.
        String svc = name(prefix, names.service(), service);
        String addr = address == null || address.isEmpty() ? defaultAddress : address;
        if (addr == null || addr.isEmpty()) {
            throw ApiException.bad(prefix + names.address(), "required", "address is required");
        }
        instanceAddress(prefix, names.address(), addr);
        int portNumber = port(prefix, names, port, minPort);
        String instanceId = id == null || id.isEmpty() ? InstanceSpec.defaultId(svc, addr, portNumber) : id;
        id(prefix, names.id(), instanceId);
        List<String> tagList = tags(prefix, names, tags);
        Map<String, String> metaMap = meta(prefix, names, meta);
        int wp = weight(prefix, "weights.passing", weightPassing, 1);
        int ww = weight(prefix, "weights.warning", weightWarning, 1);
        List<CheckSpec> specs =
                checks == null || checks.isEmpty() ? List.of() : checks(prefix, names, checks, instanceId, addr);
        return new InstanceSpec(svc, instanceId, addr, portNumber, tagList, metaMap, specs, wp, ww);
    }

    private static int port(String prefix, FieldNames names, Long port, int minPort) {
        if (port == null) {
            if (minPort > 0) {
                throw ApiException.bad(prefix + names.port(), "required", "port is required");
            }
            return 0;
        }
        long value = port;
        if (value < minPort || value > 65_535) {
            throw ApiException.bad(
                    prefix + names.port(),
                    "range",
                    "port out of range (value=" + value + ", range=" + minPort + "-65535)");
        }
        return (int) value;
    }

    private List<String> tags(String prefix, FieldNames names, List<String> tags) {
        if (tags == null) {
            return List.of();
        }
        if (tags.size() > limits.maxTags()) {
            throw new ApiException(
                    400,
                    prefix + names.tags(),
                    "max-tags",
                    prefix + names.tags() + ": too many tags (count=" + tags.size() + ", max-tags=" + limits.maxTags()
                            + ")");
        }
        for (int i = 0; i < tags.size(); i++) {
            String tag = tags.get(i);
            if (tag.isEmpty() || tag.length() > limits.maxTagLength() || hasControl(tag)) {
                throw badTag(prefix + names.tags() + "[" + i + "]", tag);
            }
        }
        return tags;
    }

    private ApiException badTag(String field, String tag) {
        return ApiException.bad(
                field,
                "tag",
                "tag must be 1-" + limits.maxTagLength() + " printable characters (value=" + shorten(tag) + ")");
    }

    private Map<String, String> meta(String prefix, FieldNames names, Map<String, String> meta) {
        if (meta == null) {
            return Map.of();
        }
        if (meta.size() > limits.maxMeta()) {
            throw new ApiException(
                    400,
                    prefix + names.meta(),
                    "max-meta",
                    prefix + names.meta() + ": too many entries (count=" + meta.size() + ", max-meta="
                            + limits.maxMeta() + ")");
        }
        for (Map.Entry<String, String> e : meta.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            if (!metaKey(key) || value.length() > limits.maxMetaValueLength() || hasControl(value)) {
                throw badMeta(prefix + names.meta() + "." + key, key, value);
            }
        }
        return meta;
    }

    private ApiException badMeta(String field, String key, String value) {
        if (!metaKey(key)) {
            return ApiException.bad(
                    field,
                    "meta-key",
                    "key must be 1-" + limits.maxMetaKeyLength() + " of [A-Za-z0-9_-] (value=" + shorten(key) + ")");
        }
        return ApiException.bad(
                field,
                "meta-value",
                "value must be at most " + limits.maxMetaValueLength() + " printable characters (length="
                        + value.length() + ")");
    }

    private List<CheckSpec> checks(
            String prefix, FieldNames names, List<CheckInput> inputs, String instanceId, String addr) {
        if (inputs.size() > limits.maxChecks()) {
            throw new ApiException(
                    400,
                    prefix + names.checks(),
                    "max-checks",
                    prefix + names.checks() + ": too many checks (count=" + inputs.size() + ", max-checks="
                            + limits.maxChecks() + ")");
        }
        if (inputs.size() == 1) {
            // The common case: one check, nothing to compare its id with.
            return List.of(check(inputs.get(0), "service:" + instanceId, addr));
        }
        List<CheckSpec> specs = new ArrayList<>(inputs.size());
        Set<String> checkIds = new HashSet<>();
        for (int i = 0; i < inputs.size(); i++) {
            CheckSpec spec = check(inputs.get(i), "service:" + instanceId + ":" + (i + 1), addr);
            if (!checkIds.add(spec.id())) {
                throw ApiException.bad(
                        inputs.get(i).path() + ".id", "unique", "duplicate check id (value=" + spec.id() + ")");
            }
            specs.add(spec);
        }
        return specs;
    }

    /**
     * Validates one check of an instance at {@code instanceAddress}; {@code defaultId} applies
     * when it has none.
     */
    public CheckSpec check(CheckInput in, String defaultId, String instanceAddress) {
        String path = in.path();
        if (in.unsupportedKind() != null) {
            throw ApiException.bad(
                    path + "." + in.unsupportedKind(),
                    "check-kind",
                    "unsupported check kind '" + in.unsupportedKind() + "', supported: " + CHECK_KINDS);
        }
        int kinds = (in.http() != null ? 1 : 0)
                + (in.tcp() != null ? 1 : 0)
                + (in.ttl() != null ? 1 : 0)
                + (in.grpc() != null ? 1 : 0)
                + (in.args() != null ? 1 : 0);
        if (kinds == 0) {
            throw ApiException.bad(path, "check-kind", "a check needs exactly one of " + CHECK_KINDS);
        }
        if (kinds > 1) {
            throw ApiException.bad(path, "check-kind", "a check takes only one of " + CHECK_KINDS);
        }
        String checkId = in.id() == null || in.id().isEmpty() ? defaultId : in.id();
        if (checkId.length() > 2 * limits.maxNameLength() || hasControl(checkId)) {
            throw ApiException.bad(
                    path + ".id",
                    "check-id",
                    "check id must be 1-" + 2 * limits.maxNameLength() + " printable characters (value="
                            + shorten(checkId) + ")");
        }
        if (in.name() != null && (in.name().length() > 2 * limits.maxNameLength() || hasControl(in.name()))) {
            throw ApiException.bad(
                    path + ".name",
                    "check-name",
                    "check name must be at most " + 2 * limits.maxNameLength() + " printable characters (value="
                            + shorten(in.name()) + ")");
        }
        if (in.notes() != null && in.notes().length() > MAX_NOTES_LENGTH) {
            throw ApiException.bad(
                    path + ".notes",
                    "max-notes-length",
                    "notes too long (length=" + in.notes().length() + ", max=" + MAX_NOTES_LENGTH + ")");
        }
        headers(path, in.headers());
        CheckKind kind;
        String target = "";
        List<String> args = List.of();
        long interval = 0;
        long ttl = 0;
        if (in.ttl() != null) {
            kind = CheckKind.TTL;
            ttl = Durations.parseMillis(path, "ttl", in.ttl());
            if (ttl <= 0) {
                throw ApiException.bad(path + ".ttl", "positive", "ttl must be positive (value=" + in.ttl() + ")");
            }
        } else {
            if (in.http() != null) {
                kind = CheckKind.HTTP;
                target = httpTarget(path + ".http", in.http(), instanceAddress);
            } else if (in.tcp() != null) {
                kind = CheckKind.TCP;
                target = hostPort(path + ".tcp", in.tcp(), in.tcp(), "host:port");
                checkTarget(path + ".tcp", hostOf(target), instanceAddress, target);
            } else if (in.grpc() != null) {
                kind = CheckKind.GRPC;
                target = grpcTarget(path + ".grpc", in.grpc());
                checkTarget(path + ".grpc", hostOf(target), instanceAddress, target);
            } else {
                kind = CheckKind.EXEC;
                args = execArgs(path + ".args", in.args());
            }
            if (in.interval() == null) {
                throw ApiException.bad(
                        path + ".interval",
                        "required",
                        "interval is required for " + kind.name().toLowerCase(java.util.Locale.ROOT) + " checks");
            }
            interval = Durations.parseMillis(path, "interval", in.interval());
            if (interval < MIN_INTERVAL_MILLIS) {
                throw ApiException.bad(
                        path + ".interval",
                        "min-interval",
                        "interval must be at least " + MIN_INTERVAL_MILLIS + "ms (value=" + in.interval() + ")");
            }
        }
        long timeout = in.timeout() == null
                ? DEFAULT_CHECK_TIMEOUT_MILLIS
                : Durations.parseMillis(path, "timeout", in.timeout());
        if (timeout <= 0) {
            throw ApiException.bad(
                    path + ".timeout", "positive", "timeout must be positive (value=" + in.timeout() + ")");
        }
        long deregisterAfter = in.deregisterCriticalAfter() == null
                ? 0
                : Durations.parseMillis(path, "deregister-critical-after", in.deregisterCriticalAfter());
        Health initial = Health.CRITICAL;
        if (in.status() != null && !in.status().isEmpty()) {
            initial = Health.parse(in.status());
            if (initial == null) {
                throw ApiException.bad(
                        path + ".status",
                        "status",
                        "unknown status (value=" + shorten(in.status()) + "), expected passing, warning or critical");
            }
        }
        String method = in.method() == null || in.method().isEmpty() ? "GET" : in.method();
        if (!httpMethod(method)) {
            throw ApiException.bad(
                    path + ".method", "http-method", "not an HTTP method (value=" + shorten(method) + ")");
        }
        return CheckSpec.builder(checkId, kind)
                .name(in.name())
                .target(target)
                .method(method)
                .headers(in.headers())
                .intervalMillis(interval)
                .timeoutMillis(timeout)
                .ttlMillis(ttl)
                .deregisterCriticalAfterMillis(deregisterAfter)
                .initialStatus(initial)
                .successBeforePassing(count(path, "success-before-passing", in.successBeforePassing()))
                .failuresBeforeWarning(count(path, "failures-before-warning", in.failuresBeforeWarning()))
                .failuresBeforeCritical(count(path, "failures-before-critical", in.failuresBeforeCritical()))
                .tlsSkipVerify(Boolean.TRUE.equals(in.tlsSkipVerify()))
                .args(args)
                .grpcUseTls(Boolean.TRUE.equals(in.grpcUseTls()))
                .notes(in.notes())
                .build();
    }

    /** A service name: 1..max of letters, digits, {@code - _ .}, starting with a letter or digit. */
    public String name(String field, String value) {
        return name("", field, value);
    }

    /** {@link #name(String, String)} of the field {@code prefix + field}, named only when refused. */
    private String name(String prefix, String field, String value) {
        if (value == null || value.isEmpty()) {
            throw ApiException.bad(prefix + field, "required", "service name is required");
        }
        if (value.length() > limits.maxNameLength()) {
            throw ApiException.bad(
                    prefix + field,
                    "max-name-length",
                    "too long (length=" + value.length() + ", max-name-length=" + limits.maxNameLength() + ")");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || (i > 0 && (c == '-' || c == '_' || c == '.'));
            if (!ok) {
                throw ApiException.bad(
                        prefix + field,
                        "name",
                        "illegal character '" + printable(c) + "' at " + i + " (value=" + shorten(value)
                                + "); use letters, digits, - _ . starting with a letter or digit");
            }
        }
        return value;
    }

    /** An instance id: 1..max printable ASCII without {@code / ? # % + } or spaces (it is a URL path and topic level). */
    public String id(String field, String value) {
        return id("", field, value);
    }

    /** {@link #id(String, String)} of the field {@code prefix + field}, named only when refused. */
    private String id(String prefix, String field, String value) {
        if (value.length() > 2 * limits.maxNameLength()) {
            throw ApiException.bad(
                    prefix + field,
                    "max-name-length",
                    "id too long (length=" + value.length() + ", max=" + 2 * limits.maxNameLength() + ")");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '+' || c == '\\') {
                throw ApiException.bad(
                        prefix + field,
                        "id",
                        "illegal character '" + printable(c) + "' at " + i + " (value=" + shorten(value)
                                + "); ids are printable ASCII without / ? # % + \\ or spaces");
            }
        }
        return value;
    }

    /**
     * An instance's address: a host name or an IP literal (see {@link #address}), and not a
     * forbidden address: the proxy would refuse to connect there, and its checks would reach the
     * node's link-local neighbours and cloud metadata.
     */
    private static void instanceAddress(String prefix, String name, String value) {
        address(prefix, name, value);
        InetAddress literal;
        try {
            literal = ForbiddenAddresses.literal(value);
        } catch (IllegalArgumentException e) {
            throw ApiException.bad(prefix + name, "address", "not a valid IP address (value=" + shorten(value) + ")");
        }
        String why = literal == null ? null : ForbiddenAddresses.why(literal);
        if (why != null) {
            throw ApiException.bad(
                    prefix + name,
                    ForbiddenAddresses.RULE,
                    "address " + shorten(value) + " is " + why + ": never a service's address; register the"
                            + " address the service listens on");
        }
    }

    /** Refuses a check target the policy refuses for an instance at {@code instanceAddress}. */
    private void checkTarget(String field, String host, String instanceAddress, String value) {
        String refusal = checkTargets.refusal(host, instanceAddress);
        if (refusal != null) {
            throw ApiException.bad(field, CheckTargetPolicy.RULE, refusal + " (value=" + shorten(value) + ")");
        }
    }

    /** The host of a {@code host:port} or {@code host:port/service} target (already checked). */
    private static String hostOf(String target) {
        int slash = target.indexOf('/');
        String hostPort = slash < 0 ? target : target.substring(0, slash);
        return hostPort.substring(0, hostPort.lastIndexOf(':'));
    }

    private static void address(String field, String value) {
        address("", field, value);
    }

    /** {@link #address(String, String)} of the field {@code prefix + field}, named only when refused. */
    private static void address(String prefix, String field, String value) {
        if (value.length() > 253) {
            throw ApiException.bad(prefix + field, "address", "address too long (length=" + value.length() + ")");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || c == '.'
                    || c == '-'
                    || c == ':'
                    || c == '_'
                    || c == '%'
                    || c == '['
                    || c == ']';
            if (!ok) {
                throw ApiException.bad(
                        prefix + field, "address", "not a host name or IP address (value=" + shorten(value) + ")");
            }
        }
    }

    private String httpTarget(String field, String url, String instanceAddress) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw ApiException.bad(field, "url", "not a URL (value=" + shorten(url) + "): " + e.getReason());
        }
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
            throw ApiException.bad(field, "url-scheme", "scheme must be http or https (value=" + shorten(url) + ")");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw ApiException.bad(field, "url", "URL has no host (value=" + shorten(url) + ")");
        }
        if (uri.getRawUserInfo() != null) {
            throw ApiException.bad(
                    field,
                    CheckTargetPolicy.RULE,
                    "URL carries user information before its host (value=" + shorten(url) + "); give credentials"
                            + " in a header");
        }
        checkTarget(field, uri.getHost(), instanceAddress, url);
        return url;
    }

    /**
     * Checks {@code hostPort} ({@code value} is the whole field, for the message; {@code expected}
     * names the form) and returns {@code value}.
     */
    private static String hostPort(String field, String hostPort, String value, String expected) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw ApiException.bad(field, "host-port", "expected " + expected + " (value=" + shorten(value) + ")");
        }
        address(field, hostPort.substring(0, colon));
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw ApiException.bad(field, "host-port", "port is not a number (value=" + shorten(value) + ")");
        }
        if (port < 1 || port > 65_535) {
            throw ApiException.bad(field, "range", "port out of range (value=" + port + ", range=1-65535)");
        }
        return value;
    }

    /** Consul's gRPC target: {@code host:port}, or {@code host:port/service} to ask about one service. */
    private static String grpcTarget(String field, String target) {
        int slash = target.indexOf('/');
        hostPort(field, slash < 0 ? target : target.substring(0, slash), target, "host:port or host:port/service");
        if (slash >= 0) {
            String service = target.substring(slash + 1);
            if (service.isEmpty() || service.length() > MAX_GRPC_SERVICE_LENGTH || !grpcService(service)) {
                throw ApiException.bad(
                        field,
                        "grpc-service",
                        "gRPC service must be 1-" + MAX_GRPC_SERVICE_LENGTH + " of [A-Za-z0-9._-] (value="
                                + shorten(target) + ")");
            }
        }
        return target;
    }

    private static boolean grpcService(String service) {
        for (int i = 0; i < service.length(); i++) {
            char c = service.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || c == '.'
                    || c == '_'
                    || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /**
     * An exec check's program and arguments: well formed first (so a malformed check says what is
     * wrong with it), then allowed by the node.
     */
    private List<String> execArgs(String field, List<String> args) {
        if (args.isEmpty()) {
            throw ApiException.bad(field, "non-empty", "args must name a program to run (value=[])");
        }
        if (args.size() > MAX_EXEC_ARGS) {
            throw ApiException.bad(
                    field, "max-args", "too many arguments (count=" + args.size() + ", max=" + MAX_EXEC_ARGS + ")");
        }
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.length() > MAX_EXEC_ARG_LENGTH || arg.indexOf('\0') >= 0 || (i == 0 && arg.isEmpty())) {
                throw ApiException.bad(
                        field + "[" + i + "]",
                        "exec-arg",
                        (i == 0 ? "program must be 1-" : "argument must be at most ") + MAX_EXEC_ARG_LENGTH
                                + " characters without NUL (value=" + shorten(arg) + ")");
            }
        }
        if (!execChecksEnabled) {
            throw ApiException.bad(
                    field,
                    "exec-disabled",
                    "exec checks are disabled on this node (value=" + shorten(args.get(0)) + "); set " + EXEC_CHECKS_KEY
                            + "=true to allow them");
        }
        return args;
    }

    /**
     * Header names are RFC 9110 tokens; values carry no CR, LF or other control character (no
     * header smuggling). The field is {@code checkPath + ".headers"}, named only when refused.
     */
    private static void headers(String checkPath, Map<String, List<String>> headers) {
        if (headers == null) {
            return;
        }
        String path = checkPath + ".headers";
        if (headers.size() > MAX_CHECK_HEADERS) {
            throw ApiException.bad(
                    path,
                    "max-headers",
                    "too many headers (count=" + headers.size() + ", max=" + MAX_CHECK_HEADERS + ")");
        }
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            String field = path + "." + e.getKey();
            if (!token(e.getKey())) {
                throw ApiException.bad(
                        field, "header-name", "not an HTTP header name (value=" + shorten(e.getKey()) + ")");
            }
            for (String v : e.getValue()) {
                if (v == null || !headerValue(v)) {
                    throw ApiException.bad(
                            field,
                            "header-value",
                            "header value missing or with control characters (value="
                                    + (v == null ? "null" : shorten(v)) + ")");
                }
            }
        }
    }

    /** An RFC 9110 token: what a header name may be. */
    private static boolean token(String s) {
        if (s.isEmpty() || s.length() > 256) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean headerValue(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static int weight(String prefix, String field, Long value, int defaultValue) {
        if (value == null) {
            return defaultValue;
        }
        if (value < 0 || value > 1_000_000) {
            throw ApiException.bad(
                    prefix + field, "range", "weight out of range (value=" + value + ", range=0-1000000)");
        }
        return value.intValue();
    }

    /** A check's counter {@code path + "." + field}, named only when refused. */
    private static int count(String path, String field, Long value) {
        if (value == null) {
            return 0;
        }
        if (value < 0 || value > 1_000) {
            throw ApiException.bad(path + "." + field, "range", "out of range (value=" + value + ", range=0-1000)");
        }
        return value.intValue();
    }

    /** An HTTP method a check may send: 1-16 upper-case ASCII letters ({@code GET}, {@code PROPFIND}). */
    static boolean httpMethod(String method) {
        if (method.isEmpty() || method.length() > 16) {
            return false;
        }
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (c < 'A' || c > 'Z') {
                return false;
            }
        }
        return true;
    }

    private boolean metaKey(String key) {
        if (key.isEmpty() || key.length() > limits.maxMetaKeyLength()) {
            return false;
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    private static String printable(char c) {
        return c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }

    static String shorten(String value) {
        String s = value.length() > 64 ? value.substring(0, 64) + "..." : value;
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            out.append(printable(s.charAt(i)));
        }
        return out.toString();
    }

    /** How one API names the registration fields in its errors. */
    public record FieldNames(
            String service, String id, String address, String port, String tags, String meta, String checks) {
        public static final FieldNames NATIVE =
                new FieldNames("service", "id", "address", "port", "tags", "meta", "check");
        public static final FieldNames CONSUL =
                new FieldNames("Name", "ID", "Address", "Port", "Tags", "Meta", "Checks");
    }
}
