package io.edgegate.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.edgegate.bridge.CloudLink;
import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.Topics;
import io.edgegate.listener.Requests;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The native REST API on {@code cloudsync.port}: the fleet view with filters and blocking queries
 * ({@code ?index=&wait=}, header {@code X-Edgegate-Index}), a server-sent-event watch, and
 * configuration push. Handlers run on virtual threads and may block.
 */
final class FleetApi implements HttpService {
    private final Fleet fleet;
    /** The link, once started (the listeners start first: a replica's replay does not share the CPU with its start-up). */
    private final java.util.function.Supplier<CloudLink> links;

    private final CloudSyncConfig config;
    private final AclStore acl;

    FleetApi(Fleet fleet, java.util.function.Supplier<CloudLink> links, CloudSyncConfig config, AclStore acl) {
        this.fleet = fleet;
        this.links = links;
        this.config = config;
        this.acl = acl;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/v1/sites", this::sites)
                .get("/v1/sites/{site}/nodes", this::nodes)
                .get("/v1/services", this::services)
                .get("/v1/services/{service}", this::service)
                .get("/v1/models", this::models)
                .get("/v1/watch", this::watch)
                .get("/v1/stats", this::stats)
                .get("/health", this::health)
                .get("/livez", (req, res) -> Http.send(res, Status.OK_200, Map.of("status", "live")))
                .get("/readyz", (req, res) -> Http.send(res, Status.OK_200, Map.of("status", "ready")))
                .get(
                        "/v1/acl/token/self",
                        (req, res) -> Http.send(res, Status.OK_200, tokenSelf(Requests.caller(req, acl))))
                .put("/v1/config/{site}/{kind}/{name}", this::pushConfig)
                .put("/v1/config/{site}/{node}/{kind}/{name}", this::pushConfig)
                .delete("/v1/config/{site}/{kind}/{name}", this::removeConfig)
                .delete("/v1/config/{site}/{node}/{kind}/{name}", this::removeConfig)
                .post("/v1/resync/{site}/{node}", this::resync);
    }

    private FleetView view(ServerRequest req, ServerResponse res) throws InterruptedException {
        FleetView v = Http.blockingView(req, fleet, config);
        res.header(Http.EDGEGATE_INDEX, Long.toString(Math.max(1, v.index())));
        return v;
    }

