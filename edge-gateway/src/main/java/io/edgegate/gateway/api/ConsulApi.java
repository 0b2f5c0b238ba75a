package io.edgegate.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.edgegate.acl.TokenSource;
import io.edgegate.gateway.proxy.LeanApi;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryException;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The Consul-compatible HTTP API: the agent, catalog, health and status endpoints that Consul
 * clients and tools use (consul-client, Spring Cloud Consul, Prometheus {@code consul_sd}),
 * answered from the registry. This gateway is one Consul client agent: one node
 * ({@code settings.node()}) in one datacenter ({@code settings.site()}).
 *
 * <p>Reads carry {@code X-Consul-Index} (at least 1, never lower than before a restart): for one
 * service, the registry's index of that service, deletions included; for node-wide lists, the
 * registry index, which is what Consul answers (the index of the table the list is drawn from),
 * so a deletion that leaves the list's remaining items untouched still moves it. A read with a
 * non-zero {@code index} is a blocking query: it parks its virtual thread in the registry until
 * the resource's index differs or the wait (default 5 min, capped, plus Consul's jitter) ends.
 * Per-service queries wake only on that service's changes.
 *
 * <p>Handlers run on the web server's virtual threads; writes wait there until the registry has
 * them on disk. Refusals are thrown as {@link ApiException} / registry exceptions and answered by
 * {@link Json#installErrorHandlers} with their status and {@code {"error","field","rule"}}.
 * Stateless apart from its collaborators: thread-safe.
 *
 * <p>The agent's hot writes, a service registration and a TTL check's report, are also a
 * {@link LeanApi}: the Consul listener's lean connections answer them without Helidon's routing,
 * through the same decoding, rights and answers as the routes here.
 */
public final class ConsulApi implements HttpService, LeanApi {
    static final HeaderName INDEX = HeaderNames.create("X-Consul-Index");
    static final HeaderName KNOWN_LEADER = HeaderNames.create("X-Consul-KnownLeader");
    static final HeaderName LAST_CONTACT = HeaderNames.create("X-Consul-LastContact");
    static final HeaderName EFFECTIVE_CONSISTENCY = HeaderNames.create("X-Consul-Effective-Consistency");
    static final HeaderName CONTENT_HASH = HeaderNames.create("X-Consul-ContentHash");
    private static final int MAX_REASON_LENGTH = 512;
    private static final Set<String> STATES = Set.of("any", "passing", "warning", "critical");
    /** {@link LeanApi} operations: a registration; a TTL check's report, by status. */
    private static final int LEAN_REGISTER = 0;

    private static final int LEAN_PASS = 1;
    private static final int LEAN_WARN = 2;
    private static final int LEAN_FAIL = 3;
    private static final String REGISTER_PATH = "/v1/agent/service/register";
    /** {@code /v1/agent/check/pass/}, {@code warn/}, {@code fail/}: the same length. */
    private static final String CHECK_PREFIX = "/v1/agent/check/";

    private static final int CHECK_ID_FROM = CHECK_PREFIX.length() + "pass/".length();

    private final Registry registry;
    private final ApiSettings settings;
    private final AclStore acl;
    private final ConsulRegistrationAdapter adapter;
    private final ConsulViews views;
    private final int maxBodyBytes;

    public ConsulApi(Registry registry, ApiSettings settings) {
        this.registry = registry;
        this.settings = settings;
        this.acl = settings.acl();
        this.adapter = new ConsulRegistrationAdapter(settings);
        this.views = new ConsulViews(settings);
        this.maxBodyBytes = settings.validator().limits().maxBodyBytes();
    }

    @Override
    public void routing(HttpRules rules) {
        rules.put("/v1/agent/service/register", this::register)
                .put("/v1/agent/service/deregister/{id}", this::deregister)
                .put("/v1/agent/service/maintenance/{id}", this::maintenance)
                .put("/v1/agent/check/pass/{+checkId}", (req, res) -> ttlReport(req, res, Health.PASSING))
                .put("/v1/agent/check/warn/{+checkId}", (req, res) -> ttlReport(req, res, Health.WARNING))
                .put("/v1/agent/check/fail/{+checkId}", (req, res) -> ttlReport(req, res, Health.CRITICAL))
                .put("/v1/agent/check/update/{+checkId}", this::checkUpdate)
                .get("/v1/agent/services", this::agentServices)
                .get("/v1/agent/service/{id}", this::agentService)
                .get("/v1/agent/checks", this::agentChecks)
                .get("/v1/agent/self", this::agentSelf)
                .get("/v1/agent/members", this::agentMembers)
                .get("/v1/catalog/services", this::catalogServices)
                .get("/v1/catalog/service/{name}", this::catalogService)
                .get("/v1/catalog/nodes", this::catalogNodes)
                .get("/v1/catalog/node/{node}", this::catalogNode)
                .get("/v1/catalog/datacenters", this::catalogDatacenters)
                .get("/v1/health/service/{name}", this::healthService)
                .get("/v1/health/checks/{name}", this::healthChecks)
                .get("/v1/health/state/{state}", this::healthState)
                .get("/v1/health/node/{node}", this::healthNode)
                .get("/v1/status/leader", this::statusLeader)
                .get("/v1/status/peers", this::statusPeers)
                .get("/v1/acl/token/self", (req, res) -> AclViews.consulTokenSelf(res, Callers.of(req, acl)))
                .get("/v1/acl/tokens", (req, res) -> AclViews.consulTokens(res, Callers.of(req, acl), acl.current()));
    }

    // ---------------------------------------------------------------- agent writes

    private void register(ServerRequest req, ServerResponse res) {
        // A re-registration always replaces the instance's checks with the new definition's (a
        // check probing the same way keeps its status): Consul's ?replace-existing-checks, which
        // is accepted; without it Consul would keep checks the new definition leaves out.
        Authorizer caller = Callers.of(req, acl);
        await(startRegister(caller, Json.readBytes(req, maxBodyBytes)));
        res.status(Status.OK_200).send();
    }

    /** A registration's decoding, rights and write (its outcome follows). */
    private CompletableFuture<?> startRegister(Authorizer caller, byte[] body) {
        InstanceSpec spec = adapter.instance(body);
        Callers.requireRegistration(caller, spec);
        return registry.register(spec);
    }

    private void deregister(ServerRequest req, ServerResponse res) {
        String id = pathParam(req, "id");
        Callers.requireInstanceWrite(Callers.of(req, acl), registry.instance(id));
        await(registry.deregister(id));
        res.status(Status.OK_200).send();
    }

    private void maintenance(ServerRequest req, ServerResponse res) {
        String id = pathParam(req, "id");
        Callers.requireInstanceWrite(Callers.of(req, acl), registry.instance(id));
        boolean enable = ConsulQuery.requiredBool(req.query(), "enable");
        String reason = ConsulQuery.single(req.query(), "reason");
        if (reason != null && reason.length() > MAX_REASON_LENGTH) {
            throw ApiException.bad(
                    "reason",
                    "reason",
                    "reason must be at most " + MAX_REASON_LENGTH + " characters (length=" + reason.length() + ")");
        }
        await(registry.maintenance(id, enable, reason));
        res.status(Status.OK_200).send();
    }

    private void ttlReport(ServerRequest req, ServerResponse res, Health status) {
        String checkId = pathParam(req, "checkId");
        Authorizer caller = Callers.of(req, acl);
        await(startReport(caller, checkId, status, ConsulQuery.single(req.query(), "note")));
        res.status(Status.OK_200).send();
    }

    /** A TTL check report's rights and write (its outcome follows). */
    private CompletableFuture<?> startReport(Authorizer caller, String checkId, Health status, String note) {
        Callers.requireInstanceWrite(caller, registry.ttlCheckOwner(checkId));
        return registry.updateCheck(checkId, status, note);
    }

    private void checkUpdate(ServerRequest req, ServerResponse res) {
        String checkId = pathParam(req, "checkId");
        Callers.requireInstanceWrite(Callers.of(req, acl), registry.ttlCheckOwner(checkId));
        ObjectNode body = Json.requireObject(Json.readBody(req, maxBodyBytes), "body");
        String statusText = Json.string(ConsulRegistrationAdapter.field(body, "Status"), "Status");
        Health status = Health.parse(statusText);
        if (status == null) {
            throw ApiException.bad(
                    "Status",
                    "status",
                    "invalid check status (value="
                            + (statusText == null ? "" : InstanceValidator.shorten(statusText))
                            + "), expected passing, warning or critical");
        }
        String output = Json.string(ConsulRegistrationAdapter.field(body, "Output"), "Output");
        updateCheck(checkId, status, output);
        res.status(Status.OK_200).send();
    }

    /** A TTL check report; the registry bounds the output (Consul truncates it too, never refuses). */
    private void updateCheck(String checkId, Health status, String output) {
        await(registry.updateCheck(checkId, status, output));
    }

    /**
     * Waits for a write to be durable; a refusal names the field as Consul does ({@code ID},
     * {@code CheckID}) instead of the registry's own names.
     */
    private void await(CompletableFuture<?> write) {
        try {
            registry.await(write);
        } catch (RegistryException e) {
            throw consulNames(e);
        }
    }

    /** A registry refusal with the field named as Consul does ({@code ID}, {@code CheckID}). */
    private static RegistryException consulNames(RegistryException e) {
        String field =
                switch (e.field()) {
                    case "id" -> "ID";
                    case "check", "check.id" -> "CheckID";
                    default -> e.field();
                };
        return field.equals(e.field()) ? e : new RegistryException(e.status(), field, e.rule(), e.getMessage());
    }

    // ---------------------------------------------------------------- the lean connections' writes

    @Override
    public int operation(Method method, String rawPath, String rawQuery, long contentLength) {
        if (method != Method.PUT || !rawQuery.isEmpty() || contentLength > maxBodyBytes) {
            return NONE; // a query (?note=, ?replace-existing-checks) or a body too large: the routes'
        }
        if (rawPath.equals(REGISTER_PATH)) {
            return LEAN_REGISTER;
        }
        if (!rawPath.startsWith(CHECK_PREFIX) || rawPath.length() <= CHECK_ID_FROM) {
            return NONE;
        }
        int status;
        if (rawPath.startsWith("pass/", CHECK_PREFIX.length())) {
            status = LEAN_PASS;
        } else if (rawPath.startsWith("warn/", CHECK_PREFIX.length())) {
            status = LEAN_WARN;
        } else if (rawPath.startsWith("fail/", CHECK_PREFIX.length())) {
            status = LEAN_FAIL;
        } else {
            return NONE;
        }
        // the routes' {+checkId}, when they would see it as sent
        return LeanAnswers.plainSegment(rawPath, CHECK_ID_FROM, rawPath.length()) ? status : NONE;
    }

    @Override
    public CompletableFuture<Answer> start(
            int operation, String rawPath, String token, String authorization, byte[] body) {
        CompletableFuture<?> write;
        try {
            Authorizer caller = acl.authorize(TokenSource.token(token, authorization, null));
            write = switch (operation) {
                case LEAN_REGISTER -> startRegister(caller, body);
                case LEAN_PASS -> startReport(caller, rawPath.substring(CHECK_ID_FROM), Health.PASSING, null);
                case LEAN_WARN -> startReport(caller, rawPath.substring(CHECK_ID_FROM), Health.WARNING, null);
                default -> startReport(caller, rawPath.substring(CHECK_ID_FROM), Health.CRITICAL, null);
            };
        } catch (ApiException | RegistryException | AclException refused) {
            return CompletableFuture.completedFuture(LeanAnswers.refusal(refused, true));
        }
        return LeanAnswers.outcome(registry, write, done -> LeanAnswers.OK_EMPTY, ConsulApi::consulNames);
    }

    // ---------------------------------------------------------------- agent reads

    private void agentServices(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        long index = awaitNode(q);
        TreeMap<String, ObjectNode> byId = new TreeMap<>();
        boolean filtered = false;
        for (ServiceSnapshot snapshot : registry.services()) {
            if (!caller.canReadService(snapshot.name())) {
                filtered |= !snapshot.isEmpty();
                continue;
            }
            for (Instance instance : snapshot.instances()) {
                byId.put(instance.id(), views.agentService(instance));
            }
        }
        Callers.markFiltered(res, filtered);
        ObjectNode body = Json.MAPPER.createObjectNode();
        byId.forEach(body::set);
        sendRead(res, q, index, body);
    }

    private void agentService(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        String id = pathParam(req, "id");
        Instance known = registry.instance(id);
        if (known != null) {
            caller.require(Right.serviceRead(known.service()));
        }
        if (q.blocking() || q.hash() != null) {
            awaitInstance(id, q);
        }
        Instance instance = registry.instance(id);
        if (instance == null) {
            throw new ApiException(404, "id", "unknown", "unknown service ID: " + InstanceValidator.shorten(id));
        }
        ObjectNode body = views.agentService(instance);
        String hash = contentHash(body);
        body.put("ContentHash", hash);
        res.header(CONTENT_HASH, hash);
        sendRead(res, q, instance.modifyIndex(), body);
    }

    private void agentChecks(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        long index = awaitNode(q);
        TreeMap<String, ObjectNode> byId = new TreeMap<>();
        boolean filtered = false;
        for (ServiceSnapshot snapshot : registry.services()) {
            if (!caller.canReadService(snapshot.name())) {
                filtered |= !snapshot.isEmpty();
                continue;
            }
            for (Instance instance : snapshot.instances()) {
                views.checks(instance, check -> byId.put(check.get("CheckID").textValue(), check));
            }
        }
        Callers.markFiltered(res, filtered);
        ObjectNode body = Json.MAPPER.createObjectNode();
        byId.forEach(body::set);
        sendRead(res, q, index, body);
    }

    private void agentSelf(ServerRequest req, ServerResponse res) {
        Callers.of(req, acl).require(Right.agentRead());
        ConsulQuery q = query(req);
        sendRead(res, q, registry.index(), views.self());
    }

    private void agentMembers(ServerRequest req, ServerResponse res) {
        boolean nodeRead = Callers.of(req, acl).allows(Right.nodeRead());
        ConsulQuery q = query(req);
        ArrayNode body = Json.MAPPER.createArrayNode();
        if (nodeRead) {
            views.member(body.addObject());
        }
        Callers.markFiltered(res, !nodeRead);
        sendRead(res, q, registry.index(), body);
    }

    // ---------------------------------------------------------------- catalog

    private void catalogServices(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        long index = awaitNode(q);
        TreeMap<String, Set<String>> tagsByName = new TreeMap<>();
        boolean filtered = false;
        if (q.matchesNodeMeta(views.nodeMeta())) {
            for (ServiceSnapshot snapshot : registry.services()) {
                if (snapshot.isEmpty()) {
                    continue;
                }
                if (!caller.canReadService(snapshot.name())) {
                    filtered = true;
                    continue;
                }
                Set<String> tags = new LinkedHashSet<>();
                for (Instance instance : snapshot.instances()) {
                    tags.addAll(instance.spec().tags());
                }
                tagsByName.put(snapshot.name(), tags);
            }
        }
        Callers.markFiltered(res, filtered);
        ObjectNode body = Json.MAPPER.createObjectNode();
        tagsByName.forEach((name, tags) -> {
            ArrayNode list = body.putArray(name);
            tags.forEach(list::add);
        });
        sendRead(res, q, index, body);
    }

    private void catalogService(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        String name = pathParam(req, "name");
        ServiceRead read = readService(name, q, caller, res);
        ArrayNode body = Json.MAPPER.createArrayNode();
        if (q.matchesNodeMeta(views.nodeMeta())) {
            for (Instance instance : read.instances()) {
                if (q.matchesTags(instance.spec().tags())) {
                    body.add(views.catalogService(instance));
                }
            }
        }
        sendRead(res, q, read.index(), body);
    }

    private void catalogNodes(ServerRequest req, ServerResponse res) {
        boolean nodeRead = Callers.of(req, acl).allows(Right.nodeRead());
        ConsulQuery q = query(req);
        long index = awaitNode(q);
        ArrayNode body = Json.MAPPER.createArrayNode();
        Callers.markFiltered(res, !nodeRead);
        if (nodeRead && q.matchesNodeMeta(views.nodeMeta())) {
            views.node(body.addObject());
        }
        sendRead(res, q, index, body);
    }

    private void catalogNode(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        String nodeName = pathParam(req, "node");
        long index = awaitNode(q);
        if (!nodeName.equals(views.node()) || !caller.allows(Right.nodeRead())) {
            // Consul answers an unknown node with 200 and a JSON null.
            sendRead(res, q, index, Json.MAPPER.nullNode());
            return;
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        views.node(body.putObject("Node"));
        ObjectNode services = body.putObject("Services");
        TreeMap<String, ObjectNode> byId = new TreeMap<>();
        boolean filtered = false;
        for (ServiceSnapshot snapshot : registry.services()) {
            if (!caller.canReadService(snapshot.name())) {
                filtered |= !snapshot.isEmpty();
                continue;
            }
            for (Instance instance : snapshot.instances()) {
                byId.put(instance.id(), views.nodeService(instance));
            }
        }
        Callers.markFiltered(res, filtered);
        byId.forEach(services::set);
        sendRead(res, q, index, body);
    }

    private void catalogDatacenters(ServerRequest req, ServerResponse res) {
        ArrayNode body = Json.MAPPER.createArrayNode().add(settings.site());
        sendRead(res, null, registry.index(), body);
    }

    // ---------------------------------------------------------------- health

    private void healthService(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        boolean passingOnly = ConsulQuery.passing(req.query());
        String name = pathParam(req, "name");
        ServiceRead read = readService(name, q, caller, res);
        ArrayNode body = Json.MAPPER.createArrayNode();
        if (q.matchesNodeMeta(views.nodeMeta())) {
            for (Instance instance : read.instances()) {
                // Consul drops an entry when any of its checks, node checks included, is not passing.
                if (q.matchesTags(instance.spec().tags()) && (!passingOnly || instance.health() == Health.PASSING)) {
                    body.add(views.serviceEntry(instance));
                }
            }
        }
        sendRead(res, q, read.index(), body);
    }

    private void healthChecks(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        String name = pathParam(req, "name");
        ServiceRead read = readService(name, q, caller, res);
        ArrayNode body = Json.MAPPER.createArrayNode();
        if (q.matchesNodeMeta(views.nodeMeta())) {
            for (Instance instance : read.instances()) {
                views.checks(instance, body::add);
            }
        }
        sendRead(res, q, read.index(), body);
    }

    private void healthState(ServerRequest req, ServerResponse res) {
        String state = pathParam(req, "state");
        if (!STATES.contains(state)) {
            throw ApiException.bad(
                    "state",
                    "check-state",
                    "invalid check state (value=" + InstanceValidator.shorten(state)
                            + "), expected any, passing, warning or critical");
        }
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        long index = awaitNode(q);
        ArrayNode body = Json.MAPPER.createArrayNode();
        if (q.matchesNodeMeta(views.nodeMeta())) {
            Callers.markFiltered(res, addNodeChecks(body, state, caller));
        }
        sendRead(res, q, index, body);
    }

    private void healthNode(ServerRequest req, ServerResponse res) {
        Authorizer caller = Callers.of(req, acl);
        ConsulQuery q = query(req);
        String nodeName = pathParam(req, "node");
        long index = awaitNode(q);
        ArrayNode body = Json.MAPPER.createArrayNode();
        if (nodeName.equals(views.node())) {
            Callers.markFiltered(res, addNodeChecks(body, "any", caller));
        }
        sendRead(res, q, index, body);
    }

    /**
     * The node's checks, its own first, then every instance's by service name, in a state or "any",
     * as far as the caller may read them (node read for the node's own, service read for the
     * instances'). Answers whether the caller's rights left something out.
     */
    private boolean addNodeChecks(ArrayNode out, String state, Authorizer caller) {
        boolean filtered = false;
        ObjectNode serf = views.serfHealth();
        if (state.equals("any") || state.equals(ConsulViews.status(serf))) {
            if (caller.allows(Right.nodeRead())) {
                out.add(serf);
            } else {
                filtered = true;
            }
        }
        List<ServiceSnapshot> snapshots = new ArrayList<>(registry.services());
        snapshots.sort(Comparator.comparing(ServiceSnapshot::name));
        for (ServiceSnapshot snapshot : snapshots) {
            if (!caller.canReadService(snapshot.name())) {
                filtered |= !snapshot.isEmpty();
                continue;
            }
            for (Instance instance : snapshot.instances()) {
                views.checks(instance, check -> {
                    if (state.equals("any") || state.equals(ConsulViews.status(check))) {
                        out.add(check);
                    }
                });
            }
        }
        return filtered;
    }

    // ---------------------------------------------------------------- status

    private void statusLeader(ServerRequest req, ServerResponse res) {
        sendRead(res, null, registry.index(), Json.MAPPER.getNodeFactory().textNode(views.leaderAddress()));
    }

    private void statusPeers(ServerRequest req, ServerResponse res) {
        sendRead(res, null, registry.index(), Json.MAPPER.createArrayNode().add(views.leaderAddress()));
    }

    // ---------------------------------------------------------------- blocking and answers

    /** One service's instances and the index they were read at. */
    private record ServiceRead(long index, List<Instance> instances) {}

    /**
     * Reads one service, first waiting as a blocking query asks. The index is read before the
     * snapshot, so when no snapshot exists the index is the one that goes with the empty answer:
     * a service's snapshot, once published, is never removed, only replaced.
     */
    private ServiceRead readService(String name, ConsulQuery q, Authorizer caller, ServerResponse res) {
        if (q.blocking()) {
            try {
                registry.awaitService(name, q.index(), settings.blockingWaitMillis(q.waitMillis()));
            } catch (InterruptedException e) {
                throw interrupted();
            }
        }
        long index = registry.serviceIndex(name);
        ServiceSnapshot snapshot = registry.service(name);
        if (snapshot == null) {
            return new ServiceRead(index, List.of());
        }
        if (!caller.canReadService(name)) {
            // Filtered, not refused: the empty list, and the mark that rights left something out.
            Callers.markFiltered(res, !snapshot.isEmpty());
            return new ServiceRead(snapshot.index(), List.of());
        }
        return new ServiceRead(snapshot.index(), snapshot.instances());
    }

    /**
     * Waits as a blocking query on a node-wide list asks, then answers the registry index. The
     * index is read before the list is built, so the list is at least that fresh and a watcher
     * passing it back cannot miss a change published meanwhile.
     */
    private long awaitNode(ConsulQuery q) {
        if (q.blocking()) {
            try {
                registry.awaitChange(q.index(), settings.blockingWaitMillis(q.waitMillis()), registry::index);
            } catch (InterruptedException e) {
                throw interrupted();
            }
        }
        return registry.index();
    }

    /**
     * Blocks on one agent service: by {@code index} against its modify index, or by {@code hash}
     * (Consul's agent blocking) while its content hash is unchanged. Its deregistration wakes it.
     */
    private void awaitInstance(String id, ConsulQuery q) {
        long waitMillis = settings.blockingWaitMillis(q.waitMillis());
        long deadline = System.nanoTime() + waitMillis * 1_000_000L;
        try {
            if (q.hash() == null) {
                registry.awaitChange(q.index(), waitMillis, () -> instanceIndex(id));
                return;
            }
            while (true) {
                Instance instance = registry.instance(id);
                if (instance == null || !q.hash().equals(contentHash(views.agentService(instance)))) {
                    return;
                }
                long remainingMillis = (deadline - System.nanoTime()) / 1_000_000L;
                if (remainingMillis <= 0) {
                    return;
                }
                registry.awaitChange(instance.modifyIndex(), remainingMillis, () -> instanceIndex(id));
            }
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    /** The instance's modify index, or -1 once it is gone (a change for a watcher). */
    private long instanceIndex(String id) {
        Instance instance = registry.instance(id);
        return instance == null ? -1 : instance.modifyIndex();
    }

    /** A stable hash of an agent service's definition (FNV-1a 64 of its JSON), as 16 hex digits. */
    private static String contentHash(JsonNode service) {
        byte[] bytes;
        try {
            bytes = Json.MAPPER.writeValueAsBytes(service);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode service", e);
        }
        long hash = 0xcbf29ce484222325L;
        for (byte b : bytes) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return String.format("%016x", hash);
    }

    private ConsulQuery query(ServerRequest req) {
        return ConsulQuery.parse(req.query(), settings.site());
    }

    /** Sends a read with Consul's headers; {@code q} null for reads that take no query options. */
    private static void sendRead(ServerResponse res, ConsulQuery q, long index, JsonNode body) {
        res.header(INDEX, Long.toString(Math.max(1, index)));
        res.header(KNOWN_LEADER, "true");
        res.header(LAST_CONTACT, "0");
        res.header(EFFECTIVE_CONSISTENCY, q == null ? "leader" : q.consistency());
        Json.send(res, Status.OK_200, body);
    }

    private static String pathParam(ServerRequest req, String name) {
        return req.path().pathParameters().get(name);
    }

    private static ApiException interrupted() {
        Thread.currentThread().interrupt();
        return new ApiException(503, "", "interrupted", "interrupted while waiting; retry");
    }
}
