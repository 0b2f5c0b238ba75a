package io.edgegate.cloud;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.listener.Requests;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Consul's read-only catalog and health endpoints over the fleet, on {@code cloudsync.consul-port}:
 * every site is a datacenter, every edge node a Consul node, every instance a service instance,
 * in exactly the JSON shapes the edge gateway's Consul API writes (Consul 1.17). So Prometheus'
 * {@code consul_sd_config} and other Consul clients discover every edge service.
 *
 * <p>{@code ?dc=} selects a site; without it (or empty) every site is answered, and
 * {@code /v1/agent/self} names no datacenter, so a client that asks the agent for its
 * datacenter gets all of them. A node's {@code serfHealth} check is passing while the node is
 * online and critical while it is offline (its instances then are stale), so {@code ?passing}
 * hides stale instances. Reads carry {@code X-Consul-Index} and block with {@code ?index=&wait=}.
 */
final class ConsulCatalog implements HttpService {
    private final Fleet fleet;
    private final CloudSyncConfig config;
    private final AclStore acl;

    ConsulCatalog(Fleet fleet, CloudSyncConfig config, AclStore acl) {
        this.fleet = fleet;
        this.config = config;
        this.acl = acl;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/v1/catalog/datacenters", this::datacenters)
                .get("/v1/catalog/services", this::services)
                .get("/v1/catalog/service/{name}", this::catalogService)
                .get("/v1/catalog/nodes", this::nodes)
                .get("/v1/health/service/{name}", this::healthService)
                .get("/v1/agent/self", this::agentSelf)
                .get(
                        "/v1/acl/token/self",
                        (req, res) -> Http.send(res, Status.OK_200, FleetApi.tokenSelf(Requests.caller(req, acl))))
                .get("/v1/status/leader", (req, res) -> Http.send(res, Status.OK_200, "127.0.0.1:8300"));
    }

    private FleetView view(ServerRequest req, ServerResponse res) throws InterruptedException {
        FleetView v = Http.blockingView(req, fleet, config);
        res.header(Http.CONSUL_INDEX, Long.toString(Math.max(1, v.index())));
        res.header(HeaderNames.create("X-Consul-KnownLeader"), "true");
        res.header(HeaderNames.create("X-Consul-LastContact"), "0");
        return v;
    }

    private static String dc(ServerRequest req) {
        String dc = Http.param(req, "dc");
        return dc == null || dc.isEmpty() ? null : dc;
    }

    private void datacenters(ServerRequest req, ServerResponse res) {
        Http.send(res, Status.OK_200, fleet.view().siteNames());
    }

    private void services(ServerRequest req, ServerResponse res) throws Exception {
        Authorizer caller = Requests.caller(req, acl);
        FleetView v = view(req, res);
        Map<String, TreeSet<String>> out = new TreeMap<>();
        boolean[] filtered = {false};
        v.forEachRecord(dc(req), null, (owner, r) -> {
            if (!caller.canReadService(r.service)) {
                filtered[0] = true;
                return;
            }
            out.computeIfAbsent(r.service, k -> new TreeSet<>()).addAll(r.tags);
        });
        Requests.markFiltered(res, filtered[0]);
        Http.send(res, Status.OK_200, out);
    }

    private void nodes(ServerRequest req, ServerResponse res) throws Exception {
        boolean nodeRead = Requests.caller(req, acl).allows(Right.nodeRead());
        FleetView v = view(req, res);
        ArrayNode out = Http.MAPPER.createArrayNode();
        Requests.markFiltered(res, !nodeRead);
        for (FleetView.NodeView n : nodeRead ? v.nodes(dc(req)) : List.<FleetView.NodeView>of()) {
            node(out.addObject(), n);
        }
        Http.send(res, Status.OK_200, out);
    }

    private void catalogService(ServerRequest req, ServerResponse res) throws Exception {
        FleetView v = view(req, res);
        String tag = Http.param(req, "tag");
        ArrayNode out = Http.MAPPER.createArrayNode();
        for (FleetView.InstanceView i :
                readable(req, res, v, req.path().pathParameters().get("name"))) {
            if (tag != null && !i.state().tags().contains(tag)) {
                continue;
            }
            FleetView.NodeView n = i.owner();
            InstanceState s = i.state();
            ObjectNode o = out.addObject();
            o.put("ID", nodeId(n));
            o.put("Node", n.node());
            o.put("Address", nodeAddress(n));
            o.put("Datacenter", n.site());
            nodeTaggedAddresses(o.putObject("TaggedAddresses"), nodeAddress(n));
            o.putObject("NodeMeta")
                    .put("consul-network-segment", "")
                    .put("edgegate-online", Boolean.toString(n.online()));
            o.put("ServiceKind", "");
            o.put("ServiceID", s.id());
            o.put("ServiceName", s.service());
            strings(o.putArray("ServiceTags"), s);
            o.put("ServiceAddress", s.address());
            o.putObject("ServiceTaggedAddresses");
            o.putObject("ServiceWeights").put("Passing", 1).put("Warning", 1);
            meta(o.putObject("ServiceMeta"), i);
            o.put("ServicePort", s.port());
            o.put("ServiceEnableTagOverride", false);
            o.put("CreateIndex", i.createIndex());
            o.put("ModifyIndex", i.modifyIndex());
        }
        Http.send(res, Status.OK_200, out);
    }

