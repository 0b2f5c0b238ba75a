package io.edgegate.gateway.registry;

import java.util.List;

/**
 * An instance as readers see it: its registration, its checks' results and its lifecycle flags.
 * Immutable; a change publishes a new object.
 *
 * @param spec the registration
 * @param checks its checks in registration order
 * @param maintenanceReason non-null while in maintenance mode
 * @param createIndex index of its first registration
 * @param modifyIndex index of its last change
 * @param draining deregistered and waiting for its requests in flight to finish before removal
 */
public record Instance(
        InstanceSpec spec,
        List<CheckState> checks,
        String maintenanceReason,
        long createIndex,
        long modifyIndex,
        boolean draining) {

    public Instance {
        checks = List.copyOf(checks);
    }

    /** An instance that is not draining. */
    public Instance(
            InstanceSpec spec, List<CheckState> checks, String maintenanceReason, long createIndex, long modifyIndex) {
        this(spec, checks, maintenanceReason, createIndex, modifyIndex, false);
    }

    public String id() {
        return spec.id();
    }

    public String service() {
        return spec.service();
    }

    public boolean inMaintenance() {
        return maintenanceReason != null;
    }

    /** Worst of the checks, critical while in maintenance or draining, passing with no checks. */
    public Health health() {
        if (maintenanceReason != null || draining) {
            return Health.CRITICAL;
        }
        Health worst = Health.PASSING;
        for (CheckState check : checks) {
            worst = worst.worst(check.status());
        }
        return worst;
    }

    /** Whether the proxy may send it traffic: passing or warning, not in maintenance, not draining. */
    public boolean routable() {
        return health() != Health.CRITICAL;
    }

    /** The same instance with other checks and a new modify index. */
    Instance withChecks(List<CheckState> newChecks, long index) {
        return new Instance(spec, newChecks, maintenanceReason, createIndex, index, draining);
    }

    /** The check with this id, or null. */
    public CheckState check(String checkId) {
        for (CheckState check : checks) {
            if (check.spec().id().equals(checkId)) {
                return check;
            }
        }
        return null;
    }
}
