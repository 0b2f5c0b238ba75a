package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The members of one service as the registry thread keeps them between publications: each
 * instance's slot (its place in registration order) and its position among the routable ones,
 * and the two persistent tries a {@link ServiceSnapshot} is made of. Every change updates the
 * tries by path copying (O(log32 n)), so {@link #snapshot} is O(1) and a batch costs in
 * proportion to the instances it changed, whatever the size of the service.
 *
 * <p>Not thread-safe: owned by the registry thread. What it hands out (the tries, through
 * snapshots) is immutable.
 */
final class ServiceMembers {
    private static final Instance[] NONE = new Instance[0];

    /** Slots below this many are never renumbered: a small service keeps its holes. */
    private static final int RENUMBER_FLOOR = 64;

    final String name;
    private final Map<String, Member> byId = new HashMap<>();
    private InstanceTrie all = InstanceTrie.EMPTY;
    private RoutableTrie routable = RoutableTrie.EMPTY;
    private int nextSlot;
    private int renumbered;
    /**
     * New members not yet in the tries: slots from {@link #pendingFirstSlot} on, in order, and
     * the routable ones among them, whose positions follow the routable trie's. Written to the
     * tries in runs ({@link #flush}) before any other change and before a snapshot, so a batch of
     * new registrations copies about one leaf per 32 instances instead of a path per instance.
     */
    private Instance[] pendingAll = NONE;

    private Instance[] pendingRoutable = NONE;
    private int pendingAllCount;
    private int pendingRoutableCount;
    private int pendingFirstSlot;

    /** One instance's places: its slot in {@link #all} and its position in {@link #routable}. */
    private static final class Member {
        Instance instance;
        int slot;
        /** Position among the routable instances; -1 when not routable. */
        int position = -1;

        Member(Instance instance, int slot) {
            this.instance = instance;
            this.slot = slot;
        }
    }

    ServiceMembers(String name) {
        this.name = name;
    }

    /**
     * Adds or replaces an instance. A new one takes {@code slot} when it is not negative (an undo
     * putting an instance back where it was), else the next slot: the end of registration order.
     */
    void put(Instance instance, int slot) {
        String id = instance.id();
        Member m = byId.get(id);
        if (m == null && slot < 0) {
            append(id, instance);
            return;
        }
        flush();
        if (m == null) {
            m = new Member(instance, all.get(slot) == null ? slot : nextSlot);
            nextSlot = Math.max(nextSlot, m.slot + 1);
            byId.put(id, m);
        } else {
            m.instance = instance;
        }
        all = all.with(m.slot, instance);
        boolean now = instance.routable();
        if (m.position >= 0 && now) {
            routable = routable.set(m.position, instance);
        } else if (m.position >= 0) {
            unroute(m);
        } else if (now) {
            m.position = routable.count;
            routable = routable.append(instance);
        }
    }

    /**
     * Removes the instance with this id; returns the slot it had (where an undo may put it back),
     * or -1 if it was not a member or the removal renumbered the service.
     */
    int remove(String id) {
        flush();
        Member m = byId.remove(id);
        if (m == null) {
            return -1;
        }
        all = all.with(m.slot, null);
        if (m.position >= 0) {
            unroute(m);
        }
        if (nextSlot > 2 * byId.size() + RENUMBER_FLOOR) {
            renumber();
            return -1;
        }
        return m.slot;
    }

    /** A new member at the end of registration order, buffered until {@link #flush}. */
    private void append(String id, Instance instance) {
        if (pendingAllCount == 0) {
            pendingFirstSlot = nextSlot;
        }
        Member m = new Member(instance, nextSlot++);
        byId.put(id, m);
        pendingAll = push(pendingAll, pendingAllCount++, instance);
        if (instance.routable()) {
            m.position = routable.count + pendingRoutableCount;
            pendingRoutable = push(pendingRoutable, pendingRoutableCount++, instance);
        }
    }

    private static Instance[] push(Instance[] buffer, int at, Instance instance) {
        Instance[] b = at < buffer.length ? buffer : Arrays.copyOf(buffer, Math.max(16, 2 * buffer.length));
        b[at] = instance;
        return b;
    }

    /** Writes the buffered new members into the tries, one run per leaf. */
    private void flush() {
        if (pendingAllCount == 0) {
            return;
        }
        all = all.withRun(pendingFirstSlot, pendingAll, pendingAllCount);
        routable = routable.appendRun(pendingRoutable, pendingRoutableCount);
        // Dropped, not cleared: an idle service keeps no buffer.
        pendingAll = NONE;
        pendingRoutable = NONE;
        pendingAllCount = 0;
        pendingRoutableCount = 0;
    }

    /** Takes a member out of the routable trie; the last routable instance takes its position. */
    private void unroute(Member m) {
        int last = routable.count - 1;
        if (m.position != last) {
            Member moved = byId.get(routable.get(last).id());
            moved.position = m.position;
        }
        routable = routable.swapRemove(m.position);
        m.position = -1;
    }

    /**
     * Gives the members slots 0 to n - 1 in their order, in a new lineage: more than half the
     * slot range was holes. O(n), once per at least n/2 removals.
     */
    private void renumber() {
        List<Instance> ordered = new ArrayList<>(byId.size());
        all.forEach(ordered::add);
        for (int i = 0; i < ordered.size(); i++) {
            byId.get(ordered.get(i).id()).slot = i;
        }
        renumbered++;
        all = InstanceTrie.of(ordered, renumbered);
        nextSlot = ordered.size();
    }

    /** The service as readers see it, at {@code index}. */
    ServiceSnapshot snapshot(long index) {
        flush();
        return new ServiceSnapshot(name, index, all, routable);
    }
}
