package io.edgegate.cloud;

import io.edgegate.bridge.InstanceState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;

/**
 * One reader's view of the fleet: site, node, instance. {@link Fleet#view()} makes one per request;
 * it reads the fleet's live structures as it goes (nothing is copied to make it).
 *
 * <p>What a reader gets (the consistency a request sees):
 * <ul>
 *   <li>{@link #index()} is a lower bound: everything the applier published up to that index is
 *       shown, and changes of the batch being applied may show too. A blocking query that passes
 *       the index it was given back never misses a change: one shown early has moved the index
 *       past it by the time it asks again, and it returns at once.
 *   <li>Each instance is one consistent state (records are replaced, never changed in place).
 *   <li>Each node's status (online, offline since, epoch, index, address) is read once per view
 *       and cached in it: every instance of a node in one answer has the same staleness.
 *   <li>Across nodes, and within a node while a batch is applied, the answer may mix states from
 *       either side of that batch: the view is not one snapshot of the whole fleet.
 * </ul>
 *
 * <p>Threads: not thread-safe; one per request, on the request's thread.
 */
public final class FleetView {

    /**
     * One edge node, as this view read it.
     *
     * @param online from its retained status; false when it has none yet
     * @param offlineSince epoch millis it went offline (0 while online)
     * @param lastSeen epoch millis (this replica's clock) of its last message
     * @param epoch its epoch, from its newest message
     * @param index the highest index applied from it
     * @param address its advertised address
     * @param instances how many instances it holds
     */
    public record NodeView(
            String site,
            String node,
            boolean online,
            long offlineSince,
            long lastSeen,
            long epoch,
            long index,
            String address,
            int instances) {}

    /**
     * One instance as the fleet holds it.
     *
     * @param owner its node, as this view read it
     * @param state its newest state (timestamp 0: not kept)
     * @param stale its node is offline: the state is the last one seen
     * @param lastSeen epoch millis (this replica's clock) its state last arrived or was confirmed
     * @param createIndex fleet version it appeared at
     * @param modifyIndex fleet version of its last change
     */
    public record InstanceView(
            NodeView owner, InstanceState state, boolean stale, long lastSeen, long createIndex, long modifyIndex) {
        public String site() {
            return owner.site();
        }

        public String node() {
            return owner.node();
        }
    }

    private static final Comparator<InstanceRecord> BY_ID = Comparator.comparing(r -> r.id);

    private final long index;
    private final ConcurrentSkipListMap<String, ConcurrentSkipListMap<String, FleetNode>> sites;
    private final Map<FleetNode, NodeView> read = new IdentityHashMap<>();

    FleetView(long index, ConcurrentSkipListMap<String, ConcurrentSkipListMap<String, FleetNode>> sites) {
        this.index = index;
        this.sites = sites;
    }

    /** The fleet index this view was taken at (Consul's {@code X-Consul-Index}): a lower bound of what it shows. */
    public long index() {
        return index;
    }

    /** Site names, sorted. */
    public List<String> siteNames() {
        return new ArrayList<>(sites.keySet());
    }

    public boolean hasSite(String site) {
        return sites.containsKey(site);
    }

    /** The nodes of a site (every site when {@code site} is null or empty), sorted by site and name. */
    public List<NodeView> nodes(String site) {
        List<NodeView> out = new ArrayList<>();
        for (FleetNode n : fleetNodes(site, null)) {
            out.add(node(n));
        }
        return out;
    }

    /** Every instance matching the filters (null or empty: any), sorted by site, node and id. */
    public List<InstanceView> instances(String service, String site, String node) {
        List<InstanceView> out = new ArrayList<>();
        List<InstanceRecord> ofNode = new ArrayList<>();
        for (FleetNode n : fleetNodes(site, node)) {
            for (InstanceRecord r : n.instances.values()) {
                if (service == null || service.equals(r.service)) {
                    ofNode.add(r);
                }
            }
            if (!ofNode.isEmpty()) {
                ofNode.sort(BY_ID);
                NodeView owner = node(n);
                for (InstanceRecord r : ofNode) {
                    out.add(instance(owner, r));
                }
                ofNode.clear();
            }
        }
        return out;
    }

    /**
     * Visits every instance of the filtered sites and nodes, unsorted and without making views:
     * for answers that count or group (a fleet of a million instances is walked, not copied).
     */
    void forEachRecord(String site, String node, BiConsumer<NodeView, InstanceRecord> visitor) {
        for (FleetNode n : fleetNodes(site, node)) {
            NodeView owner = node(n);
            for (InstanceRecord r : n.instances.values()) {
                visitor.accept(owner, r);
            }
        }
    }

    /** Whether an instance of this node is stale: its node is offline (or has no status yet). */
    static boolean stale(NodeView owner) {
        return !owner.online();
    }

    static InstanceView instance(NodeView owner, InstanceRecord r) {
        boolean online = owner.online();
        long lastSeen = online ? owner.lastSeen() : (owner.offlineSince() > 0 ? owner.offlineSince() : r.lastSeen);
        return new InstanceView(owner, r.state(), !online, lastSeen, r.createIndex, r.modifyIndex());
    }

    private List<FleetNode> fleetNodes(String site, String node) {
        List<FleetNode> out = new ArrayList<>();
        if (site != null && !site.isEmpty()) {
            ConcurrentSkipListMap<String, FleetNode> nodes = sites.get(site);
            if (nodes != null) {
                addNodes(nodes, node, out);
            }
            return out;
        }
        for (ConcurrentSkipListMap<String, FleetNode> nodes : sites.values()) {
            addNodes(nodes, node, out);
        }
        return out;
    }

    private static void addNodes(ConcurrentSkipListMap<String, FleetNode> nodes, String node, List<FleetNode> out) {
        if (node != null && !node.isEmpty()) {
            FleetNode n = nodes.get(node);
            if (n != null) {
                out.add(n);
            }
        } else {
            out.addAll(nodes.values());
        }
    }

    /** The node as this view reads it: its head taken once, then the same for the rest of the view. */
    private NodeView node(FleetNode n) {
        NodeView v = read.get(n);
        if (v == null) {
            FleetNode.Head h = n.head;
            v = new NodeView(
                    n.site,
                    n.node,
                    h.online(),
                    h.offlineSince(),
                    n.lastSeen,
                    h.epoch(),
                    h.index(),
                    h.address(),
                    n.instances.size());
            read.put(n, v);
        }
        return v;
    }
}
