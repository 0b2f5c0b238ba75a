package io.edgegate.gateway.registry;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Everything readers need about one service at one registry index: all its instances (any
 * health) and the routable ones. Immutable and published whole by the registry writer; readers
 * reach it with one map read and never lock.
 */
public final class ServiceSnapshot {
    private static final Instance[] NONE = new Instance[0];

    private final String name;
    private final long index;
    private final List<Instance> instances;
    private final Instance[] routable;
    /** Completed by the writer once a newer snapshot of this service is published. */
    final CompletableFuture<Void> superseded = new CompletableFuture<>();

    ServiceSnapshot(String name, long index, List<Instance> instances) {
        this.name = name;
        this.index = index;
        this.instances = List.copyOf(instances);
        int count = 0;
        for (Instance instance : instances) {
            if (instance.routable()) {
                count++;
            }
        }
        Instance[] ready = count == 0 ? NONE : new Instance[count];
        int i = 0;
        for (Instance instance : instances) {
            if (instance.routable()) {
                ready[i++] = instance;
            }
        }
        this.routable = ready;
    }

    public String name() {
        return name;
    }

    /** Highest registry index of any change to this service, deletions included. */
    public long index() {
        return index;
    }

    /** Every instance, whatever its health, in registration order. */
    public List<Instance> instances() {
        return instances;
    }

    /** Number of instances the proxy may use. */
    public int routableCount() {
        return routable.length;
    }

    /** The i-th routable instance; no allocation, for the routing path. */
    public Instance routable(int i) {
        return routable[i];
    }

    /** Whether the service has no instance left (kept to carry its deletion index). */
    public boolean isEmpty() {
        return instances.isEmpty();
    }
}
