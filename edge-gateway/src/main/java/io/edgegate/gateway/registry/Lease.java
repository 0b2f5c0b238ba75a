package io.edgegate.gateway.registry;

/**
 * The deadline of one TTL check. The registry writer creates it and expires the check when the
 * deadline passes; any thread renews it with one volatile write, so a heartbeat that changes no
 * status costs no command, no journal write and no copy of the service's instance list.
 *
 * <p>A check's {@link CheckRuntime} is its lease (one object a check, not two); readers get it
 * through the {@link Publication} as a lease only, and use nothing else of it.
 */
class Lease {
    final String instanceId;
    final long ttlMillis;
    private volatile long deadlineMillis;

    Lease(String instanceId, long ttlMillis, long nowMillis) {
        this.instanceId = instanceId;
        this.ttlMillis = ttlMillis;
        this.deadlineMillis = nowMillis + ttlMillis;
    }

    final void renew(long nowMillis) {
        deadlineMillis = nowMillis + ttlMillis;
    }

    final long deadlineMillis() {
        return deadlineMillis;
    }
}
