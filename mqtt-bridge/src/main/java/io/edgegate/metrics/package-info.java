/**
 * What both services share for their Prometheus metrics: {@link io.edgegate.metrics.Metrics}
 * (a registry per service with the JVM's and the process's metrics, callback metrics that read a
 * service's own counters at scrape time), {@link io.edgegate.metrics.MetricsEndpoint}
 * ({@code GET /metrics}, Consul's {@code GET /v1/agent/metrics}, both behind {@code agent:read})
 * and {@link io.edgegate.metrics.ConsulMetrics} (Consul's JSON shape of the same snapshots). Each
 * service binds its own parts ({@code io.edgegate.gateway.metrics}, {@code io.edgegate.cloud.metrics}).
 * Built on Prometheus's Java client ({@code io.prometheus:prometheus-metrics-core}), whose text
 * writers make the exposition format.
 */
package io.edgegate.metrics;
