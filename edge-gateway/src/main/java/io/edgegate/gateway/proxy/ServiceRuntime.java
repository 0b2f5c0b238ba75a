package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's state for one service, kept for the life of the proxy: the {@link Upstream} of each
 * of its instances (so counters survive snapshot changes), its retry budget and its passive
 * outlier detection.
 *
 * <p>Two steps turn a registry snapshot into what requests use. {@link #sync} brings the
 * upstreams up to date with the snapshot: it walks only the instances that changed since the
 * snapshot it saw last ({@link ServiceSnapshot#diff}), creates upstreams for instances that
 * became routable and marks the others {@link Upstream#live not live}, so its cost follows the
 * change, not the service. It runs under this object's lock, taken by the first request that
 * sees a new snapshot (one volatile read and an identity comparison otherwise). {@link #members}
 * then lists a snapshot's routable instances with their upstreams, O(n), for the routes and the
 * model directory to build their tables from; it takes no lock and may run off the request path
 * (see {@link RouteRuntime}). A table built from an older snapshot stays correct for removals and
 * health changes because every pick checks {@link Upstream#live}.
 *
 * <p>Ejection decisions take the same lock (rare), so the share of ejected instances is counted
 * without races.
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
    /** Times its upstreams when metrics are on, else null; set before the runtime is published. */
    ProxyObserver.ServiceRecorder recorder;

    private final ProxyOptions options;
    private final long baseEjectionNanos;
    private final long maxEjectionNanos;
    /** Every upstream of every service by instance id (shared with the proxy, for drain). */
    private final ConcurrentHashMap<String, Upstream> directory;
    /**
     * This service's upstreams by instance id, routable or not, as of {@link #synced}: written by
     * {@link #sync} under this object's lock, read by table builds without it.
     */
    private final ConcurrentHashMap<String, Upstream> own = new ConcurrentHashMap<>();
    /** Where tables of large services are rebuilt off the request path; null: always on it. */
    private final ScheduledExecutorService rebuilds;

    private final AtomicLong ejectionsTotal;
    /** Upstreams ejected and perhaps still within their ejection; guarded by this. */
    private final Set<Upstream> ejected = new HashSet<>();
    /** The newest snapshot the upstreams reflect. */
    private volatile ServiceSnapshot synced;
    /** The members of the last snapshot listed (a cache for the routes of one service). */
    private volatile Members members = NONE;

    /**
     * The routable instances of one snapshot, with their upstreams, index-aligned.
     *
     * @param snapshot the snapshot they come from (compared by identity)
     * @param upstreams the upstream of each routable instance, in the snapshot's order
     * @param instances the routable instances
     */
    record Members(ServiceSnapshot snapshot, Upstream[] upstreams, Instance[] instances) {}

    /** A service whose tables are always rebuilt on the request path that sees a new snapshot. */
    ServiceRuntime(
            String name, ProxyOptions options, ConcurrentHashMap<String, Upstream> directory, AtomicLong ejections) {
        this(name, options, directory, ejections, null);
    }

    /**
     * @param rebuilds where tables of services above {@link RouteRuntime#SYNC_REBUILD_MAX_INSTANCES}
     *     are rebuilt (at a bounded rate), or null to rebuild every table on the request path
     */
    ServiceRuntime(
            String name,
            ProxyOptions options,
            ConcurrentHashMap<String, Upstream> directory,
            AtomicLong ejections,
            ScheduledExecutorService rebuilds) {
        this.name = name;
        this.options = options;
        this.directory = directory;
        this.ejectionsTotal = ejections;
        this.rebuilds = rebuilds;
        this.budget = new RetryBudget(options.retryBudgetRatio(), options.retryBudgetMinPerSecond());
        this.baseEjectionNanos = TimeUnit.MILLISECONDS.toNanos(options.outlierBaseEjectionMillis());
        this.maxEjectionNanos = TimeUnit.MILLISECONDS.toNanos(options.outlierMaxEjectionMillis());
    }

    ScheduledExecutorService rebuilds() {
        return rebuilds;
    }

    // ---------------------------------------------------------------- snapshot to upstreams

    /**
     * Brings the upstreams up to date with {@code snapshot} (no-op if it is the one seen last, or
     * older): O(changes) from the last snapshot seen, O(n) the first time and after the registry
     * renumbered the service.
     */
    void sync(ServiceSnapshot snapshot) {
        if (synced != snapshot && snapshot != null) {
            syncTo(snapshot);
        }
    }

    private synchronized void syncTo(ServiceSnapshot snapshot) {
        ServiceSnapshot from = synced;
        if (from == snapshot || from != null && snapshot.index() < from.index()) {
            // Seen already, or a request read an older snapshot than one already applied: never go back.
            return;
        }
        if (from == null || !snapshot.diff(from, this::apply)) {
            resync(snapshot);
        }
        synced = snapshot;
    }

    /** One instance changed between two snapshots: {@code before} or {@code after} null when absent. */
    private void apply(Instance before, Instance after) {
        if (after == null) {
            retire(before.id());
            return;
        }
        Upstream u = own.get(after.id());
        if (after.routable()) {
            upstream(after).live = true;
        } else if (u != null) {
            u.live = false;
        }
    }

    /** Every instance of the snapshot, and the retirement of upstreams whose instance is gone. */
    private void resync(ServiceSnapshot snapshot) {
        Set<String> present = new HashSet<>();
        for (Instance instance : snapshot.instances()) {
            present.add(instance.id());
            apply(null, instance);
        }
        for (Map.Entry<String, Upstream> e : own.entrySet()) {
            if (!present.contains(e.getKey())) {
                retire(e.getKey());
            }
        }
    }

    /** Requests in flight to its instances, draining ones included (for the status page; takes the lock). */
    synchronized int inFlight() {
        int n = 0;
        for (Upstream u : own.values()) {
            n += u.inFlight();
        }
        return n;
    }

    /**
     * An instance left the service: its upstream takes no new request, and is forgotten now if no
     * request runs on it (else it lingers, not live, until a later resync or its id returns).
     */
    private void retire(String id) {
        Upstream u = own.get(id);
        if (u == null) {
            return;
        }
        u.live = false;
        if (u.inFlight() == 0) {
            own.remove(id, u);
            directory.remove(id, u);
        }
    }

    /**
     * The upstream of a routable instance: the existing one unless its endpoint (or scheme)
     * changed, in which case the old one is no longer live and a new one takes its place.
     */
    private Upstream upstream(Instance instance) {
        String id = instance.id();
        String address = instance.spec().address();
        int port = instance.spec().port();
        boolean https = Upstream.https(instance.spec().meta());
        Upstream u = own.get(id);
        if (u == null || !u.address.equals(address) || u.port != port || u.https != https) {
            if (u != null) {
                u.live = false;
            }
            u = new Upstream(id, this, address, port, https);
            own.put(id, u);
            directory.put(id, u);
        }
        return u;
    }

    /**
     * The routable instances of {@code snapshot} with their upstreams, for building tables: O(n),
     * no lock. Call {@link #sync} with the same or a newer snapshot first. An instance the
     * upstreams no longer know (removed since) is left out; one whose endpoint changed since gets
     * its current upstream.
     */
    Members members(ServiceSnapshot snapshot) {
        Members m = members;
        if (m.snapshot == snapshot) {
            return m;
        }
        int n = snapshot.routableCount();
        Upstream[] upstreams = new Upstream[n];
        Instance[] instances = new Instance[n];
        int k = 0;
        for (int i = 0; i < n; i++) {
            Instance instance = snapshot.routable(i);
            Upstream u = own.get(instance.id());
            if (u != null) {
                instances[k] = instance;
                upstreams[k++] = u;
            }
        }
        if (k < n) {
            upstreams = Arrays.copyOf(upstreams, k);
            instances = Arrays.copyOf(instances, k);
        }
        Members built = new Members(snapshot, upstreams, instances);
        if (m.snapshot == null || m.snapshot.index() <= snapshot.index()) {
            members = built;
        }
        return built;
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
        // Count the ejected ones among those ejected so far (O(ejected), not O(service)).
        int ejectedNow = 0;
        for (Iterator<Upstream> it = ejected.iterator(); it.hasNext(); ) {
            Upstream other = it.next();
            if (other.ejected(now) && other.live) {
                ejectedNow++;
            } else {
                it.remove();
            }
        }
        ServiceSnapshot current = synced;
        int routable = current == null ? 0 : current.routableCount();
        int allowed = Math.min((int) Math.floor(routable * options.outlierMaxEjectedShare()), routable - 1);
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
        ejected.add(u);
        ejectionsTotal.incrementAndGet();
        ProxyEvents.ejected(name, u, duration, now + duration, () -> directory.get(u.id) == u);
    }
}
