package io.edgegate.gateway.inference;

import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every instance's {@link EngineState}, by instance id: written by the scraper, read by the
 * scorer on the request path with one map read ({@link #lookup}: no lock, no allocation). An
 * instance the scorer picks before any scrape gets its state (and prefix slot) then, once.
 *
 * <p>Slots (1-65535) are handed out under this object's lock when a state is made, and taken back
 * when the scraper finds the instance gone; a slot handed out again may inherit a few stale
 * prefix entries of its last owner, a wrong hint for one request at worst.
 */
final class SignalBoard {
    static final int MAX_SLOTS = 0xFFFF;

    private final ConcurrentHashMap<String, EngineState> states = new ConcurrentHashMap<>();
    /** Guarded by this. */
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    /** Guarded by this. */
    private int nextSlot = 1;

    /** The state of an instance, or null when it has none yet. */
    EngineState lookup(String instanceId) {
        return states.get(instanceId);
    }

    /** The state of an instance, made if it has none. */
    EngineState state(String instanceId) {
        EngineState s = states.get(instanceId);
        return s != null ? s : states.computeIfAbsent(instanceId, id -> new EngineState(id, allocate()));
    }

    /** Forgets an instance that left the registry. */
    void remove(String instanceId) {
        EngineState s = states.remove(instanceId);
        if (s != null && s.slot != 0) {
            release(s.slot);
        }
    }

    Iterable<EngineState> all() {
        return states.values();
    }

    int size() {
        return states.size();
    }

    private synchronized int allocate() {
        Integer free = freeSlots.poll();
        if (free != null) {
            return free;
        }
        return nextSlot <= MAX_SLOTS ? nextSlot++ : 0;
    }

    private synchronized void release(int slot) {
        freeSlots.add(slot);
    }
}
