/**
 * Active health checks: the probers (HTTP, HTTP/2, gRPC, TCP, exec), the rules on what a check may
 * target, and the {@link io.edgegate.gateway.health.HealthChecker} that runs each due probe on a
 * virtual thread and reports its result to the registry.
 *
 * <p>Where a check goes passing, warning or critical is not here but in the registry writer,
 * which owns every check's state: {@code io.edgegate.gateway.registry.CheckHealth} schedules the
 * probes on its timer wheel, expires TTL leases, reaps instances after
 * {@code deregister-critical-after}, and turns probe results into statuses by Consul's thresholds
 * ({@code CheckRuntime#afterProbe}: success-before-passing, failures-before-warning,
 * failures-before-critical). The health package depends on the registry, never the reverse.
 */
package io.edgegate.gateway.health;
