package io.edgegate.gateway.registry;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * Everything readers need about one service at one registry index: all its instances (any
 * health) and the routable ones. Immutable and published whole by the registry writer; readers
 * reach it with one map read and never lock.
 *
 * <p>Both views are persistent tries shared with the snapshots before and after this one
 * ({@link InstanceTrie}, {@link RoutableTrie}): publishing a snapshot after a batch copies only
 * the chunks the batch changed, so a service of 100,000 instances costs no more to publish than
 * one of ten. {@link #routable(int)} reads one array while the service has up to 32 routable
 * instances, and one more per factor of 32 beyond.
 */
public final class ServiceSnapshot {
    private final String name;
    private final long index;
    private final InstanceTrie all;
    // The routable trie's fields, inline: the routing path reads them without another hop.
    private final Object[] routableRoot;
    private final int routableShift;
    private final int routableCount;
    /** Completed by the writer once a newer snapshot of this service is published. */
    final CompletableFuture<Void> superseded = new CompletableFuture<>();

    ServiceSnapshot(String name, long index, InstanceTrie all, RoutableTrie routable) {
        this.name = name;
        this.index = index;
        this.all = all;
        this.routableRoot = routable.root;
        this.routableShift = routable.shift;
        this.routableCount = routable.count;
    }

    public String name() {
        return name;
    }

    /** Highest registry index of any change to this service, deletions included. */
    public long index() {
        return index;
    }

    /**
     * Every instance, whatever its health, in registration order: a read-only view that iterates
     * the snapshot's trie without copying ({@code get(i)} descends by subtree counts).
     */
    public List<Instance> instances() {
        return all.asList();
    }

    /** Number of instances the proxy may use. */
    public int routableCount() {
        return routableCount;
    }

    /**
     * The i-th routable instance (0 to {@link #routableCount()} - 1); no allocation, for the
     * routing path. Positions carry no order and change between snapshots. Reads this snapshot
     * and the trie's nodes only, never the instance itself (see {@link RoutableTrie#get}).
     */
    public Instance routable(int i) {
        Objects.checkIndex(i, routableCount);
        return RoutableTrie.get(routableRoot, routableShift, i);
    }

    /** Whether the service has no instance left (kept to carry its deletion index). */
    public boolean isEmpty() {
        return all.size() == 0;
    }

    /**
     * Calls {@code visitor(before, after)} for every instance that differs between {@code older}
     * (an earlier snapshot of this service) and this one: {@code before} null for an instance
     * added, {@code after} null for one removed, both set for one replaced (any change makes a new
     * {@link Instance}). Unchanged parts are skipped by identity, so the cost is in proportion to
     * what changed, not to the size of the service.
     *
     * @return false, having visited nothing, when the two cannot be compared that way (another
     *     service, or the registry renumbered this one in between): the caller reads this
     *     snapshot whole instead
     */
    public boolean diff(ServiceSnapshot older, BiConsumer<Instance, Instance> visitor) {
        return older.name.equals(name) && all.diff(older.all, visitor);
    }

    InstanceTrie trie() {
        return all;
    }

    RoutableTrie routableTrie() {
        return new RoutableTrie(routableRoot, routableShift, routableCount);
    }
}
