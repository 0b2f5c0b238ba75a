package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Every model that the routable instances of any service advertise ({@code model} or
 * {@code models} metadata, and what the gateway read from their engines: {@code engine-models},
 * {@code engine-adapters}), with a least-request pool per model: what an OpenAI-compatible
 * request without a route of its own is sent to, and what {@code GET /v1/models} lists.
 *
 * <p>Looked at again when the registry's index has moved since the last look (one volatile read
 * per request otherwise), under this object's lock. A rebuild reads every service, so it is done
 * on the spot only while the last one looked at no more than
 * {@value RouteRuntime#SYNC_REBUILD_MAX_INSTANCES} instances. Beyond that the table keeps its
 * pools, the services they draw on are brought up to date ({@link ServiceRuntime#sync}: instances
 * gone or no longer routable are skipped at once), and the pools are rebuilt off the request
 * path at most once per interval, as {@link RouteRuntime} does for a large service. The pools'
 * cursors are kept across rebuilds.
 */
final class ModelDirectory {
    private static final Table NONE = new Table(Long.MIN_VALUE, Long.MIN_VALUE, Map.of(), List.of(), List.of(), 0);

    private final Registry registry;
    private final Function<String, ServiceRuntime> runtimes;
    /** Where large directories are rebuilt; null: always on the request path. */
    private final ScheduledExecutorService rebuilds;

    private final ConcurrentHashMap<String, AtomicLong> cursors = new ConcurrentHashMap<>();
    private volatile Table table = NONE;

    // Off-path rebuilds; guarded by this.
    private boolean rebuildPending;
    private long lastRebuildEndNanos;
    private long lastRebuildNanos;

    /**
     * The models at one registry index.
     *
     * @param index the registry index it answers for
     * @param builtAt the registry index its pools were built at ({@code index} or older)
     * @param pools the instances serving each model
     * @param models what {@code GET /v1/models} lists, sorted by id
     * @param sources the services whose instances are in the pools
     * @param scanned the routable instances the build looked at
     */
    record Table(
            long index, long builtAt, Map<String, Pool> pools, List<Model> models, List<String> sources, int scanned) {

        Table at(long newer) {
            return new Table(newer, builtAt, pools, models, sources, scanned);
        }
    }

    /**
     * One model and who serves it.
     *
     * @param id the model name
     * @param services the services with an instance serving it, sorted
     * @param instances how many routable instances serve it
     */
    record Model(String id, List<String> services, int instances) {}

    ModelDirectory(Registry registry, Function<String, ServiceRuntime> runtimes) {
        this(registry, runtimes, null);
    }

    ModelDirectory(Registry registry, Function<String, ServiceRuntime> runtimes, ScheduledExecutorService rebuilds) {
        this.registry = registry;
        this.runtimes = runtimes;
        this.rebuilds = rebuilds;
    }

    /** The table for the registry's current index. */
    Table table() {
        long index = registry.index();
        Table t = table;
        if (t.index() == index) {
            return t;
        }
        return refresh(index);
    }

    private synchronized Table refresh(long index) {
        Table t = table;
        if (t.index() >= index) {
            return t;
        }
        if (t == NONE || rebuilds == null || t.scanned() <= RouteRuntime.SYNC_REBUILD_MAX_INSTANCES) {
            Table built = build(index);
            table = built;
            return built;
        }
        for (String service : t.sources()) {
            runtimes.apply(service).sync(registry.service(service));
        }
        Table seen = t.at(index);
        table = seen;
        scheduleRebuild();
        return seen;
    }

    private void scheduleRebuild() {
        if (rebuildPending) {
            return;
        }
        rebuildPending = true;
        long interval = Math.max(
                TimeUnit.MILLISECONDS.toNanos(RouteRuntime.MIN_REBUILD_INTERVAL_MILLIS), 10 * lastRebuildNanos);
        long delay = lastRebuildEndNanos == 0 ? 0 : lastRebuildEndNanos + interval - System.nanoTime();
        try {
            rebuilds.schedule(this::rebuildOffPath, Math.max(0, delay), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            rebuildPending = false;
        }
    }

    private void rebuildOffPath() {
        long start = System.nanoTime();
        long index = registry.index();
        Table built = null;
        try {
            built = build(index);
        } finally {
            long end = System.nanoTime();
            synchronized (this) {
                rebuildPending = false;
                lastRebuildEndNanos = end;
                lastRebuildNanos = end - start;
                Table t = table;
                if (built != null && t.builtAt() <= index) {
                    table = t.index() <= index ? built : built.at(t.index());
                }
                if (table.builtAt() != table.index()) {
                    scheduleRebuild();
                }
            }
        }
    }

    /** Reads every service at the registry's current state, answering for {@code index}. O(instances). */
    private Table build(long index) {
        Map<String, List<Upstream>> upstreams = new HashMap<>();
        Map<String, List<Instance>> instances = new HashMap<>();
        Map<String, TreeSet<String>> services = new TreeMap<>();
        List<String> sources = new ArrayList<>();
        int scanned = 0;
        for (ServiceSnapshot snapshot : registry.services()) {
            scanned += snapshot.routableCount();
            if (snapshot.routableCount() == 0 || !anyModel(snapshot)) {
                continue;
            }
            ServiceRuntime runtime = runtimes.apply(snapshot.name());
            runtime.sync(snapshot);
            ServiceRuntime.Members members = runtime.members(snapshot);
            sources.add(snapshot.name());
            for (int i = 0; i < members.instances().length; i++) {
                Instance instance = members.instances()[i];
                for (String model : Pool.models(instance)) {
                    upstreams.computeIfAbsent(model, m -> new ArrayList<>()).add(members.upstreams()[i]);
                    instances.computeIfAbsent(model, m -> new ArrayList<>()).add(instance);
                    services.computeIfAbsent(model, m -> new TreeSet<>()).add(snapshot.name());
                }
            }
        }
        Map<String, Pool> pools = new HashMap<>();
        List<Model> models = new ArrayList<>();
        for (Map.Entry<String, TreeSet<String>> e : services.entrySet()) {
            String model = e.getKey();
            AtomicLong cursor = cursors.computeIfAbsent(model, m -> new AtomicLong());
            pools.put(
                    model,
                    Pool.build(upstreams.get(model), instances.get(model), Balancer.LEAST_REQUEST, cursor, null));
            models.add(new Model(
                    model, List.copyOf(e.getValue()), upstreams.get(model).size()));
        }
        return new Table(index, index, Map.copyOf(pools), List.copyOf(models), List.copyOf(sources), scanned);
    }

    private static boolean anyModel(ServiceSnapshot snapshot) {
        for (int i = 0; i < snapshot.routableCount(); i++) {
            Map<String, String> meta = snapshot.routable(i).spec().meta();
            for (String key : Pool.MODEL_KEYS) {
                if (meta.containsKey(key)) {
                    return true;
                }
            }
        }
        return false;
    }
}