    private void healthService(ServerRequest req, ServerResponse res) throws Exception {
        FleetView v = view(req, res);
        String tag = Http.param(req, "tag");
        boolean passing = req.query().contains("passing") && !"false".equals(Http.param(req, "passing"));
        ArrayNode out = Http.MAPPER.createArrayNode();
        for (FleetView.InstanceView i :
                readable(req, res, v, req.path().pathParameters().get("name"))) {
            if (tag != null && !i.state().tags().contains(tag)) {
                continue;
            }
            if (passing && (i.stale() || i.state().health() != SyncHealth.PASSING)) {
                continue;
            }
            FleetView.NodeView n = i.owner();
            InstanceState s = i.state();
            ObjectNode entry = out.addObject();
            node(entry.putObject("Node"), n);
            ObjectNode svc = entry.putObject("Service");
            svc.put("ID", s.id());
            svc.put("Service", s.service());
            strings(svc.putArray("Tags"), s);
            svc.put("Address", s.address());
            svc.putObject("TaggedAddresses");
            meta(svc.putObject("Meta"), i);
            svc.put("Port", s.port());
            svc.putObject("Weights").put("Passing", 1).put("Warning", 1);
            svc.put("EnableTagOverride", false);
            svc.put("Datacenter", n.site());
            svc.put("CreateIndex", i.createIndex());
            svc.put("ModifyIndex", i.modifyIndex());
            ArrayNode checks = entry.putArray("Checks");
            check(
                    checks.addObject(),
                    n,
                    "serfHealth",
                    "Serf Health Status",
                    n.online() ? "passing" : "critical",
                    n.online() ? "Agent alive and reachable" : "Node offline since " + n.offlineSince(),
                    null,
                    1,
                    1);
            check(
                    checks.addObject(),
                    n,
                    "service:" + s.id(),
                    "Service '" + s.service() + "' check",
                    s.health().wireName(),
                    i.stale() ? "stale: last seen " + i.lastSeen() : "",
                    i,
                    i.modifyIndex(),
                    i.modifyIndex());
        }
        Http.send(res, Status.OK_200, out);
    }

    /**
     * One service's instances in the asked datacenter, or none when the caller may not read the
     * service: filtered, not refused, with Consul's mark when that left something out.
     */
    private List<FleetView.InstanceView> readable(ServerRequest req, ServerResponse res, FleetView v, String service) {
        List<FleetView.InstanceView> instances = v.instances(service, dc(req), null);
        if (Requests.caller(req, acl).canReadService(service)) {
            return instances;
        }
        Requests.markFiltered(res, !instances.isEmpty());
        return List.of();
    }

    private void agentSelf(ServerRequest req, ServerResponse res) {
        Requests.caller(req, acl).require(Right.agentRead());
        ObjectNode out = Http.MAPPER.createObjectNode();
        ObjectNode c = out.putObject("Config");
        c.put("Datacenter", "");
        c.put("PrimaryDatacenter", "");
        c.put("NodeName", "cloud-sync");
        c.put("Revision", "edgegate");
        c.put("Server", false);
        c.put("Version", "1.17.0");
        ObjectNode m = out.putObject("Member");
        m.put("Name", "cloud-sync");
        m.put("Addr", "127.0.0.1");
        m.put("Port", 8301);
        m.putObject("Tags").put("dc", "").put("role", "node");
        m.put("Status", 1);
        out.putObject("Meta");
        Http.send(res, Status.OK_200, out);
    }

    private static void check(
            ObjectNode o,
            FleetView.NodeView n,
            String id,
            String name,
            String status,
            String output,
            FleetView.InstanceView i,
            long create,
            long modify) {
        o.put("Node", n.node());
        o.put("CheckID", id);
        o.put("Name", name);
        o.put("Status", status);
        o.put("Notes", "");
        o.put("Output", output);
        o.put("ServiceID", i == null ? "" : i.state().id());
        o.put("ServiceName", i == null ? "" : i.state().service());
        ArrayNode tags = o.putArray("ServiceTags");
        if (i != null) {
            i.state().tags().forEach(tags::add);
        }
        o.put("Type", i == null ? "" : "ttl");
        o.put("Interval", "");
        o.put("Timeout", "");
        o.put("ExposedPort", 0);
        o.putObject("Definition");
        o.put("CreateIndex", create);
        o.put("ModifyIndex", modify);
    }

    private static void node(ObjectNode o, FleetView.NodeView n) {
        o.put("ID", nodeId(n));
        o.put("Node", n.node());
        o.put("Address", nodeAddress(n));
        o.put("Datacenter", n.site());
        nodeTaggedAddresses(o.putObject("TaggedAddresses"), nodeAddress(n));
        o.putObject("Meta").put("consul-network-segment", "").put("edgegate-online", Boolean.toString(n.online()));
        o.put("CreateIndex", 1);
        o.put("ModifyIndex", 1);
    }

    private static void nodeTaggedAddresses(ObjectNode o, String address) {
        boolean v6 = address.indexOf(':') >= 0;
        o.put("lan", address);
        o.put(v6 ? "lan_ipv6" : "lan_ipv4", address);
        o.put("wan", address);
        o.put(v6 ? "wan_ipv6" : "wan_ipv4", address);
    }

    private static void strings(ArrayNode out, InstanceState s) {
        s.tags().forEach(out::add);
    }

    /** The instance's metadata, plus where it lives and whether it is stale (for relabelling). */
    private static void meta(ObjectNode o, FleetView.InstanceView i) {
        i.state().meta().forEach(o::put);
        o.put("edgegate-site", i.site());
        o.put("edgegate-node", i.node());
        o.put("edgegate-stale", Boolean.toString(i.stale()));
    }

    private static String nodeId(FleetView.NodeView n) {
        return UUID.nameUUIDFromBytes(("edgegate-node:" + n.node()).getBytes(StandardCharsets.UTF_8))
                .toString();
    }

    private static String nodeAddress(FleetView.NodeView n) {
        return n.address().isEmpty() ? "127.0.0.1" : n.address();
    }
}