    private void sites(ServerRequest req, ServerResponse res) throws Exception {
        Requests.caller(req, acl).require(Right.nodeRead());
        FleetView v = view(req, res);
        List<Map<String, Object>> out = new ArrayList<>();
        for (String site : v.siteNames()) {
            List<FleetView.NodeView> nodes = v.nodes(site);
            int online = 0;
            long instances = 0;
            for (FleetView.NodeView n : nodes) {
                online += n.online() ? 1 : 0;
                instances += n.instances();
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("site", site);
            m.put("nodes", nodes.size());
            m.put("online", online);
            m.put("instances", instances);
            out.add(m);
        }
        Http.send(res, Status.OK_200, out);
    }

    private void nodes(ServerRequest req, ServerResponse res) throws Exception {
        Requests.caller(req, acl).require(Right.nodeRead());
        FleetView v = view(req, res);
        String site = req.path().pathParameters().get("site");
        if (!v.hasSite(site)) {
            Http.error(res, Status.NOT_FOUND_404, "unknown site: site=" + site);
            return;
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (FleetView.NodeView n : v.nodes(site)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", n.node());
            m.put("online", n.online());
            m.put("offlineSince", n.offlineSince());
            m.put("lastSeen", n.lastSeen());
            m.put("epoch", n.epoch());
            m.put("index", n.index());
            m.put("address", n.address());
            m.put("instances", n.instances());
            out.add(m);
        }
        Http.send(res, Status.OK_200, out);
    }

    private void services(ServerRequest req, ServerResponse res) throws Exception {
        Authorizer caller = Requests.caller(req, acl);
        FleetView v = view(req, res);
        Map<String, int[]> counts = new TreeMap<>();
        boolean[] filtered = {false};
        // every instance is walked, none is copied: this answer may cover the whole fleet
        v.forEachRecord(Http.param(req, "site"), Http.param(req, "node"), (owner, r) -> {
            if (!caller.canReadService(r.service)) {
                filtered[0] = true;
                return;
            }
            boolean stale = FleetView.stale(owner);
            int[] c = counts.computeIfAbsent(r.service, k -> new int[3]);
            c[0]++;
            c[1] += !stale && r.health() == io.edgegate.bridge.SyncHealth.PASSING ? 1 : 0;
            c[2] += stale ? 1 : 0;
        });
        List<Map<String, Object>> out = new ArrayList<>();
        counts.forEach((svc, c) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("service", svc);
            m.put("instances", c[0]);
            m.put("passing", c[1]);
            m.put("stale", c[2]);
            out.add(m);
        });
        Requests.markFiltered(res, filtered[0]);
        Http.send(res, Status.OK_200, out);
    }

    /**
     * The metadata keys that name what an instance serves: what it registered ({@code model}, the
     * comma-separated {@code models}) and what its gateway read from the engine's {@code /v1/models}
     * ({@code engine-models}; {@code engine-adapters}, its LoRA adapters). As the gateway's model
     * routing reads them.
     */
    static final List<String> MODEL_KEYS = List.of("model", "models", "engine-models", "engine-adapters");

    /**
     * {@code GET /v1/models[?site=&node=]}: per site, every model and adapter its instances serve
     * (from their metadata, {@link #MODEL_KEYS}), with the nodes and services that serve it and how
     * many instances, passing and not stale; sorted by site, then name. Instances of services the
     * token may not read are left out (and the answer marked filtered), as in {@code /v1/services}.
     */
    private void models(ServerRequest req, ServerResponse res) throws Exception {
        Authorizer caller = Requests.caller(req, acl);
        FleetView v = view(req, res);
        // site -> name -> entry; every instance is walked, none is copied
        Map<String, Map<String, Served>> sites = new TreeMap<>();
        boolean[] filtered = {false};
        v.forEachRecord(Http.param(req, "site"), Http.param(req, "node"), (owner, r) -> {
            if (!caller.canReadService(r.service)) {
                filtered[0] = true;
                return;
            }
            boolean passing = !FleetView.stale(owner) && r.health() == io.edgegate.bridge.SyncHealth.PASSING;
            for (String key : MODEL_KEYS) {
                String value = r.meta.get(key);
                if (value == null) {
                    continue;
                }
                // "model" names one model whole; the others are comma-separated lists.
                for (String name : key.equals("model") ? new String[] {value} : value.split(",")) {
                    String id = name.strip();
                    if (id.isEmpty()) {
                        continue;
                    }
                    Served s = sites.computeIfAbsent(owner.site(), k -> new TreeMap<>())
                            .computeIfAbsent(id, k -> new Served());
                    s.adapter |= key.equals("engine-adapters");
                    if (s.instances.add(owner.node() + "/" + r.id)) {
                        s.passing += passing ? 1 : 0;
                    }
                    s.nodes.add(owner.node());
                    s.services.add(r.service);
                }
            }
        });
        List<Map<String, Object>> out = new ArrayList<>();
        sites.forEach((site, names) -> names.forEach((name, s) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("site", site);
            m.put("model", name);
            m.put("adapter", s.adapter);
            m.put("instances", s.instances.size());
            m.put("passing", s.passing);
            m.put("nodes", s.nodes);
            m.put("services", s.services);
            out.add(m);
        }));
        Requests.markFiltered(res, filtered[0]);
        Http.send(res, Status.OK_200, out);
    }

    /** One model or adapter of one site, while {@link #models} groups (its request's thread only). */
    private static final class Served {
        /** node/id: an instance is counted once, whichever keys name the model. */
        final Set<String> instances = new HashSet<>();

