package io.edgegate.gateway.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.CheckState;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Renders registry state as Consul's JSON: field names, types and defaults exactly as Consul
 * writes them (lists are {@code []}, maps {@code {}}, never null), so clients that decode into
 * strict types (consul-client's immutables, Go's api package) read them unchanged.
 *
 * <p>The node is this gateway: one Consul node named {@code settings.node()}, in datacenter
 * {@code settings.site()}, whose always-passing {@code serfHealth} check is listed wherever
 * Consul lists node checks. An instance in maintenance carries Consul's
 * {@code _service_maintenance:<ID>} check (critical, notes = reason) wherever its checks are
 * listed. Builds new nodes on every call; thread-safe.
 */
final class ConsulViews {
    /** The Consul version whose API this subset follows, answered by {@code /v1/agent/self}. */
    static final String CONSUL_VERSION = "1.17.0";

    static final String SERF_CHECK_ID = "serfHealth";
    static final String MAINTENANCE_CHECK_PREFIX = "_service_maintenance:";
    static final String MAINTENANCE_CHECK_NAME = "Service Maintenance Mode";
    /** Consul's server RPC port, used for the leader and peer addresses. */
    static final int SERVER_PORT = 8300;
    /** Consul's LAN gossip port, answered as the member port. */
    static final int SERF_LAN_PORT = 8301;

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    /** Node create/modify index: the node exists from the start and never changes. */
    private static final long NODE_INDEX = 1;

    private final String node;
    private final String nodeId;
    private final String site;
    private final String nodeAddress;
    private final Map<String, String> nodeMeta;

    ConsulViews(ApiSettings settings) {
        this.node = settings.node();
        this.site = settings.site();
        this.nodeAddress = settings.advertiseAddress() == null
                        || settings.advertiseAddress().isEmpty()
                ? "127.0.0.1"
                : settings.advertiseAddress();
        this.nodeId = UUID.nameUUIDFromBytes(("edgegate-node:" + node).getBytes(StandardCharsets.UTF_8))
                .toString();
        this.nodeMeta = Map.of("consul-network-segment", "");
    }

    String node() {
        return node;
    }

    Map<String, String> nodeMeta() {
        return nodeMeta;
    }

    String leaderAddress() {
        return (nodeAddress.indexOf(':') >= 0 ? "[" + nodeAddress + "]" : nodeAddress) + ":" + SERVER_PORT;
    }

    // ---------------------------------------------------------------- node

    /** Consul's {@code Node}: health entries and {@code /v1/catalog/nodes}. */
    ObjectNode node(ObjectNode out) {
        out.put("ID", nodeId);
        out.put("Node", node);
        out.put("Address", nodeAddress);
        out.put("Datacenter", site);
        nodeTaggedAddresses(out.putObject("TaggedAddresses"));
        putStrings(out.putObject("Meta"), nodeMeta);
        out.put("CreateIndex", NODE_INDEX);
        out.put("ModifyIndex", NODE_INDEX);
        return out;
    }

    private void nodeTaggedAddresses(ObjectNode out) {
        out.put("lan", nodeAddress);
        out.put(ipv6(nodeAddress) ? "lan_ipv6" : "lan_ipv4", nodeAddress);
        out.put("wan", nodeAddress);
        out.put(ipv6(nodeAddress) ? "wan_ipv6" : "wan_ipv4", nodeAddress);
    }

    /** The agent's member entry ({@code /v1/agent/self} Member, {@code /v1/agent/members}). */
    ObjectNode member(ObjectNode out) {
        out.put("Name", node);
        out.put("Addr", nodeAddress);
        out.put("Port", SERF_LAN_PORT);
        ObjectNode tags = out.putObject("Tags");
        tags.put("build", CONSUL_VERSION + ":edgegate");
        tags.put("dc", site);
        tags.put("id", nodeId);
        tags.put("role", "node");
        tags.put("segment", "");
        tags.put("vsn", "2");
        tags.put("vsn_max", "3");
        tags.put("vsn_min", "2");
        out.put("Status", 1);
        out.put("ProtocolMin", 1);
        out.put("ProtocolMax", 5);
        out.put("ProtocolCur", 2);
        out.put("DelegateMin", 2);
        out.put("DelegateMax", 5);
        out.put("DelegateCur", 4);
        return out;
    }

