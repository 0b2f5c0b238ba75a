package io.edgegate.benchmarks;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The baseline: the usual registry design, a {@link ConcurrentHashMap} of service name to a
 * mutable list of instances, changed in place under a write lock while readers hold the read lock
 * of a {@link ReentrantReadWriteLock}. Lists hold only routable instances (registrations without
 * checks are passing), so the baseline does no more filtering work than the registry's snapshots:
 * the two differ only in how readers are kept consistent with writers.
 */
final class LockedMapRouteTable implements RouteTable {
    private final ConcurrentHashMap<String, List<Instance>> services = new ConcurrentHashMap<>();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long index;

    @Override
    public void register(List<InstanceSpec> specs) {
        lock.writeLock().lock();
        try {
            for (InstanceSpec spec : specs) {
                index++;
                Instance instance = new Instance(spec, List.of(), null, index, index);
                List<Instance> members = services.computeIfAbsent(spec.service(), s -> new ArrayList<>());
                int at = indexOf(members, spec.id());
                if (at < 0) {
                    members.add(instance);
                } else {
                    members.set(at, instance);
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private static int indexOf(List<Instance> members, String id) {
        for (int i = 0; i < members.size(); i++) {
            if (members.get(i).id().equals(id)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public Instance pick(String service, int seq) {
        ReentrantReadWriteLock.ReadLock read = lock.readLock();
        read.lock();
        try {
            List<Instance> members = services.get(service);
            if (members == null) {
                return null;
            }
            int count = members.size();
            return count == 0 ? null : members.get(RouteTable.spread(seq, count));
        } finally {
            read.unlock();
        }
    }

    @Override
    public int routableCount(String service) {
        lock.readLock().lock();
        try {
            List<Instance> members = services.get(service);
            return members == null ? 0 : members.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        services.clear();
    }
}
