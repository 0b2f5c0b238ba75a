package io.edgegate.cloud.metrics;

import io.edgegate.acl.AclStore;
import io.edgegate.bridge.CloudLink;
import io.edgegate.bridge.MqttLink;
import io.edgegate.cloud.Fleet;
import io.edgegate.cloud.FleetView;
import io.edgegate.listener.ListenerGuard;
import io.edgegate.metrics.Metrics;
import io.edgegate.metrics.MetricsEndpoint;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Map;

/**
 * cloud-sync's Prometheus metrics ({@code cloudsync.metrics.enabled}, default on), served at
 * {@code GET /metrics} on the REST port and at Consul's {@code GET /v1/agent/metrics} on the
 * Consul port, both with {@code agent:read} ({@link MetricsEndpoint}).
 *
 * <p>Every metric is a callback read when Prometheus scrapes: the fleet's shape from the view
 * readers see (sites, nodes, stale nodes, instances), the applier's counters and the age of the
 * oldest message waiting for it (the apply lag), the broker link's state and counters, the
 * listeners' guards, the ACL's reloads, the JVM's and the process's metrics. Nothing is recorded
 * on the applier's path. Off, nothing is registered and the endpoint answers 404. Built once at
 * start-up; the registry it fills is thread-safe.
 */
public final class CloudMetrics {
    /** The configuration key that turns metrics on and off. */
    public static final String ENABLED_KEY = "cloudsync.metrics.enabled";

    private final PrometheusRegistry registry;
    private final MetricsEndpoint endpoint;

    private CloudMetrics(PrometheusRegistry registry, AclStore acl) {
        this.registry = registry;
        this.endpoint = new MetricsEndpoint(registry, acl, ENABLED_KEY);
    }

    /** Metrics on (a registry with the JVM's metrics) or off (nothing). */
    public static CloudMetrics create(boolean enabled, AclStore acl) {
        return new CloudMetrics(enabled ? Metrics.registry() : null, acl);
    }

    /** {@code /metrics} and {@code /v1/agent/metrics}. */
    public MetricsEndpoint endpoint() {
        return endpoint;
    }

    /** Binds the replica's parts; does nothing when metrics are off. */
    public void bind(Fleet fleet, CloudLink link, Map<String, ListenerGuard> guards, AclStore acl) {
        if (registry == null) {
            return;
        }
        fleet(fleet);
        link(link.link());
        Metrics.counter(
                registry,
                "edgegate_sync_rejected_total",
                "Malformed or foreign messages received from the broker.",
                link::rejected);
        Metrics.listeners(registry, guards);
        Metrics.acl(registry, acl);
    }

    private void fleet(Fleet fleet) {
        Metrics.gauge(registry, "edgegate_cloud_sites", "Sites in the fleet.", () -> shape(fleet).sites);
        Metrics.gauge(registry, "edgegate_cloud_nodes", "Edge nodes in the fleet.", () -> shape(fleet).nodes);
        Metrics.gauge(
                registry,
                "edgegate_cloud_stale_nodes",
                "Edge nodes offline: their instances are kept and shown stale.",
                () -> shape(fleet).staleNodes);
        Metrics.gauge(
                registry, "edgegate_cloud_instances", "Instances in the fleet, stale ones included.", () -> shape(fleet)
                        .instances);
        Metrics.gauge(
                registry,
                "edgegate_cloud_stale_instances",
                "Instances of offline nodes (their last known state).",
                () -> shape(fleet).staleInstances);
        Metrics.gauge(
                registry,
                "edgegate_cloud_index",
                "The fleet's change index (X-Consul-Index of the catalog).",
                () -> fleet.view().index());
        Metrics.gauge(
                registry,
                "edgegate_cloud_apply_lag_seconds",
                "How long the oldest message waiting for the applier has waited (0 when none waits).",
                () -> fleet.applyLagMillis(System.currentTimeMillis()) / 1000.0);
        Metrics.gauge(
                registry, "edgegate_cloud_apply_queue_messages", "Messages waiting for the applier.", fleet::queued);
        stat(fleet, "edgegate_cloud_applied_total", "applied", "Messages that changed the fleet.");
        stat(fleet, "edgegate_cloud_ignored_total", "ignored", "Messages that changed nothing (duplicates, older).");
        stat(fleet, "edgegate_cloud_dropped_total", "dropped", "Messages dropped before the applier took them.");
        stat(
                fleet,
                "edgegate_cloud_backpressure_waits_total",
                "backpressureWaits",
                "Times the broker's reader waited because the applier's queue was full.");
        stat(
                fleet,
                "edgegate_cloud_resyncs_requested_total",
                "resyncsRequested",
                "Resyncs asked of nodes whose digest differed.");
        Metrics.counter(
                registry,
                "edgegate_cloud_not_applied_total",
                "Messages not applied (malformed, foreign or failing), whatever the reason.",
                fleet::rejectedCount);
    }

    private void stat(Fleet fleet, String name, String key, String help) {
        Metrics.counter(registry, name, help, () -> ((Number) fleet.stats().get(key)).doubleValue());
    }

    private void link(MqttLink link) {
        Metrics.gauge(
                registry,
                "edgegate_sync_link_up",
                "Whether the link to the MQTT broker is up (1) or down (0).",
                () -> link.connected() ? 1 : 0);
        Metrics.counter(
                registry, "edgegate_sync_link_connects_total", "Connections made to the broker.", () -> link.counters()
                        .connects());
        Metrics.counter(
                registry, "edgegate_sync_link_losses_total", "Connections to the broker lost.", () -> link.counters()
                        .connectionsLost());
        Metrics.counter(
                registry,
                "edgegate_sync_link_connect_failures_total",
                "Attempts to connect to the broker that failed.",
                () -> link.counters().connectFailures());
        Metrics.counter(
                registry, "edgegate_sync_received_total", "Messages received from the broker.", () -> link.counters()
                        .received());
    }

    /** The fleet's shape in one view, counted when a scrape asks (once per gauge; the view is a snapshot). */
    private static Shape shape(Fleet fleet) {
        FleetView view = fleet.view();
        Shape s = new Shape();
        s.sites = view.siteNames().size();
        for (FleetView.NodeView node : view.nodes(null)) {
            s.nodes++;
            s.instances += node.instances();
            if (!node.online()) {
                s.staleNodes++;
                s.staleInstances += node.instances();
            }
        }
        return s;
    }

    private static final class Shape {
        long sites;
        long nodes;
        long staleNodes;
        long instances;
        long staleInstances;
    }
}
