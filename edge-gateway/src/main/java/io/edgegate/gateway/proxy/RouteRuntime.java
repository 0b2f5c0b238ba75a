package io.edgegate.gateway.proxy;

import io.edgegate.gateway.proxy.RouteSpec.ModelRouting;
import io.edgegate.gateway.proxy.RouteSpec.Policy;
import io.edgegate.gateway.proxy.RouteSpec.Subset;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A route as the request path uses it: its policy resolved against the proxy's defaults, and its
 * {@link Table} of pools for the service's current snapshot. The route's cursors live here,
 * outside the table, so that balancing continues across rebuilds. Thread-safe: the table is
 * published through one volatile field.
 *
 * <p>When the registry publishes another snapshot of the service, the first request that sees it
 * brings the service's upstreams up to date ({@link ServiceRuntime#sync}, in proportion to what
 * changed), then:
 * <ul>
 *   <li>a service of up to {@value #SYNC_REBUILD_MAX_INSTANCES} instances gets its table rebuilt
 *       on the spot, as before (tens of microseconds);
 *   <li>a larger one keeps its pools and only takes the new snapshot's identity and counts; the
 *       pools are rebuilt off the request path, at most once per {@link #rebuildIntervalNanos}
 *       (at least {@value #MIN_REBUILD_INTERVAL_MILLIS} ms, and ten times the last rebuild's
 *       duration, so rebuilding takes at most about a tenth of a core per route).
 * </ul>
 * A request therefore never pays for the size of the service, whatever the churn. In between,
 * instances that left or stopped being routable are skipped at once (their upstreams are no
 * longer {@link Upstream#live}); instances that arrived, and changes to tags, metadata or weights,
 * take effect with the next rebuild, within the interval. That is the choice: the weighted
 * sequence and the hash ring are global structures that no per-change update keeps cheap, and a
 * new instance waiting a fraction of a second for its first request is what every proxy fed by
 * a discovery stream does, while traffic to an instance that is gone is not acceptable.
 */
final class RouteRuntime {
    final RouteSpec spec;
    /** The route's name in answers; {@code svc:NAME} for the implicit route of a service. */
    final String name;

    final ServiceRuntime service;
    final Balancer balancer;
    final HeaderName hashHeader;
    final ModelRouting modelRouting;
    final long connectTimeoutMillis;
    final Duration idleTimeout;
    final long timeoutMillis;
    final int retries;
    /** Whether a request needs a token with read on the service (see {@link RouteSpec.Policy#requireToken()}). */
    final boolean requireToken;
    /** The route's upstream TLS; null when each instance's own scheme decides. */
    final UpstreamTls tls;
    /** Counts its answers when metrics are on, else null; set before the route is published. */
    ProxyObserver.RouteRecorder recorder;
    /** The weights of the {@code score} balancer. */
    final ScoreWeights scoring;

    /** Services of up to this many instances get their tables rebuilt on the request path. */
    static final int SYNC_REBUILD_MAX_INSTANCES = 512;
    /** Least time between two rebuilds of one large route's table. */
    static final long MIN_REBUILD_INTERVAL_MILLIS = 100;

    private final AtomicLong[] cursors;
    private final ConcurrentHashMap<String, AtomicLong> modelCursors = new ConcurrentHashMap<>();
    private volatile Table table = Table.NONE;

    // Off-path rebuilds; guarded by this.
    private boolean rebuildPending;
    private long lastRebuildEndNanos;
    private long lastRebuildNanos;
    private long offPathRebuilds;

    RouteRuntime(RouteSpec spec, String name, ServiceRuntime service, ProxyOptions defaults, Forwarder forwarder) {
        this.spec = spec;
        this.name = name;
        this.service = service;
        Policy p = spec.policy();
        this.balancer = p.balancer();
        this.hashHeader = p.hashHeader() == null ? null : HeaderNames.create(p.hashHeader());
        this.modelRouting = p.modelRouting();
        this.connectTimeoutMillis =
                p.connectTimeoutMillis() == null ? defaults.connectTimeoutMillis() : p.connectTimeoutMillis();
        this.idleTimeout =
                Duration.ofMillis(p.idleTimeoutMillis() == null ? defaults.idleTimeoutMillis() : p.idleTimeoutMillis());
        this.timeoutMillis = p.timeoutMillis() == null ? defaults.timeoutMillis() : p.timeoutMillis();
        this.retries = p.retries() == null ? defaults.retries() : p.retries();
        this.requireToken = p.requireToken() || IMPLICIT.equals(spec.source()) && defaults.requireToken();
        this.tls = p.upstreamTls() == null ? null : forwarder.tls(p.upstreamTls());
        this.scoring = p.scoring() == null ? ScoreWeights.DEFAULT : p.scoring();
        int subsets = Math.max(1, p.subsets().size());
        this.cursors = new AtomicLong[subsets];
        for (int i = 0; i < subsets; i++) {
            cursors[i] = new AtomicLong();
        }
    }

    static final String IMPLICIT = "implicit";

    /** The implicit route of {@code /svc/{service}/}: every routable instance, default policy. */
    static RouteSpec implicit(String service) {
        return new RouteSpec(
                "svc:" + service, null, "/svc/" + service, Map.of(), service, true, Policy.DEFAULT, IMPLICIT);
    }

    /** The table for {@code snapshot} (null: the service was never registered). */
    Table table(ServiceSnapshot snapshot) {
        Table t = table;
        if (t.snapshot == snapshot) {
            return t;
        }
        return refresh(snapshot);
    }

    private Table refresh(ServiceSnapshot snapshot) {
        if (snapshot == null) {
            return Table.NONE;
        }
        service.sync(snapshot);
        synchronized (this) {
            Table t = table;
            if (t.snapshot == snapshot) {
                return t;
            }
            if (t.snapshot != null && snapshot.index() < t.snapshot.index()) {
                // A request read an older snapshot than one already taken: never go back.
                return t;
            }
            if (t.builtFrom == null
                    || service.rebuilds() == null
                    || snapshot.instances().size() <= SYNC_REBUILD_MAX_INSTANCES) {
                Table built = build(snapshot, snapshot);
                table = built;
                return built;
            }
            Table seen = t.seen(snapshot);
            table = seen;
            scheduleRebuild();
            return seen;
        }
    }

    /** Rebuilds done off the request path so far. */
    synchronized long offPathRebuilds() {
        return offPathRebuilds;
    }

    /** Least time from the end of one off-path rebuild to the start of the next. */
    synchronized long rebuildIntervalNanos() {
        return Math.max(TimeUnit.MILLISECONDS.toNanos(MIN_REBUILD_INTERVAL_MILLIS), 10 * lastRebuildNanos);
    }

    private void scheduleRebuild() {
        if (rebuildPending) {
            return;
        }
        rebuildPending = true;
        long delay = lastRebuildEndNanos == 0 ? 0 : lastRebuildEndNanos + rebuildIntervalNanos() - System.nanoTime();
        try {
            service.rebuilds().schedule(this::rebuildOffPath, Math.max(0, delay), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // The proxy is closing: the table stays as it is.
            rebuildPending = false;
        }
    }

    /** On the rebuild thread: builds the pools of the newest snapshot seen, outside the lock. */
    private void rebuildOffPath() {
        ServiceSnapshot target;
        synchronized (this) {
            target = table.snapshot;
        }
        long start = System.nanoTime();
        Table built = null;
        try {
            built = build(target, target);
        } finally {
            long end = System.nanoTime();
            synchronized (this) {
                rebuildPending = false;
                lastRebuildEndNanos = end;
                lastRebuildNanos = end - start;
                offPathRebuilds++;
                Table t = table;
                if (built != null && t.builtFrom.index() <= target.index()) {
                    table = t.snapshot == target ? built : built.seen(t.snapshot);
                }
                if (table.builtFrom != table.snapshot) {
                    // Snapshots arrived during the build: another round, after the interval.
                    scheduleRebuild();
                }
            }
        }
    }

    /** The pools of {@code from}'s routable instances, as the table of {@code snapshot}. O(n). */
    private Table build(ServiceSnapshot snapshot, ServiceSnapshot from) {
        ServiceRuntime.Members members = service.members(from);
        Policy p = spec.policy();
        List<Upstream> matchingUpstreams = new ArrayList<>();
        List<Instance> matchingInstances = new ArrayList<>();
        for (int i = 0; i < members.instances().length; i++) {
            Instance instance = members.instances()[i];
            if (carries(instance, p.tags(), p.meta())) {
                matchingUpstreams.add(members.upstreams()[i]);
                matchingInstances.add(instance);
            }
        }
        // Model pools are built whenever model routing may apply; which requests use them is
        // decided per request (inference path, mode).
        boolean models = modelRouting != ModelRouting.OFF;
        Balancer tables = balancer == Balancer.DEFAULT ? Balancer.ROUND_ROBIN : balancer;
        Pool[] pools;
        int[] cumulative;
        if (p.subsets().isEmpty()) {
            pools = new Pool[] {build(matchingUpstreams, matchingInstances, tables, 0, models)};
            cumulative = new int[] {1};
        } else {
            pools = new Pool[p.subsets().size()];
            cumulative = new int[pools.length];
            int sum = 0;
            for (int s = 0; s < pools.length; s++) {
                Subset subset = p.subsets().get(s);
                List<Upstream> su = new ArrayList<>();
                List<Instance> si = new ArrayList<>();
                for (int i = 0; i < matchingInstances.size(); i++) {
                    if (carries(matchingInstances.get(i), subset.tags(), subset.meta())) {
                        su.add(matchingUpstreams.get(i));
                        si.add(matchingInstances.get(i));
                    }
                }
                pools[s] = build(su, si, tables, s, models);
                sum += subset.weight();
                cumulative[s] = sum;
            }
        }
        return new Table(
                snapshot,
                from,
                pools,
                cumulative,
                snapshot.instances().size(),
                snapshot.routableCount(),
                matchingUpstreams.size());
    }

    private Pool build(
            List<Upstream> upstreams, List<Instance> instances, Balancer tables, int subset, boolean models) {
        return Pool.build(
                upstreams,
                instances,
                tables,
                cursors[subset],
                models
                        ? model -> modelCursors.computeIfAbsent(subset + "\u0000" + model, k -> new AtomicLong())
                        : null);
    }

    /** Whether the instance has every tag and every metadata value. */
    static boolean carries(Instance instance, List<String> tags, Map<String, String> meta) {
        if (!tags.isEmpty() && !instance.spec().tags().containsAll(tags)) {
            return false;
        }
        for (Map.Entry<String, String> e : meta.entrySet()) {
            if (!e.getValue().equals(instance.spec().meta().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /**
     * The pools of one route for one snapshot: one per subset (one in all without subsets), with
     * the cumulative subset weights, and the counts that explain an empty answer.
     */
    static final class Table {
        static final Table NONE = new Table(null, null, new Pool[0], new int[0], 0, 0, 0);

        /** The snapshot this table answers for (compared by identity on every request). */
        final ServiceSnapshot snapshot;
        /** The snapshot the pools were built from: {@link #snapshot} or, for a large service, an older one. */
        final ServiceSnapshot builtFrom;

        final Pool[] pools;
        private final int[] cumulative;
        private final int totalWeight;
        final int registered;
        final int routable;
        final int matching;
        /** Whether any instance of the table advertises a model. */
        final boolean advertisesModels;

        Table(
                ServiceSnapshot snapshot,
                ServiceSnapshot builtFrom,
                Pool[] pools,
                int[] cumulative,
                int registered,
                int routable,
                int matching) {
            this.snapshot = snapshot;
            this.builtFrom = builtFrom;
            this.pools = pools;
            this.cumulative = cumulative;
            this.totalWeight = cumulative.length == 0 ? 0 : cumulative[cumulative.length - 1];
            this.registered = registered;
            this.routable = routable;
            this.matching = matching;
            boolean any = false;
            for (Pool pool : pools) {
                any |= pool.advertisesModels();
            }
            this.advertisesModels = any;
        }

        /** The same pools answering for a newer snapshot, with its counts. */
        Table seen(ServiceSnapshot newer) {
            return new Table(
                    newer, builtFrom, pools, cumulative, newer.instances().size(), newer.routableCount(), matching);
        }

        /**
         * The subset for one request: drawn by weight at random, or by the request's key hash so
         * that one key stays in one subset; an empty subset gives way to the next non-empty one.
         *
         * @return the subset index, or -1 when every subset is empty
         */
        int choose(boolean hashed, long hash) {
            int n = pools.length;
            if (n == 0) {
                return -1;
            }
            if (n == 1) {
                return pools[0].size() > 0 ? 0 : -1;
            }
            int draw = hashed
                    ? (int) Long.remainderUnsigned(Pool.mix(hash ^ 0x5bd1e995L), totalWeight)
                    : ThreadLocalRandom.current().nextInt(totalWeight);
            int chosen = 0;
            while (cumulative[chosen] <= draw) {
                chosen++;
            }
            if (pools[chosen].size() > 0) {
                return chosen;
            }
            return fallback(chosen, null);
        }

        /** The pool of {@code model} in subset {@code chosen}, else in the first other subset that has one. */
        Pool modelPool(int chosen, String model) {
            Pool pool = pools[chosen].model(model);
            if (pool != null) {
                return pool;
            }
            int other = fallback(chosen, model);
            return other < 0 ? null : pools[other].model(model);
        }

        /** The first other subset, weighted ones first, that has instances (of {@code model}, if set). */
        private int fallback(int chosen, String model) {
            for (int pass = 0; pass < 2; pass++) {
                for (int s = 0; s < pools.length; s++) {
                    boolean weighted = weight(s) > 0;
                    if (s == chosen || weighted != (pass == 0)) {
                        continue;
                    }
                    if (model == null ? pools[s].size() > 0 : pools[s].model(model) != null) {
                        return s;
                    }
                }
            }
            return -1;
        }

        private int weight(int subset) {
            return cumulative[subset] - (subset == 0 ? 0 : cumulative[subset - 1]);
        }

        /** The models the table's instances serve, sorted. */
        List<String> models() {
            TreeSet<String> all = new TreeSet<>();
            for (Pool pool : pools) {
                all.addAll(pool.models());
            }
            return List.copyOf(all);
        }
    }
}
