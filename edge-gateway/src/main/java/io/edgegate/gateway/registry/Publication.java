package io.edgegate.gateway.registry;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the registry writer publishes and every other thread reads: the snapshot of each service,
 * each instance by id, the lease of each TTL check, the entries of each configuration kind, the
 * index of the last publication (with a future that completes at the next one), and the probe
 * counters. {@link Registry} answers its readers from here; the writer's {@link Publisher} and
 * {@link CheckHealth} are the only callers of the writing methods.
 *
 * <p>Thread-safe: the writing methods are called by the registry thread only (one writer), the
 * reading methods by any thread, without locks. A reader sees each entry either before or after a
 * batch's change to it; the index is published last, after the batch's snapshots, so a reader
 * woken by {@link #generation()}'s future sees them.
 */
final class Publication {
    private final ServiceTable services = new ServiceTable();
    private final ConcurrentHashMap<String, Instance> instances = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Lease> leases = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ConfigSnapshot> config = new ConcurrentHashMap<>();
    private final AtomicLong probesLaunched = new AtomicLong();
    private final AtomicLong probesSkipped = new AtomicLong();
    private final AtomicLong probesStale = new AtomicLong();
    private volatile Generation generation = new Generation(0, new CompletableFuture<>());
    /** Whether the journal failed beyond repair (the writer refuses every write until a restart). */
    private volatile boolean journalBroken;

    /** The registry index at one publication, and a future completed at the next one. */
    record Generation(long index, CompletableFuture<Void> next) {}

    /** The entries of one configuration kind at one index. */
    record ConfigSnapshot(long index, Map<String, String> entries) {}

    // ---------------------------------------------------------------- any thread

    ServiceSnapshot service(String name) {
        return services.get(name);
    }

    Collection<ServiceSnapshot> services() {
        return services.values();
    }

    Instance instance(String id) {
        return instances.get(id);
    }

    int instanceCount() {
        return instances.size();
    }

    Lease lease(String checkId) {
        return leases.get(checkId);
    }

    /** The entries of {@code kind} as last published, or null. */
    ConfigSnapshot config(String kind) {
        return config.get(kind);
    }

    Generation generation() {
        return generation;
    }

    boolean journalBroken() {
        return journalBroken;
    }

    /** Probes launched, skipped because the previous one was still running, and results dropped as stale. */
    long[] probeCounts() {
        return new long[] {probesLaunched.get(), probesSkipped.get(), probesStale.get()};
    }

    // ---------------------------------------------------------------- registry thread

    void service(ServiceSnapshot snapshot) {
        ServiceSnapshot old = services.put(snapshot);
        if (old != null) {
            old.superseded.complete(null);
        }
    }

    void instance(String id, Instance instance) {
        if (instance == null) {
            instances.remove(id);
        } else {
            instances.put(id, instance);
        }
    }

    void lease(String checkId, Lease lease) {
        if (lease == null) {
            leases.remove(checkId);
        } else {
            leases.put(checkId, lease);
        }
    }

    void config(String kind, long index, Map<String, String> entries) {
        config.put(kind, new ConfigSnapshot(index, entries));
    }

    /** Publishes {@code index} (never lower than the last one) and wakes whoever waits for it. */
    void index(long index) {
        Generation old = generation;
        if (index < old.index()) {
            index = old.index();
        }
        generation = new Generation(index, new CompletableFuture<>());
        old.next().complete(null);
    }

    void journalBroken(boolean broken) {
        journalBroken = broken;
    }

    void countProbeLaunched() {
        probesLaunched.incrementAndGet();
    }

    void countProbeSkipped() {
        probesSkipped.incrementAndGet();
    }

    void countProbeStale() {
        probesStale.incrementAndGet();
    }
}