        final SortedSet<String> nodes = new TreeSet<>();
        final SortedSet<String> services = new TreeSet<>();
        int passing;
        boolean adapter;
    }

    private void service(ServerRequest req, ServerResponse res) throws Exception {
        Authorizer caller = Requests.caller(req, acl);
        FleetView v = view(req, res);
        String name = req.path().pathParameters().get("service");
        if (!caller.canReadService(name)) {
            // Filtered, not refused, as Consul does.
            Requests.markFiltered(res, !v.instances(name, null, null).isEmpty());
            Http.send(res, Status.OK_200, List.of());
            return;
        }
        String health = Http.param(req, "health");
        String tag = Http.param(req, "tag");
        String stale = Http.param(req, "stale");
        List<Map<String, Object>> out = new ArrayList<>();
        for (FleetView.InstanceView i : v.instances(name, Http.param(req, "site"), Http.param(req, "node"))) {
            if (health != null && !health.equals(i.state().health().wireName())) {
                continue;
            }
            if (tag != null && !i.state().tags().contains(tag)) {
                continue;
            }
            if (stale != null && Boolean.parseBoolean(stale) != i.stale()) {
                continue;
            }
            out.add(instance(i));
        }
        Http.send(res, Status.OK_200, out);
    }

    /** The caller's token in Consul's shape ({@code GET /v1/acl/token/self}); never its secret. */
    static Map<String, Object> tokenSelf(Authorizer caller) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("AccessorID", caller.accessorId());
        out.put("Description", caller.description());
        List<Map<String, String>> policies = new ArrayList<>();
        for (String name : caller.policies()) {
            policies.add(Map.of("Name", name));
        }
        out.put("Policies", policies);
        out.put("Local", true);
        return out;
    }

    static Map<String, Object> instance(FleetView.InstanceView i) {
        InstanceState s = i.state();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("site", i.site());
        m.put("node", i.node());
        m.put("service", s.service());
        m.put("id", s.id());
        m.put("address", s.address());
        m.put("port", s.port());
        m.put("tags", s.tags());
        m.put("meta", s.meta());
        m.put("health", s.health().wireName());
        m.put("stale", i.stale());
        m.put("lastSeen", i.lastSeen());
        m.put("epoch", s.epoch());
        m.put("index", s.index());
        m.put("modifyIndex", i.modifyIndex());
        return m;
    }

    /**
     * {@code GET /v1/watch?index=N}: server-sent events, one {@code fleet} event with the new
     * index whenever the fleet changes after N, a comment every 15 s; ends after the maximum
     * wait (the client reconnects with the last index).
     */
    private void watch(ServerRequest req, ServerResponse res) throws Exception {
        Requests.caller(req, acl).require(Right.nodeRead());
        String indexText = Http.param(req, "index");
        long index = indexText == null ? -1 : Long.parseLong(indexText.trim());
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.maxWaitMillis());
        try (OutputStream out = res.outputStream()) {
            while (System.nanoTime() < deadline) {
                FleetView v = fleet.awaitChange(index, 15_000);
                if (v.index() > index) {
                    index = v.index();
                    out.write(("event: fleet\nid: " + index + "\ndata: {\"index\":" + index + "}\n\n")
                            .getBytes(StandardCharsets.UTF_8));
                } else {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                }
                out.flush();
            }
        }
    }

    private void stats(ServerRequest req, ServerResponse res) {
        Requests.caller(req, acl).require(Right.agentRead());
        CloudLink link = links.get();
        Map<String, Object> out = new LinkedHashMap<>(fleet.stats());
        out.put("mqttConnected", link != null && link.connected());
        if (link != null) {
            out.put("mqttConnectedSince", link.link().connectedSinceMillis());
            out.put("mqttRejected", link.rejected());
            out.put("mqtt", link.link().counters().toString());
        }
        Http.send(res, Status.OK_200, out);
    }

    private void health(ServerRequest req, ServerResponse res) {
        CloudLink link = links.get();
        boolean up = link != null && link.connected();
        Http.send(res, up ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503, Map.of("mqttConnected", up));
    }

    private void pushConfig(ServerRequest req, ServerResponse res) throws Exception {
        Requests.caller(req, acl).require(Right.operatorWrite());
        var p = req.path().pathParameters();
        String site = p.get("site");
        String node = p.contains("node") ? p.get("node") : null;
        String kind = p.get("kind");
        String name = p.get("name");
        if (!levels(res, site, node, kind, name)) {
            return;
        }
        JsonNode body;
        try {
            body = Http.MAPPER.readTree(req.content().as(byte[].class));
        } catch (Exception e) {
            Http.error(res, Status.BAD_REQUEST_400, "body is not JSON");
            return;
        }
        if (body == null || !body.isObject()) {
            Http.error(res, Status.BAD_REQUEST_400, "body must be a JSON object");
            return;
        }
        long now = System.currentTimeMillis();
        ConfigPush push = new ConfigPush(kind, name, now, now, body);
        send(res, completion -> links.get().pushConfig(site, node, push, completion), Map.of("version", now));
    }

    private void removeConfig(ServerRequest req, ServerResponse res) throws Exception {
        Requests.caller(req, acl).require(Right.operatorWrite());
        var p = req.path().pathParameters();
        String site = p.get("site");
        String node = p.contains("node") ? p.get("node") : null;
        if (!levels(res, site, node, p.get("kind"), p.get("name"))) {
            return;
        }
        send(
                res,
                completion -> links.get().removeConfig(site, node, p.get("kind"), p.get("name"), completion),
                Map.of());
    }

    private void resync(ServerRequest req, ServerResponse res) throws Exception {
        Requests.caller(req, acl).require(Right.operatorWrite());
        var p = req.path().pathParameters();
        if (!levels(res, p.get("site"), p.get("node"), "x", "x")) {
            return;
        }
        ResyncCommand c = new ResyncCommand("operator", 0, System.currentTimeMillis());
        send(res, completion -> links.get().requestResync(p.get("site"), p.get("node"), c, completion), Map.of());
    }

    private boolean levels(ServerResponse res, String site, String node, String kind, String name) {
        for (String level : new String[] {site, kind, name}) {
            if (!Topics.validLevel(level)) {
                Http.error(res, Status.BAD_REQUEST_400, "invalid path level: " + level);
                return false;
            }
        }
        if (node != null && (!Topics.validLevel(node) || node.equals(Topics.CONFIG))) {
            Http.error(res, Status.BAD_REQUEST_400, "invalid node: node=" + node);
            return false;
        }
        return true;
    }

    /** Publishes and waits up to 5 s for the broker's acknowledgement: 200, or 503 saying why. */
    private void send(
            ServerResponse res,
            java.util.function.Function<MqttLink.Completion, MqttLink.Send> publish,
            Map<String, Object> extra)
            throws InterruptedException {
        if (links.get() == null) {
            Http.error(res, Status.SERVICE_UNAVAILABLE_503, "no broker configured");
            return;
        }
        CountDownLatch done = new CountDownLatch(1);
        AtomicBoolean acked = new AtomicBoolean();
        MqttLink.Send sent = publish.apply(ok -> {
            acked.set(ok);
            done.countDown();
        });
        if (sent != MqttLink.Send.SENT) {
            Http.error(res, Status.SERVICE_UNAVAILABLE_503, "broker: " + sent);
            return;
        }
        if (!done.await(5, TimeUnit.SECONDS) || !acked.get()) {
            Http.error(res, Status.SERVICE_UNAVAILABLE_503, "broker did not acknowledge");
            return;
        }
        Map<String, Object> out = new LinkedHashMap<>(extra);
        out.put("acknowledged", true);
        Http.send(res, Status.OK_200, out);
    }
}
