package io.edgegate.gateway.sync;

import io.edgegate.bridge.Digest;
import io.edgegate.bridge.Manifest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * This node's instances as the broker holds them, by the broker's acknowledgements: each id and
 * the index of its last acknowledged state, with the running {@link Digest.Accumulator} over
 * them. The digests and manifests the node publishes are taken from it, never from the registry
 * directly: a change the registry made but the broker has not acknowledged is not in them, so a
 * digest taken when the outbox is empty describes exactly what a consumer received before it.
 *
 * <p>It starts as the registry's instances acknowledged before a restart (those at or below the
 * persisted acknowledged index); later changes join it as the broker acknowledges them.
 *
 * <p>Threads: acknowledgements arrive on Paho's threads, digests and manifests are taken on the
 * drainer thread; every method holds the object's monitor (short, no I/O).
 */
final class BrokerCopy {
    /** An id's last acknowledged change: a state at {@code index}, or its removal (a tombstone). */
    private record Acked(long index, boolean present) {}

    private final Map<String, Acked> ids = new HashMap<>();
    private final Digest.Accumulator accumulator = new Digest.Accumulator();

    /** A state at {@code index} known to be on the broker (start-up). */
    synchronized void assume(String id, long index) {
        acknowledged(id, true, index);
    }

    /**
     * The broker acknowledged a state ({@code present}) or a removal of {@code id}. A change older
     * than the one already acknowledged for the id changes nothing: two changes of one id may be
     * in flight at once. A removal with index 0 (stale state the registry never had in this run)
     * always applies.
     */
    synchronized void acknowledged(String id, boolean present, long index) {
        Acked old = ids.get(id);
        if (old != null && index < old.index && (present || index != 0)) {
            return;
        }
        if (old != null && old.present) {
            accumulator.remove(id, old.index);
        }
        if (present) {
            accumulator.add(id, index);
        }
        ids.put(id, new Acked(index, present));
    }

    /** A digest of what the broker holds, stamped with the node's epoch and {@code index}. */
    synchronized Digest digest(long epoch, long index, long timestamp) {
        return accumulator.digest(epoch, index, timestamp);
    }

    /** Instances held. */
    synchronized long count() {
        return accumulator.count();
    }

    /**
     * The manifests of {@code buckets} (each split into parts under the payload limit), as of the
     * node's {@code (epoch, index)}. Taken when nothing is in flight, they list exactly the
     * bucket's instances at that index.
     */
    synchronized List<Manifest> manifests(long epoch, long index, Collection<Integer> buckets) {
        Map<Integer, List<Manifest.Entry>> byBucket = new TreeMap<>();
        for (int b : buckets) {
            byBucket.put(b, new ArrayList<>());
        }
        for (Map.Entry<String, Acked> e : ids.entrySet()) {
            if (e.getValue().present) {
                List<Manifest.Entry> list = byBucket.get(Digest.bucketOf(e.getKey()));
                if (list != null) {
                    list.add(new Manifest.Entry(e.getKey(), e.getValue().index));
                }
            }
        }
        List<Manifest> out = new ArrayList<>();
        byBucket.forEach((bucket, entries) -> out.addAll(Manifest.of(epoch, index, bucket, entries)));
        return out;
    }

    /**
     * Forgets the tombstones; called when nothing is in flight, so no older change of a removed
     * id can be acknowledged after it any more.
     */
    synchronized void forgetRemovals() {
        ids.values().removeIf(a -> !a.present);
    }
}
