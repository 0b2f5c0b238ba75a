package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.Health;

/**
 * What one probe found: the status it implies and a bounded, human-readable output (Consul's
 * check {@code Output}).
 */
public record ProbeResult(Health status, String output) {}
