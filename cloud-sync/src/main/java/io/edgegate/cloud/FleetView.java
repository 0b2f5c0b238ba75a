package io.edgegate.cloud;

import io.edgegate.bridge.InstanceState;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * One immutable snapshot of the fleet: site, node, instance. Readers take it with one volatile
 * read ({@link Fleet#view()}); the applier replaces it after each batch.
 *
 * @param index this replica's change counter: rises with every change the view shows
 * @param sites by name
 */
public record FleetView(long index, SortedMap<String, SiteView> sites) {

    /** One site (a Consul datacenter). */
    public record SiteView(String site, SortedMap<String, NodeView> nodes) {}

    /**
     * One edge node.
     *
     * @param online from its retained status; false when it has none yet
     * @param offlineSince epoch millis it went offline (0 while online)
     * @param lastSeen epoch millis (this replica's clock) of its last message
     * @param epoch its epoch, from its newest status
     * @param index the highest index applied from it
     * @param address its advertised address
     * @param instances by id
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
            SortedMap<String, InstanceView> instances) {}

    /**
     * One instance as the fleet holds it.
     *
     * @param stale its node is offline: the state is the last one seen
     * @param lastSeen epoch millis (this replica's clock) its state last arrived or was confirmed
     * @param createIndex fleet index it appeared at
     * @param modifyIndex fleet index of its last change
     */
    public record InstanceView(
            String site,
            String node,
            InstanceState state,
            boolean stale,
            long lastSeen,
            long createIndex,
            long modifyIndex) {}

    /** Every instance matching the filters (null or empty: any). */
    public List<InstanceView> instances(String service, String site, String node) {
        java.util.ArrayList<InstanceView> out = new java.util.ArrayList<>();
        for (SiteView s : sites.values()) {
            if (site != null && !site.isEmpty() && !site.equals(s.site())) {
                continue;
            }
            for (NodeView n : s.nodes().values()) {
                if (node != null && !node.isEmpty() && !node.equals(n.node())) {
                    continue;
                }
                for (InstanceView i : n.instances().values()) {
                    if (service == null || service.equals(i.state().service())) {
                        out.add(i);
                    }
                }
            }
        }
        return out;
    }

    /** A map view helper: node views of a site, empty when unknown. */
    public Map<String, NodeView> nodes(String site) {
        SiteView s = sites.get(site);
        return s == null ? Map.of() : s.nodes();
    }
}
