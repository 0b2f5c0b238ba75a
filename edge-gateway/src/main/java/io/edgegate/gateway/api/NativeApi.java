package io.edgegate.gateway.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.edgegate.acl.TokenSource;
import io.edgegate.gateway.proxy.LeanApi;
import io.edgegate.gateway.registry.Change;
import io.edgegate.gateway.registry.CheckState;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryException;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The native REST API ({@code /v1/...}, JSON): registration, heartbeats, maintenance and
 * deregistration of instances; service reads with filters and blocking queries; the status page
 * and the OpenAPI document ({@code openapi.yaml}) that describes all of it.
 *
 * <p>Handlers run on the web server's virtual threads. Reads go to the registry's published
 * snapshots and never block; writes wait on the caller's virtual thread until the registry has
 * them on disk, and blocking queries park it until the service changes. Every refusal is a 4xx
 * (503 for an overloaded registry) with {@code {"error","field","rule"}}, answered by
 * {@link Json#installErrorHandlers}. Stateless apart from its collaborators: thread-safe.
 *
 * <p>The hot writes, a registration and a heartbeat, are also a {@link LeanApi}: the main
 * listener's lean connections answer them without Helidon's routing (on an event loop, without
 * waiting on a thread), through the same decoding, rights and answers as the routes here.
 */
public final class NativeApi implements HttpService, LeanApi {
    /** The registry index a response reflects; the {@code index} a blocking query passes back. */
    public static final HeaderName INDEX_HEADER = HeaderNames.create("X-Edgegate-Index");

    private static final Header CONTENT_TYPE_YAML =
            HeaderValues.createCached(HeaderNames.CONTENT_TYPE, "application/yaml");
    private static final int MAX_REASON_LENGTH = 512;
    private static final Set<String> MAINTENANCE_PARAMETERS = Set.of("enable", "reason");
    /** {@link LeanApi} operations: {@code POST /v1/instances} and {@code PUT /v1/instances/{id}/heartbeat}. */
    private static final int LEAN_REGISTER = 0;

    private static final int LEAN_HEARTBEAT = 1;
    private static final String INSTANCES_PATH = "/v1/instances";
    private static final String INSTANCE_PREFIX = "/v1/instances/";
    private static final String HEARTBEAT_SUFFIX = "/heartbeat";

    private final Registry registry;
    private final ApiSettings settings;
    private final AclStore acl;
    private final NativeRegistrationAdapter adapter;
    private final int maxBodyBytes;
    private final byte[] openApi;
    /** Counters of other parts (proxy, sync) shown on the status page, by section name. */
    private final Map<String, Supplier<?>> statusSections = new java.util.concurrent.ConcurrentSkipListMap<>();
    /** The proxy's traffic to a service, shown as {@code proxy} in each entry of {@code GET /v1/services}. */
    private volatile Function<String, ?> serviceTraffic;

    public NativeApi(Registry registry, ApiSettings settings) {
        this.registry = registry;
        this.settings = settings;
        this.acl = settings.acl();
        this.adapter = new NativeRegistrationAdapter(settings.validator());
        this.maxBodyBytes = settings.validator().limits().maxBodyBytes();
        this.openApi = loadOpenApi();
    }

    /** Adds a section to {@code GET /v1/status}, read on every request (keep it cheap). */
    public NativeApi statusSection(String name, Supplier<?> counters) {
        statusSections.put(name, counters);
        return this;
    }

    /** Adds the proxy's traffic to each service of {@code GET /v1/services} (read per request; keep it cheap). */
    public NativeApi serviceTraffic(Function<String, ?> traffic) {
        this.serviceTraffic = traffic;
        return this;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/v1/instances", this::register)
                .post("/v1/instances/batch", this::registerBatch)
                .get("/v1/instances/{id}", this::instance)
                .delete("/v1/instances/{id}", this::deregister)
                .put("/v1/instances/{id}/heartbeat", this::heartbeat)
                .put("/v1/instances/{id}/maintenance", this::maintenance)
                .get("/v1/services", this::services)
                .get("/v1/services/{service}", this::service)
                .get("/v1/status", this::status)
                .get("/v1/acl/token/self", (req, res) -> AclViews.consulTokenSelf(res, Callers.of(req, acl)))
                .get("/v1/acl/tokens", (req, res) -> AclViews.consulTokens(res, Callers.of(req, acl), acl.current()))
                .get("/livez", (req, res) -> Json.send(res, Status.OK_200, Map.of("status", "live")))
                .get("/readyz", this::ready)
                .get("/v1/openapi", this::openApi)
                .get("/openapi", this::openApi);
        // Any other method on a known path: a JSON 405 that says which methods it takes.
        methodNotAllowed(rules, "/v1/instances", "POST");
        methodNotAllowed(rules, "/v1/instances/batch", "POST");
        methodNotAllowed(rules, "/v1/instances/{id}", "GET, DELETE");
        methodNotAllowed(rules, "/v1/instances/{id}/heartbeat", "PUT");
        methodNotAllowed(rules, "/v1/instances/{id}/maintenance", "PUT");
        methodNotAllowed(rules, "/v1/services", "GET");
        methodNotAllowed(rules, "/v1/services/{service}", "GET");
        methodNotAllowed(rules, "/v1/status", "GET");
        methodNotAllowed(rules, "/v1/openapi", "GET");
        methodNotAllowed(rules, "/openapi", "GET");
    }

    private static void methodNotAllowed(HttpRules rules, String path, String allowed) {
        rules.any(path, (req, res) -> {
            res.header(HeaderNames.ALLOW, allowed);
            Json.sendError(
                    res,
                    405,
                    "method",
                    "method-not-allowed",
                    "method: " + req.prologue().method().text() + " not allowed on " + path + " (allowed: " + allowed
                            + ")");
        });
    }

    // ---------------------------------------------------------------- writes

    private void register(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        sendChange(res, registry.await(startRegister(caller, Json.readBytes(req, maxBodyBytes))));
    }

    /** A registration's decoding, rights and write (its outcome follows). */
    private CompletableFuture<Change> startRegister(Authorizer caller, byte[] body) {
        InstanceSpec spec = adapter.instance(body);
        Callers.requireRegistration(caller, spec);
        return registry.register(spec);
    }

    private void registerBatch(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        List<InstanceSpec> specs = adapter.batch(Json.readBytes(req, maxBodyBytes));
        for (int i = 0; i < specs.size(); i++) {
            Callers.requireRegistration(caller, specs.get(i));
        }
        refuseMoves(specs);
        List<Change> changes = registry.await(registry.registerAll(specs));
        long last = 0;
        for (int i = 0; i < changes.size(); i++) {
            last = Math.max(last, changes.get(i).index());
        }
        res.header(INDEX_HEADER, Long.toString(last));
        Json.sendEncoded(res, Status.OK_200, batchAnswer(changes, last));
    }

    /**
     * Refuses a batch that would move an id to another service. The registry refuses the whole
     * batch on such a conflict but names only "id"; looking first names the entry. The registry's
     * own check stays the one that counts (this one can race).
     */
    private void refuseMoves(List<InstanceSpec> specs) {
        for (int i = 0; i < specs.size(); i++) {
            InstanceSpec spec = specs.get(i);
            Instance existing = registry.instance(spec.id());
            if (existing != null && !existing.service().equals(spec.service())) {
                throw new ApiException(
                        409,
                        "instances[" + i + "].id",
                        "conflict",
                        "instances[" + i
                                + "].id: id already registered for another service (id="
                                + InstanceValidator.shorten(spec.id())
                                + ", service=" + existing.service() + ")");
            }
        }
    }

    /**
     * The answer to a batch, {@code {"instances":[{"id":..,"index":..},...],"index":last}}, as
     * Jackson writes it. Written by hand: a batch answers up to max-batch entries, and ids are
     * printable ASCII (the validator's rule), so only a quote needs escaping; an id outside that
     * (none the validator lets through) is left to Jackson's generator.
     */
    static byte[] batchAnswer(List<Change> changes, long last) {
        byte[] out = new byte[64 + 48 * changes.size()];
        int n = put(out, 0, "{\"instances\":[");
        for (int i = 0; i < changes.size(); i++) {
            Change change = changes.get(i);
            String id = change.id();
            if (out.length - n < 2 * id.length() + 64) {
                out = Arrays.copyOf(out, 2 * out.length + 2 * id.length() + 64);
            }
            n = putId(out, put(out, n, i == 0 ? "{\"id\":\"" : ",{\"id\":\""), id);
            if (n < 0) {
                return batchAnswerByJackson(changes, last);
            }
            n = put(out, n, "\",\"index\":");
            n = put(out, n, Long.toString(change.index()));
            out[n++] = '}';
        }
        if (out.length - n < 64) {
            out = Arrays.copyOf(out, out.length + 64);
        }
        n = put(out, n, "],\"index\":");
        n = put(out, n, Long.toString(last));
        out[n++] = '}';
        return Arrays.copyOf(out, n);
    }

    /** Copies ASCII {@code s} (room checked by the caller: at most 64 bytes) to {@code out} at {@code n}. */
    private static int put(byte[] out, int n, String s) {
        for (int i = 0; i < s.length(); i++) {
            out[n + i] = (byte) s.charAt(i);
        }
        return n + s.length();
    }

    static byte[] batchAnswerByJackson(List<Change> changes, long last) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(64 + 48 * changes.size());
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(body)) {
            g.writeStartObject();
            g.writeArrayFieldStart("instances");
            for (Change change : changes) {
                g.writeStartObject();
                g.writeStringField("id", change.id());
                g.writeNumberField("index", change.index());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberField("index", last);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode response", e);
        }
        return body.toByteArray();
    }

    private void deregister(ServerRequest req, ServerResponse res) {
        String id = pathId(req);
        Callers.requireInstanceWrite(Callers.of(req, acl), registry.instance(id));
        Change change = registry.await(registry.deregister(id));
        sendChange(res, change);
    }

    private void heartbeat(ServerRequest req, ServerResponse res) {
        String id = pathId(req);
        sendChange(res, registry.await(startHeartbeat(Callers.of(req, acl), id)));
    }

    /** A heartbeat's rights and write (its outcome follows). */
    private CompletableFuture<Change> startHeartbeat(Authorizer caller, String id) {
        Callers.requireInstanceWrite(caller, registry.instance(id));
        return registry.heartbeat(id);
    }

    // ---------------------------------------------------------------- the lean connections' writes

    @Override
    public int operation(Method method, String rawPath, String rawQuery, long contentLength) {
        if (!rawQuery.isEmpty() || contentLength > maxBodyBytes) {
            return NONE; // a query or a body too large: the routes' answers
        }
        if (method == Method.POST) {
            return rawPath.equals(INSTANCES_PATH) ? LEAN_REGISTER : NONE;
        }
        return method == Method.PUT
                        && rawPath.startsWith(INSTANCE_PREFIX)
                        && rawPath.endsWith(HEARTBEAT_SUFFIX)
                        && LeanAnswers.plainSegment(
                                rawPath, INSTANCE_PREFIX.length(), rawPath.length() - HEARTBEAT_SUFFIX.length())
                ? LEAN_HEARTBEAT
                : NONE;
    }

    @Override
    public CompletableFuture<Answer> start(
            int operation, String rawPath, String token, String authorization, byte[] body) {
        CompletableFuture<Change> write;
        try {
            Authorizer caller = acl.authorize(TokenSource.token(token, authorization, null));
            write = operation == LEAN_REGISTER
                    ? startRegister(caller, body)
                    : startHeartbeat(
                            caller,
                            rawPath.substring(INSTANCE_PREFIX.length(), rawPath.length() - HEARTBEAT_SUFFIX.length()));
        } catch (ApiException | RegistryException | AclException refused) {
            return CompletableFuture.completedFuture(LeanAnswers.refusal(refused, false));
        }
        return LeanAnswers.outcome(registry, write, NativeApi::leanAnswer, UnaryOperator.identity());
    }

    /** {@link #sendChange}'s answer. */
    private static Answer leanAnswer(Change change) {
        return LeanAnswers.json(200, INDEX_HEADER.defaultCase() + ": " + change.index() + "\r\n", changeAnswer(change));
    }

    private void maintenance(ServerRequest req, ServerResponse res) {
        String id = pathId(req);
        Callers.requireInstanceWrite(Callers.of(req, acl), registry.instance(id));
        NativeServiceQuery.rejectUnknown(req.query(), MAINTENANCE_PARAMETERS);
        String enableText = NativeServiceQuery.single(req.query(), "enable");
        if (enableText == null) {
            throw ApiException.bad("enable", "required", "enable=true or enable=false is required");
        }
        boolean enable = NativeServiceQuery.bool("enable", enableText);
        String reason = NativeServiceQuery.single(req.query(), "reason");
        if (reason != null && (reason.length() > MAX_REASON_LENGTH || hasControl(reason))) {
            throw ApiException.bad(
                    "reason",
                    "reason",
                    "reason must be at most " + MAX_REASON_LENGTH + " printable characters (length=" + reason.length()
                            + ")");
        }
        Change change = registry.await(registry.maintenance(id, enable, reason));
        sendChange(res, change);
    }

    private static void sendChange(ServerResponse res, Change change) {
        res.header(INDEX_HEADER, Long.toString(change.index()));
        Json.sendEncoded(res, Status.OK_200, changeAnswer(change));
    }

    /**
     * The answer to one write, {@code {"id":..,"index":..}}, as Jackson writes it; by hand, as
     * {@link #batchAnswer}, since every registration and heartbeat is answered so.
     */
    static byte[] changeAnswer(Change change) {
        String id = change.id();
        byte[] out = new byte[2 * id.length() + 64];
        int n = put(out, 0, "{\"id\":\"");
        n = putId(out, n, id);
        if (n < 0) {
            return Json.MAPPER
                    .createObjectNode()
                    .put("id", id)
                    .put("index", change.index())
                    .toString()
                    .getBytes(StandardCharsets.UTF_8);
        }
        n = put(out, n, "\",\"index\":");
        n = put(out, n, Long.toString(change.index()));
        out[n++] = '}';
        return Arrays.copyOf(out, n);
    }

    /**
     * Copies {@code id} (room checked by the caller: twice its length) to {@code out} at {@code n}
     * as a JSON string's content; -1 when it holds a character other than printable ASCII, which
     * Jackson's generator is left to escape.
     */
    private static int putId(byte[] out, int n, String id) {
        for (int c = 0; c < id.length(); c++) {
            char ch = id.charAt(c);
            if (ch < 0x20 || ch > 0x7e || ch == '\\') {
                return -1;
            }
            if (ch == '"') {
                out[n++] = '\\';
            }
            out[n++] = (byte) ch;
        }
        return n;
    }

    // ---------------------------------------------------------------- reads

    private void instance(ServerRequest req, ServerResponse res) {
        String id = pathId(req);
        Authorizer caller = Callers.of(req, acl);
        Instance instance = registry.instance(id);
        if (instance == null) {
            throw new ApiException(404, "id", "unknown", "not found: id=" + InstanceValidator.shorten(id));
        }
        caller.require(Right.serviceRead(instance.service()));
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("service", instance.service());
        writeInstance(body, instance);
        res.header(INDEX_HEADER, Long.toString(instance.modifyIndex()));
        Json.send(res, Status.OK_200, body);
    }

    private void services(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        NativeServiceQuery.Blocking blocking = NativeServiceQuery.Blocking.parseStrict(req.query());
        if (blocking.blocks()) {
            try {
                registry.awaitChange(
                        blocking.index(), settings.blockingWaitMillis(blocking.waitMillis()), registry::index);
            } catch (InterruptedException e) {
                throw interrupted();
            }
        }
        // Read the index before the snapshots: the answer is at least this fresh, so a watcher
        // that passes it back cannot miss a change published while the list is built.
        long index = registry.index();
        List<ServiceSnapshot> snapshots = new ArrayList<>();
        boolean filtered = false;
        for (ServiceSnapshot snapshot : registry.services()) {
            if (snapshot.isEmpty()) {
                continue;
            }
            if (caller.canReadService(snapshot.name())) {
                snapshots.add(snapshot);
            } else {
                filtered = true;
            }
        }
        Callers.markFiltered(res, filtered);
        snapshots.sort(Comparator.comparing(ServiceSnapshot::name));
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("index", index);
        ArrayNode list = body.putArray("services");
        Function<String, ?> traffic = serviceTraffic;
        for (ServiceSnapshot snapshot : snapshots) {
            int passing = 0;
            int warning = 0;
            int critical = 0;
            int maintenance = 0;
            for (Instance instance : snapshot.instances()) {
                switch (instance.health()) {
                    case PASSING -> passing++;
                    case WARNING -> warning++;
                    case CRITICAL -> critical++;
                }
                if (instance.inMaintenance()) {
                    maintenance++;
                }
            }
            ObjectNode entry = list.addObject()
                    .put("service", snapshot.name())
                    .put("index", snapshot.index())
                    .put("instances", snapshot.instances().size())
                    .put("passing", passing)
                    .put("warning", warning)
                    .put("critical", critical)
                    .put("maintenance", maintenance)
                    .put("routable", snapshot.routableCount());
            if (traffic != null) {
                entry.putPOJO("proxy", traffic.apply(snapshot.name()));
            }
        }
        res.header(INDEX_HEADER, Long.toString(index));
        Json.send(res, Status.OK_200, body);
    }

    private void service(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        String name =
                settings.validator().name("service", req.path().pathParameters().get("service"));
        NativeServiceQuery query = NativeServiceQuery.parse(req.query());
        // Without read on the service the answer is the empty list, as a list filtered by rights.
        boolean readable = caller.canReadService(name);
        if (query.blocking().blocks()) {
            try {
                registry.awaitService(
                        name,
                        query.blocking().index(),
                        settings.blockingWaitMillis(query.blocking().waitMillis()));
            } catch (InterruptedException e) {
                throw interrupted();
            }
        }
        // Index first, then the snapshot: snapshots are never removed from the registry's map, so
        // a null snapshot at the second read means the first read was the restore floor, and a
        // present one carries its own index. Either way index and instances belong together.
        long index = registry.serviceIndex(name);
        ServiceSnapshot snapshot = registry.service(name);
        if (snapshot != null) {
            index = snapshot.index();
        }
        if (!readable) {
            Callers.markFiltered(res, snapshot != null && !snapshot.isEmpty());
            snapshot = null;
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("service", name);
        body.put("index", index);
        ArrayNode list = body.putArray("instances");
        if (snapshot != null) {
            for (Instance instance : snapshot.instances()) {
                if (query.matches(instance)) {
                    writeInstance(list.addObject(), instance);
                }
            }
        }
        res.header(INDEX_HEADER, Long.toString(index));
        Json.send(res, Status.OK_200, body);
    }

    private void status(ServerRequest req, ServerResponse res) {
        Callers.of(req, acl).require(Right.agentRead());
        int services = 0;
        for (ServiceSnapshot snapshot : registry.services()) {
            if (!snapshot.isEmpty()) {
                services++;
            }
        }
        long index = registry.index();
        ObjectNode body = Json.MAPPER
                .createObjectNode()
                .put("node", settings.node())
                .put("site", settings.site())
                .put("index", index)
                .put("instances", registry.instanceCount())
                .put("services", services)
                .put("errors", registry.errors().total());
        long[] probes = registry.probeCounts();
        body.putObject("health")
                .put("probes-launched", probes[0])
                .put("probes-skipped-still-running", probes[1])
                .put("results-dropped-stale", probes[2])
                .put("heartbeats-fast-path", registry.fastHeartbeats());
        body.putObject("registrations").put("unchanged-fast-path", registry.fastRegistrations());
        body.putObject("journal").putPOJO("stats", registry.journalStats());
        for (Map.Entry<String, Supplier<?>> section : statusSections.entrySet()) {
            body.putPOJO(section.getKey(), section.getValue().get());
        }
        res.header(INDEX_HEADER, Long.toString(index));
        Json.send(res, Status.OK_200, body);
    }

    /**
     * Ready once the registry is open (its journal recovered: the gateway starts its listeners only
     * after that) and not closing. Never depends on the cloud link: routing does not either.
     */
    private void ready(ServerRequest req, ServerResponse res) {
        if (registry.closed()) {
            Json.sendError(res, 503, "", "closing", "the gateway is stopping");
            return;
        }
        Json.send(res, Status.OK_200, Map.of("status", "ready", "index", registry.index()));
    }

    private void openApi(ServerRequest req, ServerResponse res) {
        res.header(CONTENT_TYPE_YAML);
        res.send(openApi);
    }

    // ---------------------------------------------------------------- encoding

    private static void writeInstance(ObjectNode out, Instance instance) {
        InstanceSpec spec = instance.spec();
        out.put("id", spec.id());
        out.put("address", spec.address());
        out.put("port", spec.port());
        ArrayNode tags = out.putArray("tags");
        spec.tags().forEach(tags::add);
        ObjectNode meta = out.putObject("meta");
        spec.meta().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> meta.put(e.getKey(), e.getValue()));
        out.putObject("weights").put("passing", spec.weightPassing()).put("warning", spec.weightWarning());
        Health health = instance.health();
        out.put("health", health.wireName());
        out.put("maintenance", instance.inMaintenance());
        if (instance.inMaintenance()) {
            out.put("maintenanceReason", instance.maintenanceReason());
        }
        out.put("routable", instance.routable());
        ArrayNode checks = out.putArray("checks");
        for (CheckState check : instance.checks()) {
            checks.addObject()
                    .put("id", check.spec().id())
                    .put("name", check.spec().name())
                    .put("kind", check.spec().kind().name().toLowerCase(Locale.ROOT))
                    .put("status", check.status().wireName())
                    .put("output", check.output());
        }
        out.put("createIndex", instance.createIndex());
        out.put("modifyIndex", instance.modifyIndex());
    }

    // ---------------------------------------------------------------- helpers

    /** The server is stopping: the waiting thread was interrupted. Keeps the flag for the server. */
    private static ApiException interrupted() {
        Thread.currentThread().interrupt();
        return new ApiException(503, "", "interrupted", "interrupted while waiting; retry");
    }

    private static String pathId(ServerRequest req) {
        return req.path().pathParameters().get("id");
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

    private static byte[] loadOpenApi() {
        try (InputStream in = NativeApi.class.getResourceAsStream("/openapi.yaml")) {
            if (in == null) {
                throw new IllegalStateException("openapi.yaml is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read openapi.yaml", e);
        }
    }
}
