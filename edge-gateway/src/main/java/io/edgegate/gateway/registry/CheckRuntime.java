package io.edgegate.gateway.registry;

/**
 * Runtime state of one check beside its journaled {@link CheckState}: the threshold counters, the
 * probe in flight and its schedule (active checks), the lease (TTL checks), and since when it is
 * critical (for deregister-critical-after). {@link #afterProbe} is where a probe result turns into
 * a status, by Consul's thresholds.
 *
 * <p>Not thread-safe: owned by the registry thread, except the {@link Lease}, which any thread
 * renews.
 */
final class CheckRuntime implements CheckHealth.Timer {
    private final CheckHealth health;
    final String instanceId;
    CheckSpec spec;
    final Lease lease;
    int successes;
    int failures;
    boolean probing;
    long dueMillis;
    long generation;
    long criticalSinceMillis = -1;
    boolean removed;

    CheckRuntime(CheckHealth health, String instanceId, CheckSpec spec, long now) {
        this.health = health;
        this.instanceId = instanceId;
        this.spec = spec;
        this.lease = spec.kind() == CheckKind.TTL ? new Lease(instanceId, spec.id(), spec.ttlMillis(), now) : null;
    }

    @Override
    public void expire(long now) {
        if (removed) {
            return;
        }
        if (lease != null) {
            health.onLeaseTimer(this, now);
        } else {
            health.onProbeTimer(this, now);
        }
    }

    /**
     * Counts one probe result and returns the status it makes the check, or null while a threshold
     * is not reached yet. Consul's thresholds: {@code success-before-passing} results that are not
     * critical in a row make the check take the result's status (passing or warning);
     * {@code failures-before-warning} critical results in a row make it warning (the critical
     * threshold when unset) and {@code failures-before-critical} make it critical.
     */
    Health afterProbe(Health result) {
        if (result != Health.CRITICAL) {
            successes++;
            failures = 0;
            return successes >= spec.successBeforePassing() ? result : null;
        }
        failures++;
        successes = 0;
        int warnAfter = spec.failuresBeforeWarning() > 0 ? spec.failuresBeforeWarning() : spec.failuresBeforeCritical();
        if (failures >= spec.failuresBeforeCritical()) {
            return Health.CRITICAL;
        }
        return failures >= warnAfter ? Health.WARNING : null;
    }

    /**
     * Moves the probe's due time one interval on and returns it: fixed rate from the launch, not
     * from the result, so a death is seen within interval + timeout; intervals already missed are
     * skipped, not made up.
     */
    long advanceDue(long now) {
        long interval = Math.max(1, spec.intervalMillis());
        long next = dueMillis + interval;
        if (next <= now) {
            next += ((now - next) / interval + 1) * interval;
        }
        dueMillis = next;
        return next;
    }
}
