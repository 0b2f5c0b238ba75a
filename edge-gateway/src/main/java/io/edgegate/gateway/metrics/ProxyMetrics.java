package io.edgegate.gateway.metrics;

import io.edgegate.gateway.proxy.ProxyObserver;
import io.edgegate.gateway.proxy.ProxyService;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.edgegate.metrics.Metrics;
import io.edgegate.metrics.NanosHistogram;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Map;

/**
 * The proxy's metrics. Two are recorded on the request path, through the recorders the proxy keeps
 * in its route and service runtimes ({@link ProxyObserver}): answers by route, service and status
 * class ({@code edgegate_proxy_requests_total}), and the time to an upstream's answer head per
 * service ({@code edgegate_proxy_upstream_duration_seconds}, a {@link NanosHistogram}). Each
 * recorder holds its labelled data points, resolved once when the runtime is made, so a request
 * does one add to a {@code LongAdder} (and, per attempt that got an answer, two more in the
 * histogram): no label lookup, no allocation. Everything else is read from the proxy's own counters
 * ({@link ProxyService#stats()}, {@link ProxyService#traffic(String)}) when Prometheus scrapes.
 *
 * <p>Thread-safe: recorders are called by request threads concurrently.
 */
final class ProxyMetrics implements ProxyObserver {
    /** Upper bounds of the upstream latency buckets, seconds: 1 ms to a minute (inference answers are slow). */
    static final double[] LATENCY_BUCKETS = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
    };

    private final Counter requests;
    private final NanosHistogram upstreamDuration;

    ProxyMetrics(PrometheusRegistry registry) {
        this.requests = Counter.builder()
                .name("edgegate_proxy_requests_total")
                .help("Requests answered through the proxy, by route (svc:NAME for /svc/NAME/..., model for"
                        + " model routing), service and status class (499: the client went away).")
                .labelNames("route", "service", "status_class")
                .withoutExemplars()
                .register(registry);
        this.upstreamDuration = NanosHistogram.register(
                registry,
                "edgegate_proxy_upstream_duration_seconds",
                "Time from the start of an attempt to the upstream's answer head (connection, request,"
                        + " the upstream's work until its status line and headers), by service.",
                "service",
                LATENCY_BUCKETS);
    }

    @Override
    public RouteRecorder route(String route, String service) {
        return new Route(route, service);
    }

    @Override
    public ServiceRecorder service(String service) {
        NanosHistogram.Series latency = upstreamDuration.series(service);
        return latency::observe;
    }

    /** One route's counters by status class, resolved at construction (1xx and others on first use). */
    private final class Route implements RouteRecorder {
        private final String route;
        private final String service;
        /** 2xx to 5xx at indexes 2-5; others resolved when first seen. */
        private final CounterDataPoint[] byClass = new CounterDataPoint[6];

        Route(String route, String service) {
            this.route = route;
            this.service = service;
            for (int c = 2; c <= 5; c++) {
                byClass[c] = requests.labelValues(route, service, c + "xx");
            }
        }

        @Override
        public void answered(int status) {
            int c = status / 100;
            CounterDataPoint point = c >= 2 && c <= 5 ? byClass[c] : rare(c);
            point.inc();
        }

        private CounterDataPoint rare(int c) {
            // 1xx (never the final answer of a proxied request) or a status outside 100-599
            if (c == 1) {
                CounterDataPoint point = byClass[1];
                if (point == null) {
                    point = requests.labelValues(route, service, "1xx");
                    byClass[1] = point; // racing threads get the same data point
                }
                return point;
            }
            CounterDataPoint point = byClass[0];
            if (point == null) {
                point = requests.labelValues(route, service, "other");
                byClass[0] = point;
            }
            return point;
        }
    }

    /** The proxy's own counters, read at scrape time. */
    static void bind(PrometheusRegistry registry, ProxyService proxy, Registry services) {
        stat(registry, proxy, "edgegate_proxy_retries_total", "retries", "Retries on another instance.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_retries_refused_total",
                "retries-refused-by-budget",
                "Retries wanted but refused by the service's retry budget.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_failed_attempts_total",
                "upstream-failures",
                "Attempts that got no usable answer (connect, TLS, reset, timeout, a 502 or 503 retried).");
        stat(
                registry,
                proxy,
                "edgegate_proxy_aborted_mid_body_total",
                "aborted-mid-body",
                "Answers cut because the upstream failed after the client had the status.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_clients_gone_total",
                "clients-gone",
                "Requests whose client went away before its answer was whole.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_ejections_total",
                "ejections",
                "Instances ejected by passive outlier detection.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_upstream_connections_opened_total",
                "upstream-connections-opened",
                "Upstream connections opened.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_upstream_connections_reused_total",
                "upstream-connections-reused",
                "Requests sent on a kept-alive upstream connection.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_upstream_connections_stale_total",
                "upstream-connections-stale",
                "Kept-alive upstream connections found closed by the upstream before use.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_upstream_connections_expired_total",
                "upstream-connections-expired",
                "Idle upstream connections closed after their keep-alive time.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_upstream_connections_forbidden_total",
                "upstream-connections-forbidden",
                "Upstream connections refused because the address is a forbidden one.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_lean_requests_total",
                "lean-requests",
                "Requests served by the proxy's lean HTTP/1.1 connection handler.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_lean_handed_off_total",
                "lean-handed-off",
                "Connections the lean handler handed to Helidon's HTTP/1.1 (an API request, or a head it leaves to Helidon).");
        stat(
                registry,
                proxy,
                "edgegate_proxy_lean_platform_thread_connections_total",
                "lean-platform-thread-connections",
                "Lean connections served by a platform thread (edgegate.proxy.lean-platform-threads).");
        stat(
                registry,
                proxy,
                "edgegate_proxy_lean_platform_threads_busy_total",
                "lean-platform-threads-busy",
                "Lean connections left on their virtual thread because every platform thread was busy.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_lean_api_requests_total",
                "lean-api-requests",
                "API requests lean connections answered themselves (heartbeats and registrations) rather than hand to the API's routing.");
        stat(
                registry,
                proxy,
                "edgegate_proxy_lean_event_loop_connections_total",
                "lean-event-loop-connections",
                "Lean connections served by an event loop (edgegate.proxy.event-loops).");
        Metrics.gauge(
                registry,
                "edgegate_proxy_upstream_connections_idle",
                "Idle upstream connections kept alive.",
                () -> proxy.stats().get("upstream-connections-idle"));
        Metrics.gauge(registry, "edgegate_proxy_routes", "Routes in force.", () -> proxy.stats()
                .get("routes"));
        traffic(registry, proxy, services);
    }

    private static void stat(PrometheusRegistry registry, ProxyService proxy, String name, String key, String help) {
        Metrics.counter(registry, name, help, () -> proxy.stats().get(key));
    }

    /**
     * Per service: what {@code GET /v1/services} shows, and the instances ejected now; only for the
     * services the proxy has sent to or refused (a node with a thousand services and a proxy used
     * for ten exposes ten).
     */
    private static void traffic(PrometheusRegistry registry, ProxyService proxy, Registry services) {
        perService(
                registry,
                proxy,
                services,
                "edgegate_proxy_upstream_requests_total",
                "Requests forwarded to the service's instances (a retry is not another request).",
                "requests",
                true);
        perService(
                registry,
                proxy,
                services,
                "edgegate_proxy_upstream_failures_total",
                "Failures of the service's instances as outlier detection counts them (connect, reset, timeout,"
                        + " a 502, 503 or 504 answer).",
                "failures",
                true);
        perService(
                registry,
                proxy,
                services,
                "edgegate_proxy_unavailable_total",
                "Requests answered 503 for want of a healthy instance.",
                "unavailable",
                true);
        perService(
                registry,
                proxy,
                services,
                "edgegate_proxy_requests_in_flight",
                "Requests in flight to the service's instances.",
                "in-flight",
                false);
        Metrics.gauge(
                registry,
                "edgegate_proxy_ejected_instances",
                "Instances of the service ejected by passive outlier detection now.",
                c -> {
                    for (ServiceSnapshot s : services.services()) {
                        if (!active(proxy.traffic(s.name()))) {
                            continue;
                        }
                        int ejected = 0;
                        for (Instance i : s.instances()) {
                            if (proxy.ejected(i.id())) {
                                ejected++;
                            }
                        }
                        c.call(ejected, s.name());
                    }
                },
                "service");
    }

    private static void perService(
            PrometheusRegistry registry,
            ProxyService proxy,
            Registry services,
            String name,
            String help,
            String key,
            boolean counter) {
        if (counter) {
            Metrics.counter(
                    registry,
                    name,
                    help,
                    c -> {
                        for (ServiceSnapshot s : services.services()) {
                            Map<String, Long> traffic = proxy.traffic(s.name());
                            if (active(traffic)) {
                                c.call(traffic.get(key), s.name());
                            }
                        }
                    },
                    "service");
        } else {
            Metrics.gauge(
                    registry,
                    name,
                    help,
                    c -> {
                        for (ServiceSnapshot s : services.services()) {
                            Map<String, Long> traffic = proxy.traffic(s.name());
                            if (active(traffic)) {
                                c.call(traffic.get(key), s.name());
                            }
                        }
                    },
                    "service");
        }
    }

    /** Whether the proxy has sent to the service, or refused a request to it, since start. */
    private static boolean active(Map<String, Long> traffic) {
        return traffic.get("requests") + traffic.get("unavailable") + traffic.get("in-flight") > 0;
    }
}
