package io.edgegate.benchmarks;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The plain JDK baseline of a lock-free registry: a {@link ConcurrentHashMap} of service name to
 * an immutable array of its routable instances, replaced whole (copy on write) by the one writer.
 * A read is the map's {@code get} and an array read, the design the registry had before its own
 * service table: the difference to {@code registry} is the map's node between slot and value.
 */
final class CopyOnWriteMapRouteTable implements RouteTable {
    private final ConcurrentHashMap<String, Instance[]> services = new ConcurrentHashMap<>();
    private long index;

    @Override
    public synchronized void register(List<InstanceSpec> specs) {
        for (InstanceSpec spec : specs) {
            index++;
            Instance instance = new Instance(spec, List.of(), null, index, index);
            Instance[] members = services.getOrDefault(spec.service(), new Instance[0]);
            int at = -1;
            for (int i = 0; i < members.length; i++) {
                if (members[i].id().equals(spec.id())) {
                    at = i;
                }
            }
            Instance[] copy = Arrays.copyOf(members, at < 0 ? members.length + 1 : members.length);
            copy[at < 0 ? members.length : at] = instance;
            services.put(spec.service(), copy);
        }
    }

    @Override
    public Instance pick(String service, int seq) {
        Instance[] members = services.get(service);
        if (members == null || members.length == 0) {
            return null;
        }
        return members[RouteTable.spread(seq, members.length)];
    }

    @Override
    public int routableCount(String service) {
        Instance[] members = services.get(service);
        return members == null ? 0 : members.length;
    }

    @Override
    public void close() {
        services.clear();
    }
}
