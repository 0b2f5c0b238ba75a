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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Every model that the routable instances of any service advertise ({@code model} or
 * {@code models} metadata, and what the gateway read from their engines: {@code engine-models},
 * {@code engine-adapters}), with a least-request pool per model: what an OpenAI-compatible
 * request without a route of its own is sent to, and what {@code GET /v1/models} lists.
 *
 * <p>Rebuilt, under this object's lock, when the registry's index has moved since the last build
 * (one volatile read per request otherwise); the pools' cursors are kept across rebuilds.
 */
final class ModelDirectory {
    private final Registry registry;
    private final Function<String, ServiceRuntime> runtimes;
    private final ConcurrentHashMap<String, AtomicLong> cursors = new ConcurrentHashMap<>();
    private volatile Table table = new Table(Long.MIN_VALUE, Map.of(), List.of());

    /**
     * The models at one registry index.
     *
     * @param index the registry index it was built at
     * @param pools the instances serving each model
     * @param models what {@code GET /v1/models} lists, sorted by id
     */
    record Table(long index, Map<String, Pool> pools, List<Model> models) {}

    /**
     * One model and who serves it.
     *
     * @param id the model name
     * @param services the services with an instance serving it, sorted
     * @param instances how many routable instances serve it
     */
    record Model(String id, List<String> services, int instances) {}

    ModelDirectory(Registry registry, Function<String, ServiceRuntime> runtimes) {
        this.registry = registry;
        this.runtimes = runtimes;
    }

    /** The table for the registry's current index. */
    Table table() {
        long index = registry.index();
        Table t = table;
        if (t.index() == index) {
            return t;
        }
        return rebuild(index);
    }

    private synchronized Table rebuild(long index) {
        Table t = table;
        if (t.index() == index) {
            return t;
        }
        Map<String, List<Upstream>> upstreams = new HashMap<>();
        Map<String, List<Instance>> instances = new HashMap<>();
        Map<String, TreeSet<String>> services = new TreeMap<>();
        for (ServiceSnapshot snapshot : registry.services()) {
            if (snapshot.routableCount() == 0 || !anyModel(snapshot)) {
                continue;
            }
            ServiceRuntime.Members members = runtimes.apply(snapshot.name()).members(snapshot);
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
        Table built = new Table(index, Map.copyOf(pools), List.copyOf(models));
        table = built;
        return built;
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
