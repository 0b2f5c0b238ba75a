package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;

/**
 * Runs one active probe of a check and says what it found. Blocking: called on a virtual thread,
 * one probe at a time per check; must return within the check's timeout (a probe that times out
 * is critical) and never throw. Thread-safe.
 */
@FunctionalInterface
public interface Prober {
    ProbeResult probe(CheckSpec check);
}