    /** {@code /v1/agent/self}: a client agent (Server false) of this datacenter. */
    ObjectNode self() {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ObjectNode config = out.putObject("Config");
        config.put("Datacenter", site);
        config.put("PrimaryDatacenter", site);
        config.put("NodeName", node);
        config.put("NodeID", nodeId);
        config.put("Revision", "edgegate");
        config.put("Server", false);
        config.put("Version", CONSUL_VERSION);
        member(out.putObject("Member"));
        putStrings(out.putObject("Meta"), nodeMeta);
        return out;
    }

    // ---------------------------------------------------------------- services

    /** Consul's {@code AgentService} ({@code /v1/agent/services} values, {@code /v1/agent/service/:id}). */
    ObjectNode agentService(Instance instance) {
        InstanceSpec spec = instance.spec();
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("ID", spec.id());
        out.put("Service", spec.service());
        putList(out.putArray("Tags"), spec.tags());
        putStrings(out.putObject("Meta"), spec.meta());
        out.put("Port", spec.port());
        out.put("Address", spec.address());
        serviceTaggedAddresses(out.putObject("TaggedAddresses"), spec);
        weights(out.putObject("Weights"), spec);
        out.put("EnableTagOverride", false);
        out.put("Datacenter", site);
        return out;
    }

    /** Consul's {@code Service} of a health entry or catalog node, with its indexes. */
    ObjectNode nodeService(Instance instance) {
        InstanceSpec spec = instance.spec();
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("ID", spec.id());
        out.put("Service", spec.service());
        putList(out.putArray("Tags"), spec.tags());
        out.put("Address", spec.address());
        serviceTaggedAddresses(out.putObject("TaggedAddresses"), spec);
        putStrings(out.putObject("Meta"), spec.meta());
        out.put("Port", spec.port());
        weights(out.putObject("Weights"), spec);
        out.put("EnableTagOverride", false);
        out.put("Datacenter", site);
        out.put("CreateIndex", instance.createIndex());
        out.put("ModifyIndex", instance.modifyIndex());
        return out;
    }

    /** Consul's {@code CatalogService} ({@code /v1/catalog/service/:name}). */
    ObjectNode catalogService(Instance instance) {
        InstanceSpec spec = instance.spec();
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("ID", nodeId);
        out.put("Node", node);
        out.put("Address", nodeAddress);
        out.put("Datacenter", site);
        nodeTaggedAddresses(out.putObject("TaggedAddresses"));
        putStrings(out.putObject("NodeMeta"), nodeMeta);
        out.put("ServiceKind", "");
        out.put("ServiceID", spec.id());
        out.put("ServiceName", spec.service());
        putList(out.putArray("ServiceTags"), spec.tags());
        out.put("ServiceAddress", spec.address());
        serviceTaggedAddresses(out.putObject("ServiceTaggedAddresses"), spec);
        weights(out.putObject("ServiceWeights"), spec);
        putStrings(out.putObject("ServiceMeta"), spec.meta());
        out.put("ServicePort", spec.port());
        out.put("ServiceEnableTagOverride", false);
        out.put("CreateIndex", instance.createIndex());
        out.put("ModifyIndex", instance.modifyIndex());
        return out;
    }

