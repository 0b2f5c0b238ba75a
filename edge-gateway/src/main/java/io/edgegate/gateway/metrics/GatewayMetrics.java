package io.edgegate.gateway.metrics;

import io.edgegate.acl.AclStore;
import io.edgegate.gateway.health.HealthChecker;
import io.edgegate.gateway.journal.JournalStats;
import io.edgegate.gateway.proxy.ProxyObserver;
import io.edgegate.gateway.proxy.ProxyService;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.edgegate.gateway.sync.SyncAgent;
import io.edgegate.listener.ListenerGuard;
import io.edgegate.metrics.Metrics;
import io.edgegate.metrics.MetricsEndpoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The gateway's Prometheus metrics ({@code edgegate.metrics.enabled}, default on), served at
 * {@code GET /metrics} on the API port and at Consul's {@code GET /v1/agent/metrics} on the Consul
 * port, both with {@code agent:read} ({@link MetricsEndpoint}).
 *
 * <p>Almost everything is a callback metric that reads what the parts already count for
 * {@code /v1/status} and the status page (the registry, the journal, the health checker, the
 * proxy, the sync agent, the listeners' guards), when Prometheus scrapes: scraping costs the hot
 * paths nothing, and with metrics off nothing is registered and nothing reads them. Three
 * things are recorded as they happen: the journal's group commits (batch size and force latency,
 * on the registry thread, once per batch: {@link #forceObserver}) and the proxy's answers and
 * upstream latency ({@link ProxyMetrics}, through recorders resolved once per route and service).
 *
 * <p>Off, {@link #proxyObserver()} and the force observer are null and the endpoint answers 404.
 * Built once at start-up; the registry it fills is thread-safe.
 */
public final class GatewayMetrics {
    /** The configuration key that turns metrics on and off. */
    public static final String ENABLED_KEY = "edgegate.metrics.enabled";

    /** Upper bounds of the journal force latency buckets, seconds: 100 µs to 5 s. */
    private static final double[] FORCE_BUCKETS = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
    };
    /** Upper bounds of the batch size buckets, records. */
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

    private final PrometheusRegistry registry;
    private final ProxyMetrics proxy;
    private final MetricsEndpoint endpoint;

    private GatewayMetrics(PrometheusRegistry registry, AclStore acl) {
        this.registry = registry;
        this.proxy = registry == null ? null : new ProxyMetrics(registry);
        this.endpoint = new MetricsEndpoint(registry, acl, ENABLED_KEY);
    }

    /** Metrics on (a registry with the JVM's metrics) or off (nothing). */
    public static GatewayMetrics create(boolean enabled, AclStore acl) {
        return new GatewayMetrics(enabled ? Metrics.registry() : null, acl);
    }

    public boolean enabled() {
        return registry != null;
    }

    /** What the proxy records per request; null when metrics are off. */
    public ProxyObserver proxyObserver() {
        return proxy;
    }

    /** {@code /metrics} and {@code /v1/agent/metrics}. */
    public MetricsEndpoint endpoint() {
        return endpoint;
    }

    /** The registry (null when off): what a scrape collects. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /**
     * Binds the gateway's parts; does nothing when metrics are off.
     *
     * @param sync the sync agent, or null when the gateway runs without a broker
     * @param guards the listeners' guards by listener name
     */
    public void bind(
            Registry services,
            HealthChecker health,
            ProxyService proxyService,
            SyncAgent sync,
            Map<String, ListenerGuard> guards,
            AclStore acl,
            ErrorLog errors) {
        if (registry == null) {
            return;
        }
        registry(services);
        journal(services);
        health(services, health);
        ProxyMetrics.bind(registry, proxyService, services);
        if (sync != null) {
            sync(services, sync);
        }
        Metrics.listeners(registry, guards);
        Metrics.acl(registry, acl);
        Metrics.counter(
                registry,
                "edgegate_errors_total",
                "Errors of background work (journal, probes, sync, proxy), logged de-duplicated.",
                errors::total);
    }

    private void registry(Registry services) {
        Metrics.gauge(
                registry,
                "edgegate_registry_instances",
                "Registered instances by service and health (passing, warning, critical; maintenance and"
                        + " draining apart); warning, maintenance and draining only when not 0.",
                c -> {
                    for (ServiceSnapshot s : services.services()) {
                        int[] counts = new int[HEALTH.length];
                        for (Instance i : s.instances()) {
                            counts[health(i)]++;
                        }
                        for (int h = 0; h < HEALTH.length; h++) {
                            // passing and critical always (what alerts compare); the rarer states
                            // only when some instance is in them: a scrape of a thousand services
                            // stays two series each
                            if (counts[h] > 0 || h == PASSING || h == CRITICAL) {
                                c.call(counts[h], s.name(), HEALTH[h]);
                            }
                        }
                    }
                },
                "service",
                "health");
        Metrics.gauge(
                registry, "edgegate_registry_index", "The registry's change index (X-Consul-Index).", services::index);
        Metrics.gauge(
                registry,
                "edgegate_registry_write_queue_depth",
                "Writes waiting for the registry thread.",
                services::queueDepth);
        Metrics.counter(
                registry,
                "edgegate_registry_writes_refused_total",
                "Writes refused with a 503 because the write queue was full (queue-capacity).",
                services::refusedFull);
        Metrics.counter(
                registry,
                "edgegate_registry_fast_heartbeats_total",
                "Heartbeats and TTL reports that only renewed leases (no write).",
                services::fastHeartbeats);
        Metrics.counter(
                registry,
                "edgegate_registry_unchanged_registrations_total",
                "Re-registrations that changed nothing, answered without a write.",
                services::fastRegistrations);
    }

    /** Health label values; the index is what {@link #health(Instance)} returns. */
    private static final String[] HEALTH = {"passing", "warning", "critical", "maintenance", "draining"};

    private static final int PASSING = 0;
    private static final int CRITICAL = 2;

    private static int health(Instance i) {
        if (i.draining()) {
            return 4;
        }
        if (i.inMaintenance()) {
            return 3;
        }
        return i.health().ordinal();
    }

    private void journal(Registry services) {
        Histogram batch = Histogram.builder()
                .name("edgegate_journal_write_batch_records")
                .help("Records per group commit (one force of the journal).")
                .classicOnly()
                .classicUpperBounds(BATCH_BUCKETS)
                .withoutExemplars()
                .register(registry);
        Histogram force = Histogram.builder()
                .name("edgegate_journal_force_duration_seconds")
                .help("Time to write and force one group commit (fdatasync).")
                .classicOnly()
                .classicUpperBounds(FORCE_BUCKETS)
                .withoutExemplars()
                .register(registry);
        DistributionDataPoint batchPoint = batch.labelValues();
        DistributionDataPoint forcePoint = force.labelValues();
        services.observeForces((records, nanos) -> {
            batchPoint.observe(records);
            forcePoint.observe(nanos / 1e9);
        });
        journalStat("edgegate_journal_records_total", "Records made durable.", JournalStats::recordsAppended, services);
        journalStat("edgegate_journal_forces_total", "Group commits (forces).", JournalStats::forces, services);
        journalStat(
                "edgegate_journal_written_bytes_total",
                "Bytes made durable in log segments and snapshots.",
                JournalStats::bytesWritten,
                services);
        journalStat(
                "edgegate_journal_compactions_total",
                "Snapshots taken (compactions).",
                JournalStats::compactions,
                services);
        journalStat(
                "edgegate_journal_compactions_failed_total",
                "Compactions that failed or were abandoned.",
                JournalStats::failedCompactions,
                services);
        journalStat(
                "edgegate_journal_forces_failed_total",
                "Forces that failed (their batches answered 503).",
                JournalStats::failedForces,
                services);
    }

    private void journalStat(String name, String help, ToDoubleFunction<JournalStats> value, Registry services) {
        Metrics.counter(registry, name, help, () -> value.applyAsDouble(services.journalStats()));
    }

    private void health(Registry services, HealthChecker health) {
        Metrics.counter(
                registry,
                "edgegate_health_probes_total",
                "Active probes finished, by check kind and result (before thresholds).",
                c -> {
                    for (CheckKind kind : CheckKind.values()) {
                        if (kind == CheckKind.TTL) {
                            continue; // reported by the service, never probed
                        }
                        for (Health result : Health.values()) {
                            c.call(
                                    health.completed(kind, result),
                                    kind.name().toLowerCase(Locale.ROOT),
                                    result.wireName());
                        }
                    }
                },
                "kind",
                "result");
        Metrics.counter(
                registry,
                "edgegate_health_probes_skipped_total",
                "Probes not launched because the check's previous probe was still running.",
                () -> services.probeCounts()[1]);
    }

    private void sync(Registry services, SyncAgent sync) {
        Metrics.gauge(
                registry,
                "edgegate_sync_link_up",
                "Whether the link to the MQTT broker is up (1) or down (0).",
                () -> sync.connected() ? 1 : 0);
        Metrics.gauge(
                registry,
                "edgegate_sync_outbox_instances",
                "Instance changes waiting for the broker's acknowledgement (at most one per instance).",
                sync::pending);
        Metrics.counter(registry, "edgegate_sync_published_total", "Instance changes published.", sync::published);
        Metrics.counter(
                registry,
                "edgegate_sync_acknowledged_total",
                "Published changes the broker acknowledged.",
                sync::acknowledged);
        Metrics.gauge(
                registry,
                "edgegate_sync_acknowledged_index",
                "Registry index up to which every change is known to be on the broker.",
                sync::acknowledgedIndex);
        Metrics.gauge(
                registry,
                "edgegate_sync_acknowledged_lag",
                "Registry changes past the acknowledged index while changes wait in the outbox (0 when none"
                        + " waits).",
                () -> sync.pending() == 0 ? 0 : Math.max(0, services.index() - sync.acknowledgedIndex()));
        Metrics.counter(
                registry,
                "edgegate_sync_link_connects_total",
                "Connections made to the broker.",
                () -> sync.linkCounters().connects());
        Metrics.counter(
                registry,
                "edgegate_sync_link_losses_total",
                "Connections to the broker lost.",
                () -> sync.linkCounters().connectionsLost());
        Metrics.counter(
                registry,
                "edgegate_sync_link_connect_failures_total",
                "Attempts to connect to the broker that failed.",
                () -> sync.linkCounters().connectFailures());
        Metrics.counter(
                registry,
                "edgegate_sync_rejected_total",
                "Malformed or foreign messages received on this node's topics.",
                sync::rejected);
    }
}
