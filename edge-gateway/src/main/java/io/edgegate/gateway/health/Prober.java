package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;

/**
 * Runs one active probe of a check and says what it found. Blocking: called on a virtual thread,
 * one probe at a time per check; must return within the check's timeout (a probe that times out
 * is critical) and never throw. Thread-safe.
 */
@FunctionalInterface
public interface Prober {
    /**
     * @param instanceAddress the address of the check's instance, as registered: the one place a
     *     check may connect besides the allowed networks ({@link CheckTargetPolicy})
     */
    ProbeResult probe(CheckSpec check, String instanceAddress);
}
