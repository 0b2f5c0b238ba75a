package io.edgegate.gateway.registry;

/**
 * The deadline of one TTL check. The registry writer creates it and expires the check when the
 * deadline passes; any thread renews it with one volatile write, so a heartbeat that changes no
 * status costs no command, no journal write and no copy of the service's instance list.
 */
final class Lease {
    final String instanceId;
    final String checkId;
    final long ttlMillis;
    private volatile long deadlineMillis;

    Lease(String instanceId, String checkId, long ttlMillis, long nowMillis) {
        this.instanceId = instanceId;
        this.checkId = checkId;
        this.ttlMillis = ttlMillis;
        this.deadlineMillis = nowMillis + ttlMillis;
    }

    void renew(long nowMillis) {
        deadlineMillis = nowMillis + ttlMillis;
    }

    long deadlineMillis() {
        return deadlineMillis;
    }
}