    /** Consul's {@code ServiceEntry} ({@code /v1/health/service/:name}): node, service, checks. */
    ObjectNode serviceEntry(Instance instance) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        node(out.putObject("Node"));
        out.set("Service", nodeService(instance));
        ArrayNode checks = out.putArray("Checks");
        checks.add(serfHealth());
        checks(instance, checks::add);
        return out;
    }

    private static void weights(ObjectNode out, InstanceSpec spec) {
        out.put("Passing", spec.weightPassing());
        out.put("Warning", spec.weightWarning());
    }

    /** Consul adds {@code lan_ipv4}/{@code wan_ipv4} (or ipv6) for a service with an IP address. */
    private static void serviceTaggedAddresses(ObjectNode out, InstanceSpec spec) {
        String address = spec.address();
        boolean v6 = ipv6(address);
        if (!v6 && !IPV4.matcher(address).matches()) {
            return;
        }
        String suffix = v6 ? "_ipv6" : "_ipv4";
        out.putObject("lan" + suffix).put("Address", address).put("Port", spec.port());
        out.putObject("wan" + suffix).put("Address", address).put("Port", spec.port());
    }

    private static boolean ipv6(String address) {
        return address.indexOf(':') >= 0;
    }

    // ---------------------------------------------------------------- checks

    /** The node's own check, always passing: this gateway is the agent answering. */
    ObjectNode serfHealth() {
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("Node", node);
        out.put("CheckID", SERF_CHECK_ID);
        out.put("Name", "Serf Health Status");
        out.put("Status", Health.PASSING.wireName());
        out.put("Notes", "");
        out.put("Output", "Agent alive and reachable");
        out.put("ServiceID", "");
        out.put("ServiceName", "");
        out.putArray("ServiceTags");
        out.put("Type", "");
        out.put("Interval", "");
        out.put("Timeout", "");
        out.put("ExposedPort", 0);
        out.putObject("Definition");
        out.put("CreateIndex", NODE_INDEX);
        out.put("ModifyIndex", NODE_INDEX);
        return out;
    }

    /** Each check of the instance as Consul's {@code HealthCheck}, the maintenance check first. */
    void checks(Instance instance, Consumer<ObjectNode> sink) {
        if (instance.inMaintenance()) {
            sink.accept(maintenanceCheck(instance));
        }
        for (CheckState check : instance.checks()) {
            sink.accept(check(instance, check));
        }
    }

    private ObjectNode maintenanceCheck(Instance instance) {
        ObjectNode out = checkHead(
                instance,
                MAINTENANCE_CHECK_PREFIX + instance.id(),
                MAINTENANCE_CHECK_NAME,
                Health.CRITICAL,
                instance.maintenanceReason(),
                "");
        out.put("Type", "");
        out.put("Interval", "");
        out.put("Timeout", "");
        out.put("ExposedPort", 0);
        out.putObject("Definition");
        out.put("CreateIndex", instance.modifyIndex());
        out.put("ModifyIndex", instance.modifyIndex());
        return out;
    }

    private ObjectNode check(Instance instance, CheckState state) {
        CheckSpec spec = state.spec();
        ObjectNode out = checkHead(instance, spec.id(), spec.name(), state.status(), spec.notes(), state.output());
        if (spec.kind() == CheckKind.TTL) {
            out.put("Type", "ttl");
            out.put("Interval", "");
            out.put("Timeout", "");
        } else {
            out.put("Type", consulType(spec.kind()));
            out.put("Interval", goDuration(spec.intervalMillis()));
            out.put("Timeout", goDuration(spec.timeoutMillis()));
        }
        out.put("ExposedPort", 0);
        out.putObject("Definition");
        out.put("CreateIndex", state.createIndex());
        out.put("ModifyIndex", state.modifyIndex());
        return out;
    }

    /** Consul's {@code CheckType.Type()}: an exec check is a {@code script} check there. */
    static String consulType(CheckKind kind) {
        return switch (kind) {
            case HTTP -> "http";
            case TCP -> "tcp";
            case TTL -> "ttl";
            case GRPC -> "grpc";
            case EXEC -> "script";
        };
    }

    private ObjectNode checkHead(
            Instance instance, String id, String name, Health status, String notes, String output) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("Node", node);
        out.put("CheckID", id);
        out.put("Name", name);
        out.put("Status", status.wireName());
        out.put("Notes", notes == null ? "" : notes);
        out.put("Output", output == null ? "" : output);
        out.put("ServiceID", instance.id());
        out.put("ServiceName", instance.service());
        putList(out.putArray("ServiceTags"), instance.spec().tags());
        return out;
    }

    /** Status of a rendered check ({@code Status} field). */
    static String status(ObjectNode check) {
        return check.get("Status").textValue();
    }

    // ---------------------------------------------------------------- helpers

    /** Milliseconds as Go's {@code time.Duration.String()} writes them: 500ms, 1.5s, 2m0s, 1h0m0s. */
    static String goDuration(long millis) {
        if (millis == 0) {
            return "0s";
        }
        if (millis < 1000) {
            return millis + "ms";
        }
        StringBuilder out = new StringBuilder();
        long hours = millis / 3_600_000;
        long minutes = millis / 60_000 % 60;
        long secondMillis = millis % 60_000;
        if (hours > 0) {
            out.append(hours).append('h');
        }
        if (hours > 0 || minutes > 0) {
            out.append(minutes).append('m');
        }
        out.append(secondMillis / 1000);
        long fraction = secondMillis % 1000;
        if (fraction != 0) {
            String digits = String.format("%03d", fraction);
            int end = digits.length();
            while (digits.charAt(end - 1) == '0') {
                end--;
            }
            out.append('.').append(digits, 0, end);
        }
        return out.append('s').toString();
    }

    private static void putList(ArrayNode out, List<String> values) {
        for (String value : values) {
            out.add(value);
        }
    }

    private static void putStrings(ObjectNode out, Map<String, String> values) {
        for (Map.Entry<String, String> e : values.entrySet()) {
            out.put(e.getKey(), e.getValue());
        }
    }
}
