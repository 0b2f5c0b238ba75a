package io.edgegate.gateway.sync;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one connection learned of this node's retained instances on the broker: the version of
 * each one read back after the subscription, and the changes acknowledged on this connection.
 * Once the read-back has settled (nothing arrived for a while), every registry instance whose
 * retained copy is missing or not its current version is published again: a broker restarted
 * without its store lost them, one restored from an old snapshot holds older versions, and a
 * consumer that subscribes later would otherwise never see them.
 *
 * <p>A premature settle (the read-back delayed past the settle time) costs duplicates only: the
 * consumer ignores a version it already holds.
 *
 * <p>Threads: {@link #retained} and {@link #acknowledged} on Paho's threads, {@link #reset} on the
 * link's thread when a connection ends, the rest on the drainer thread.
 */
final class ReadBack {
    private final ConcurrentHashMap<String, long[]> retained = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> acknowledged = new ConcurrentHashMap<>();
    private final AtomicLong lastArrivalNanos = new AtomicLong(System.nanoTime());

    /** The connection ended: what it read back says nothing about the next one. */
    void reset() {
        retained.clear();
        acknowledged.clear();
        lastArrivalNanos.set(System.nanoTime());
    }

    /** The broker holds this node's instance {@code id} at {@code (epoch, index)}. */
    void retained(String id, long epoch, long index) {
        retained.put(id, new long[] {epoch, index});
        lastArrivalNanos.set(System.nanoTime());
    }

    /** A state of {@code id} at {@code index} acknowledged on this connection. */
    void acknowledged(String id, long index) {
        acknowledged.merge(id, index, Math::max);
    }

    /** Whether nothing was read back for {@code quietNanos}, counted from {@code connectedAtNanos} at least. */
    boolean settled(long connectedAtNanos, long quietNanos, long nowNanos) {
        long last = Math.max(connectedAtNanos, lastArrivalNanos.get());
        return nowNanos - last >= quietNanos;
    }

    /**
     * Whether the broker's copy of {@code id} is missing or another version than {@code (epoch,
     * index)}, and this connection has not acknowledged that version since.
     */
    boolean stale(String id, long epoch, long index) {
        Long acked = acknowledged.get(id);
        if (acked != null && acked >= index) {
            return false;
        }
        long[] held = retained.get(id);
        return held == null || held[0] != epoch || held[1] != index;
    }

    /** Instances read back on this connection. */
    int size() {
        return retained.size();
    }
}
