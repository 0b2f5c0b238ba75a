package io.edgegate.cloud;

import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceRemoved;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncOrder;
import io.edgegate.bridge.TopicName;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The fleet: every node's stream applied idempotently by one applier thread, published as
 * immutable {@link FleetView} snapshots.
 *
 * <p>Rules: an instance state is applied only when its {@code (epoch, index)} is newer than the
 * instance's (or its tombstone's), so duplicates, reordering and older epochs change nothing; a
 * removal deletes and leaves a tombstone at the last version; node status follows
 * {@link NodeStatus#supersedes}; a node offline keeps its instances, shown stale with their
 * last-seen time; a digest that disagrees with what the fleet holds asks the node for a resync
 * (at most once per {@code resyncMinIntervalMillis}).
 *
 * <p>Threads: {@link #offer} from any thread (Paho's), never blocks; everything else mutable is
 * owned by the applier thread; {@link #view()} and {@link #awaitChange} from any thread.
 */
public final class Fleet implements AutoCloseable {
    /** Where resync requests go; called on the applier thread, must not block. */
    public interface ResyncSink {
        void requestResync(String site, String node, ResyncCommand command);
    }

    private record Arrival(Decoded.Accepted message, long receivedAt) {}

    private static final int QUEUE_CAPACITY = 1 << 18;
    private static final int MAX_BATCH = 4096;
    private static final int MAX_TOMBSTONES_PER_NODE = 100_000;

    private final BlockingQueue<Arrival> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final ResyncSink resync;
    private final long resyncMinIntervalMillis;
    private final Thread applier;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, LongAdder> rejected = new ConcurrentHashMap<>();
    private final AtomicLong applied = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong resyncsRequested = new AtomicLong();
    private volatile FleetView view = new FleetView(0, Collections.emptySortedMap());
    private volatile boolean closed;

    // ---- owned by the applier thread
    private final Map<String, NodeState> nodes = new HashMap<>();
    private final Set<NodeState> dirty = new HashSet<>();
    private long index;

    public Fleet(ResyncSink resync, long resyncMinIntervalMillis) {
        this.resync = resync;
        this.resyncMinIntervalMillis = resyncMinIntervalMillis;
        this.applier = Thread.ofPlatform().name("fleet-applier").daemon(true).start(this::run);
    }

    /** Hands a message to the applier; false (and counted) when the queue is full. */
    public boolean offer(Decoded.Accepted message, long receivedAtMillis) {
        if (queue.offer(new Arrival(message, receivedAtMillis))) {
            return true;
        }
        dropped.incrementAndGet();
        return false;
    }

    /** Counts a malformed or foreign message by its reason. */
    public void rejected(Decoded.Rejected r) {
        rejected.computeIfAbsent(r.reason(), k -> new LongAdder()).increment();
    }

    public FleetView view() {
        return view;
    }

    /** Waits until the view's index exceeds {@code index} or the time is up; the view then. */
    public FleetView awaitChange(long index, long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        lock.lock();
        try {
            while (view.index() <= index) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed) {
                    break;
                }
                changed.awaitNanos(left);
            }
            return view;
        } finally {
            lock.unlock();
        }
    }

    /** Counters for the stats endpoint. */
    public Map<String, Object> stats() {
        Map<String, Long> rej = new TreeMap<>();
        rejected.forEach((k, v) -> rej.put(k, v.sum()));
        Map<String, Object> out = new TreeMap<>();
        out.put("applied", applied.get());
        out.put("ignored", ignored.get());
        out.put("dropped", dropped.get());
        out.put("rejected", rej);
        out.put("resyncsRequested", resyncsRequested.get());
        out.put("index", view.index());
        return out;
    }

    /** Messages waiting for the applier. */
    public int queued() {
        return queue.size();
    }

    /** How long the oldest message waiting for the applier has waited, ms; 0 when none waits. */
    public long applyLagMillis(long nowMillis) {
        Arrival oldest = queue.peek();
        return oldest == null ? 0 : Math.max(0, nowMillis - oldest.receivedAt());
    }

    public long rejectedCount() {
        long n = 0;
        for (LongAdder a : rejected.values()) {
            n += a.sum();
        }
        return n;
    }

    public long ignoredCount() {
        return ignored.get();
    }

    // ---------------------------------------------------------------- applier

    private void run() {
        List<Arrival> batch = new ArrayList<>(MAX_BATCH);
        while (!closed) {
            try {
                Arrival first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                for (Arrival a : batch) {
                    try {
                        apply(a.message(), a.receivedAt());
                    } catch (RuntimeException e) {
                        rejected.computeIfAbsent("apply-error", k -> new LongAdder())
                                .increment();
                    }
                }
                batch.clear();
                publish();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void apply(Decoded.Accepted m, long now) {
        TopicName t = m.topic();
        NodeState n = nodes.computeIfAbsent(t.site() + '/' + t.node(), k -> new NodeState(t.site(), t.node()));
        n.lastSeen = now;
        boolean change =
                switch (m.message()) {
                    case InstanceState s -> applyState(n, s, now);
                    case InstanceRemoved r -> applyRemoval(n, r);
                    case NodeStatus s -> applyStatus(n, s, now);
                    case Digest d -> checkDigest(n, d, now);
                    case ConfigPush p -> false;
                    case ConfigRemoved r -> false;
                    case ResyncCommand c -> false;
                };
        if (change) {
            applied.incrementAndGet();
            index++;
            n.modifyIndex = index;
            dirty.add(n);
        } else {
            ignored.incrementAndGet();
            // last-seen moved: visible, but not a change that wakes blocking queries
            dirty.add(n);
        }
    }

    private boolean applyState(NodeState n, InstanceState s, long now) {
        InstanceRecord current = n.instances.get(s.id());
        long[] known =
                current != null ? new long[] {current.state.epoch(), current.state.index()} : n.tombstones.get(s.id());
        if (known != null && !SyncOrder.isNewer(s.epoch(), s.index(), known[0], known[1])) {
            if (current != null && known[0] == s.epoch() && known[1] == s.index()) {
                current.lastSeen = now;
            }
            return false;
        }
        n.tombstones.remove(s.id());
        if (current != null) {
            n.digest.remove(s.id(), current.state.index());
        }
        n.digest.add(s.id(), s.index());
        n.instances.put(
                s.id(), new InstanceRecord(s, now, current == null ? index + 1 : current.createIndex, index + 1));
        n.raise(s.epoch(), s.index());
        return true;
    }

    private boolean applyRemoval(NodeState n, InstanceRemoved r) {
        InstanceRecord current = n.instances.remove(r.id());
        if (current == null) {
            return false;
        }
        n.digest.remove(r.id(), current.state.index());
        if (n.tombstones.size() < MAX_TOMBSTONES_PER_NODE) {
            n.tombstones.put(r.id(), new long[] {current.state.epoch(), current.state.index()});
        }
        return true;
    }

    private boolean applyStatus(NodeState n, NodeStatus s, long now) {
        if (!s.supersedes(n.status)) {
            return false;
        }
        boolean wasOnline = n.status != null && n.status.online();
        FleetEvents.status(
                n.site, n.node, n.status != null, wasOnline, s.online(), n.offlineSince, n.instances.size(), now);
        n.status = s;
        if (!s.online()) {
            n.offlineSince = wasOnline || n.offlineSince == 0 ? (s.since() > 0 ? s.since() : now) : n.offlineSince;
        } else {
            n.offlineSince = 0;
        }
        n.raise(s.epoch(), s.index());
        return true;
    }

    private boolean checkDigest(NodeState n, Digest d, long now) {
        n.raise(d.epoch(), d.index());
        if (n.digest.matches(d)) {
            return false;
        }
        if (now - n.lastResyncAt >= resyncMinIntervalMillis) {
            n.lastResyncAt = now;
            resyncsRequested.incrementAndGet();
            try {
                resync.requestResync(n.site, n.node, new ResyncCommand("digest-mismatch", 0, now));
            } catch (RuntimeException e) {
                rejected.computeIfAbsent("resync-error", k -> new LongAdder()).increment();
            }
        }
        return false;
    }

    /** Tests that call {@link #apply} on their own thread: publish and return the view. */
    FleetView snapshotForTest() {
        publish();
        return view;
    }

    /** Rebuilds the views of dirty nodes and swaps in a new snapshot; wakes blocking readers. */
    private void publish() {
        if (dirty.isEmpty()) {
            return;
        }
        TreeMap<String, TreeMap<String, FleetView.NodeView>> sites = new TreeMap<>();
        for (FleetView.SiteView s : view.sites().values()) {
            sites.put(s.site(), new TreeMap<>(s.nodes()));
        }
        for (NodeState n : dirty) {
            sites.computeIfAbsent(n.site, k -> new TreeMap<>()).put(n.node, n.view());
        }
        dirty.clear();
        TreeMap<String, FleetView.SiteView> out = new TreeMap<>();
        sites.forEach((site, ns) -> out.put(site, new FleetView.SiteView(site, Collections.unmodifiableSortedMap(ns))));
        FleetView next = new FleetView(index, Collections.unmodifiableSortedMap(out));
        lock.lock();
        try {
            view = next;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        applier.interrupt();
        try {
            applier.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private static final class InstanceRecord {
        final InstanceState state;
        long lastSeen;
        final long createIndex;
        final long modifyIndex;

        InstanceRecord(InstanceState state, long lastSeen, long createIndex, long modifyIndex) {
            this.state = state;
            this.lastSeen = lastSeen;
            this.createIndex = createIndex;
            this.modifyIndex = modifyIndex;
        }
    }

    /** One node's mutable state; owned by the applier thread. */
    private static final class NodeState {
        final String site;
        final String node;
        final Map<String, InstanceRecord> instances = new HashMap<>();
        final Map<String, long[]> tombstones = new HashMap<>();
        final Digest.Accumulator digest = new Digest.Accumulator();
        NodeStatus status;
        long offlineSince;
        long lastSeen;
        long lastResyncAt = Long.MIN_VALUE / 2;
        long highEpoch;
        long highIndex;
        long modifyIndex;

        NodeState(String site, String node) {
            this.site = site;
            this.node = node;
        }

        void raise(long epoch, long idx) {
            if (SyncOrder.isNewer(epoch, idx, highEpoch, highIndex)) {
                highEpoch = epoch;
                highIndex = idx;
            }
        }

        FleetView.NodeView view() {
            boolean online = status != null && status.online();
            SortedMap<String, FleetView.InstanceView> out = new TreeMap<>();
            for (InstanceRecord r : instances.values()) {
                out.put(
                        r.state.id(),
                        new FleetView.InstanceView(
                                site,
                                node,
                                r.state,
                                !online,
                                online ? lastSeen : (offlineSince > 0 ? offlineSince : r.lastSeen),
                                r.createIndex,
                                r.modifyIndex));
            }
            return new FleetView.NodeView(
                    site,
                    node,
                    online,
                    online ? 0 : offlineSince,
                    lastSeen,
                    highEpoch,
                    highIndex,
                    status == null ? "" : status.address(),
                    Collections.unmodifiableSortedMap(out));
        }
    }
}
