package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's state for one service, kept for the life of the proxy: the {@link Upstream} of each
 * of its instances (so counters survive snapshot changes), its retry budget and its passive
 * outlier detection.
 *
 * <p>Readers call {@link #members} with the registry's current snapshot: one volatile read and an
 * identity comparison while the snapshot is unchanged. A new snapshot is turned into members
 * under this object's lock by whichever request sees it first; the others wait for that one
 * short rebuild. Ejection decisions take the same lock (rare), so the share of ejected instances
 * is counted without races.
 */
final class ServiceRuntime {
    /** Members before the first snapshot. */
    private static final Members NONE = new Members(null, new Upstream[0], new Instance[0]);

    final String name;
    final RetryBudget budget;
    /** Requests forwarded to its instances (first attempts; retries are not new requests). */
    final LongAdder requests = new LongAdder();
    /**
     * Failures of its instances as passive outlier detection sees them ({@link #onFailure}): connect,
     * reset, timeout (mid-body included), a 502, 503 or 504 answer.
     */
    final LongAdder failures = new LongAdder();
    /** Requests answered 503 because no healthy instance (of the route's subsets) was there. */
    final LongAdder unavailable = new LongAdder();

    private final ProxyOptions options;
    private final long baseEjectionNanos;
    private final long maxEjectionNanos;
    /** Every upstream of every service by instance id (shared with the proxy, for drain). */
    private final ConcurrentHashMap<String, Upstream> directory;
    /** This service's upstreams by instance id, routable or not; guarded by this. */
    private final Map<String, Upstream> own = new HashMap<>();

    private final AtomicLong ejectionsTotal;
    private volatile Members members = NONE;

    /**
     * The routable instances of one snapshot, with their upstreams, index-aligned.
     *
     * @param snapshot the snapshot they come from (compared by identity)
     * @param upstreams the upstream of each routable instance, in the snapshot's order
     * @param instances the routable instances
     */
    record Members(ServiceSnapshot snapshot, Upstream[] upstreams, Instance[] instances) {}

    ServiceRuntime(
            String name, ProxyOptions options, ConcurrentHashMap<String, Upstream> directory, AtomicLong ejections) {
        this.name = name;
        this.options = options;
        this.directory = directory;
        this.ejectionsTotal = ejections;
        this.budget = new RetryBudget(options.retryBudgetRatio(), options.retryBudgetMinPerSecond());
        this.baseEjectionNanos = TimeUnit.MILLISECONDS.toNanos(options.outlierBaseEjectionMillis());
        this.maxEjectionNanos = TimeUnit.MILLISECONDS.toNanos(options.outlierMaxEjectionMillis());
    }

    /** The members of {@code snapshot}; rebuilt only when the snapshot is another one. */
    Members members(ServiceSnapshot snapshot) {
        Members m = members;
        if (m.snapshot == snapshot) {
            return m;
        }
        return rebuild(snapshot);
    }

    private synchronized Members rebuild(ServiceSnapshot snapshot) {
        Members m = members;
        if (m.snapshot == snapshot) {
            return m;
        }
        if (m.snapshot != null && snapshot.index() < m.snapshot.index()) {
            // A request read an older snapshot than one already built: never go back.
            return m;
        }
        int n = snapshot.routableCount();
        Upstream[] upstreams = new Upstream[n];
        Instance[] instances = new Instance[n];
        for (int i = 0; i < n; i++) {
            Instance instance = snapshot.routable(i);
            instances[i] = instance;
            upstreams[i] = upstream(instance);
        }
        // Retire the upstreams of instances that left the service, unless requests still run on
        // them (those are retired by a later rebuild, or linger harmlessly).
        Set<String> present = new HashSet<>();
        for (Instance instance : snapshot.instances()) {
            present.add(instance.id());
        }
        for (Iterator<Map.Entry<String, Upstream>> it = own.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Upstream> e = it.next();
            if (!present.contains(e.getKey()) && e.getValue().inFlight() == 0) {
                directory.remove(e.getKey(), e.getValue());
                it.remove();
            }
        }
        Members built = new Members(snapshot, upstreams, instances);
        members = built;
        return built;
    }

    /** Requests in flight to its instances, draining ones included (for the status page; takes the lock). */
    synchronized int inFlight() {
        int n = 0;
        for (Upstream u : own.values()) {
            n += u.inFlight();
        }
        return n;
    }

    /** The upstream of a routable instance: the existing one unless its endpoint (or scheme) changed. */
    private Upstream upstream(Instance instance) {
        String id = instance.id();
        String address = instance.spec().address();
        int port = instance.spec().port();
        boolean https = Upstream.https(instance.spec().meta());
        Upstream u = own.get(id);
        if (u == null || !u.address.equals(address) || u.port != port || u.https != https) {
            u = new Upstream(id, this, address, port, https);
            own.put(id, u);
            directory.put(id, u);
        }
        return u;
    }

    // ---------------------------------------------------------------- passive outlier detection

    /** A response that is not a gateway failure: the failure streak ends. */
    void onSuccess(Upstream u) {
        if (u.consecutiveFailures.get() != 0) {
            u.consecutiveFailures.set(0);
        }
    }

    /**
     * A gateway failure (connect, reset, timeout, 502, 503, 504): the instance is ejected once it
     * has {@code consecutive-failures} in a row, unless that would eject more than
     * {@code max-ejected-share} of the service (and never the last routable instance).
     */
    void onFailure(Upstream u, long nowNanos) {
        failures.increment();
        if (u.consecutiveFailures.incrementAndGet() >= options.outlierConsecutiveFailures()) {
            tryEject(u, nowNanos);
        }
    }

    private synchronized void tryEject(Upstream u, long now) {
        if (u.ejected(now) || u.consecutiveFailures.get() < options.outlierConsecutiveFailures()) {
            return;
        }
        Upstream[] all = members.upstreams;
        int ejectedNow = 0;
        for (Upstream other : all) {
            if (other.ejected(now)) {
                ejectedNow++;
            }
        }
        int allowed = Math.min((int) Math.floor(all.length * options.outlierMaxEjectedShare()), all.length - 1);
        if (ejectedNow >= allowed) {
            return;
        }
        long lastEnd = u.ejectedUntilNanos;
        if (lastEnd != Upstream.NOT_EJECTED && u.ejections > 0) {
            // One step back for every base ejection time it behaved since its last ejection ended.
            long quietPeriods = (now - lastEnd) / baseEjectionNanos;
            u.ejections = (int) Math.max(0, u.ejections - quietPeriods);
        }
        // Capped where the duration stops growing, so that base * ejections cannot overflow.
        u.ejections = (int) Math.min(u.ejections + 1L, maxEjectionNanos / baseEjectionNanos + 1);
        long duration = Math.min(baseEjectionNanos * u.ejections, maxEjectionNanos);
        u.ejectedUntilNanos = now + duration;
        u.consecutiveFailures.set(0);
        ejectionsTotal.incrementAndGet();
    }
}
