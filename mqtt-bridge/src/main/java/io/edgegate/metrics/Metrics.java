package io.edgegate.metrics;

import io.edgegate.acl.AclStore;
import io.edgegate.listener.ListenerGuard;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * Builds a service's metrics: a registry of its own (never the library's global one, so two
 * services in one JVM, as in the tests, keep theirs apart) with the JVM's and the process's
 * metrics ({@code jvm_*}, {@code process_*}), and short forms for the callback metrics that read
 * a service's existing counters when Prometheus scrapes.
 *
 * <p>Naming (Prometheus's conventions): every metric of the product starts with
 * {@code edgegate_}, says its unit in base units ({@code _seconds}, {@code _bytes}), counters end
 * in {@code _total}; labels take few values (service, route, health, kind, status class: never
 * an instance id, a client or a path). Stateless.
 */
public final class Metrics {
    private Metrics() {}

    /** A new registry with the JVM's and the process's metrics. */
    public static PrometheusRegistry registry() {
        PrometheusRegistry registry = new PrometheusRegistry();
        JvmMetrics.builder().register(registry);
        return registry;
    }

    /** A counter without labels whose value is read at each scrape. */
    public static void counter(PrometheusRegistry registry, String name, String help, DoubleSupplier value) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .callback(c -> c.call(value.getAsDouble()))
                .register(registry);
    }

    /** A counter with labels: {@code values} calls the callback once per label combination at each scrape. */
    public static void counter(
            PrometheusRegistry registry,
            String name,
            String help,
            Consumer<CounterWithCallback.Callback> values,
            String... labelNames) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .callback(values)
                .register(registry);
    }

    /** A gauge without labels whose value is read at each scrape. */
    public static void gauge(PrometheusRegistry registry, String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .callback(c -> c.call(value.getAsDouble()))
                .register(registry);
    }

    /** A gauge with labels: {@code values} calls the callback once per label combination at each scrape. */
    public static void gauge(
            PrometheusRegistry registry,
            String name,
            String help,
            Consumer<GaugeWithCallback.Callback> values,
            String... labelNames) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames(labelNames)
                .callback(values)
                .register(registry);
    }

    /**
     * The guards of a service's listeners, by listener name ({@code api}, {@code consul}): open
     * connections, connections refused and closed by reason (what {@code /v1/status} shows).
     */
    public static void listeners(PrometheusRegistry registry, Map<String, ListenerGuard> guards) {
        gauge(
                registry,
                "edgegate_listener_open_connections",
                "Connections open on the listener.",
                c -> guards.forEach((name, g) -> c.call(g.openConnections(), name)),
                "listener");
        counter(
                registry,
                "edgegate_listener_connections_refused_total",
                "Connections refused by the listener's guard: too-many-per-client (429), http10 (505),"
                        + " bad-head (a malformed or oversized request head, 4xx).",
                c -> guards.forEach((name, g) -> {
                    c.call(g.refusedTooMany(), name, "too-many-per-client");
                    c.call(g.refusedHttp10(), name, "http10");
                    c.call(g.refusedHeads(), name, "bad-head");
                }),
                "listener",
                "reason");
        counter(
                registry,
                "edgegate_listener_connections_closed_total",
                "Connections the listener's guard closed: head-timeout (a request head not whole in time,"
                        + " slowloris), keep-alive-timeout (idle).",
                c -> guards.forEach((name, g) -> {
                    c.call(g.headTimeouts(), name, "head-timeout");
                    c.call(g.idleTimeouts(), name, "keep-alive-timeout");
                }),
                "listener",
                "reason");
    }

    /** The token file's reloads, and the changes refused because they did not parse. */
    public static void acl(PrometheusRegistry registry, AclStore acl) {
        counter(registry, "edgegate_acl_reloads_total", "Token file changes taken up.", acl::reloads);
        counter(
                registry,
                "edgegate_acl_reload_failures_total",
                "Token file changes refused (the previous rules stay).",
                acl::reloadFailures);
    }
}
