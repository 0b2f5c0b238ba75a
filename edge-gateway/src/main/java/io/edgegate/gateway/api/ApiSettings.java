package io.edgegate.gateway.api;

/**
 * What both APIs need to know about the node beyond the registry. Immutable.
 *
 * @param node this node's name (Consul {@code Node})
 * @param site this site's name (Consul {@code Datacenter})
 * @param advertiseAddress the node's address, used for instances registered without one
 * @param validator registration validation and limits
 * @param defaultWaitMillis blocking-query wait when the client gives none (Consul: 5 min)
 * @param maxWaitMillis cap on a blocking-query wait (Consul: 10 min)
 * @param acl the access rules every request is checked against
 */
public record ApiSettings(
        String node,
        String site,
        String advertiseAddress,
        InstanceValidator validator,
        long defaultWaitMillis,
        long maxWaitMillis,
        io.edgegate.acl.AclStore acl) {

    /** A blocking wait as Consul computes it: the asked wait (default, capped) plus up to 1/16 jitter. */
    public long blockingWaitMillis(Long requestedMillis) {
        long wait = requestedMillis == null || requestedMillis <= 0
                ? defaultWaitMillis
                : Math.min(requestedMillis, maxWaitMillis);
        return wait + java.util.concurrent.ThreadLocalRandom.current().nextLong(wait / 16 + 1);
    }
}
