package io.edgegate.cloud;

import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceRemoved;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.Manifest;
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
 * <p>Convergence: a node's digest (retained, so a replica that subscribes later gets it too) is
 * compared once the node's stream has been quiet for {@link #DIGEST_SETTLE_MILLIS}; buckets that
 * differ are resynced (queued, one request per node at a time, paced fleet-wide), and the node
 * answers with their instances and manifests, which remove what this replica holds and the node no
 * longer has (an instance removed while this replica did not listen leaves no message behind). A
 * node that is never quiet that long has its digest compared once one has waited that long and is
 * its last message; a removal (which carries no version, so one replayed late may remove what the
 * node has) makes the node's digest due again; a manifest listing an instance this replica lost
 * asks for its bucket again at once.
 *
 * <p>Rules: an instance state is applied only when its {@code (epoch, index)} is newer than the
 * instance's (or its tombstone's), so duplicates, reordering and older epochs change nothing; a
 * removal deletes and leaves a tombstone at the last version; node status follows
 * {@link NodeStatus#supersedes}; a node offline keeps its instances, shown stale with their
 * last-seen time; a digest that disagrees with what the fleet holds asks the node for a resync
 * of the differing buckets, the same buckets at most once per {@code resyncMinIntervalMillis}
 * unless the node or this replica reconnected, or a removal touched the bucket, since.
 *
 * <p>Threads: {@link #offer} from any thread (Paho's), never blocks; everything else mutable is
 * owned by the applier thread; {@link #view()} and {@link #awaitChange} from any thread.
 */
public final class Fleet implements AutoCloseable {
    /** Where resync requests go; called on the applier thread, must not block. */
    public interface ResyncSink {
        /** Sends the command; false when it could not be sent now (not connected, window full): it is tried again. */
        boolean requestResync(String site, String node, ResyncCommand command);
    }

    private record Arrival(Decoded.Accepted message, long receivedAt) {}

    private static final int QUEUE_CAPACITY = 1 << 18;
    private static final int MAX_BATCH = 4096;
    private static final int MAX_TOMBSTONES_PER_NODE = 100_000;
    /** How long a node's stream must be quiet before its digest is compared (a replay may still be arriving). */
    static final long DIGEST_SETTLE_MILLIS = 300;
    /** Resync commands sent per second at most, over the whole fleet (a broker restart must not storm). */
    static final int RESYNCS_PER_SECOND = 200;

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
    private final AtomicLong resyncsDeferred = new AtomicLong();
    private final AtomicLong manifestRemovals = new AtomicLong();
    private volatile FleetView view = new FleetView(0, Collections.emptySortedMap());
    /** When the published index last moved (epoch milliseconds), for the stats. */
    private volatile long indexChangedAt;
    /** Set by {@link #brokerReconnected()}, cleared by the applier. */
    private volatile boolean reconnected;

    private volatile boolean closed;

    // ---- owned by the applier thread
    private final Map<String, NodeState> nodes = new HashMap<>();
    private final Set<NodeState> dirty = new HashSet<>();
    /** Nodes whose digest waits to be compared, in the order their streams went quiet. */
    private final Set<NodeState> digestDue = new java.util.LinkedHashSet<>();
    /** Nodes waiting for a resync command to be sent, paced by {@link #RESYNCS_PER_SECOND}. */
    private final java.util.ArrayDeque<NodeState> resyncQueue = new java.util.ArrayDeque<>();

    private double resyncTokens = RESYNCS_PER_SECOND;
    private long resyncRefilledAt = System.nanoTime();
    /**
     * The fleet index (Consul's {@code X-Consul-Index}): the sum of every node's
     * {@link NodeState#indexTerm()}. A function of the newest messages of each node and of
     * whether this replica holds what they describe, not of this replica's history, so converged
     * replicas agree and a client balanced across them never sees it go back: a replica behind
     * answers a blocking query only once it has passed the client's index.
     */
    private long index;

    public Fleet(ResyncSink resync, long resyncMinIntervalMillis) {
        this(resync, resyncMinIntervalMillis, true);
    }

    /**
     * A fleet whose applier thread is started, or not: then the caller is the applier and feeds it
     * with {@link #apply} and {@link #tick} (tests, and benchmarks that drive it directly).
     */
    Fleet(ResyncSink resync, long resyncMinIntervalMillis, boolean startApplier) {
        this.resync = resync;
        this.resyncMinIntervalMillis = resyncMinIntervalMillis;
        this.applier = startApplier
                ? Thread.ofPlatform().name("fleet-applier").daemon(true).start(this::run)
                : null;
    }

    /** The applier's periodic work at {@code nowMillis}: digests due, resyncs, publication. */
    void tick(long nowMillis) {
        if (reconnected) {
            reconnected = false;
            // What this replica asked before its link dropped may never have been answered to it.
            for (NodeState n : nodes.values()) {
                n.mismatches = 0;
                n.askedBuckets.clear();
            }
        }
        checkDigests(nowMillis);
        sendResyncs();
        publish();
    }

    /** Hands a message to the applier; false (and counted) when the queue is full. */
    public boolean offer(Decoded.Accepted message, long receivedAtMillis) {
        if (queue.offer(new Arrival(message, receivedAtMillis))) {
            return true;
        }
        dropped.incrementAndGet();
        return false;
    }

    /**
     * This replica's link to the broker is up again (and the broker replays its retained
     * messages): the next divergence of any node is asked about at once. Any thread.
     */
    public void brokerReconnected() {
        reconnected = true;
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
        out.put("resyncsDeferred", resyncsDeferred.get());
        out.put("resyncsQueued", (long) resyncQueue.size());
        out.put("manifestRemovals", manifestRemovals.get());
        out.put("index", view.index());
        out.put("indexChangedAt", indexChangedAt);
        return out;
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
                Arrival first = queue.poll(50, TimeUnit.MILLISECONDS);
                if (first == null) {
                    tick(System.currentTimeMillis());
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
                tick(System.currentTimeMillis());
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
                    case Digest d -> recordDigest(n, d, now);
                    case Manifest mf -> applyManifest(n, mf);
                    case ConfigPush p -> false;
                    case ConfigRemoved r -> false;
                    case ResyncCommand c -> false;
                };
        if (m.message() instanceof InstanceState || m.message() instanceof InstanceRemoved) {
            // The stream moved: a digest waiting for comparison waits for it to be quiet again.
            n.quietSince = now;
            n.digestLast = false;
            if (change && m.message() instanceof InstanceRemoved r) {
                // A removal carries no version: one replayed late (a duplicate, a bridge loop) may
                // remove what the node still has. The node's newest digest says whether it did, and
                // a divergence there is a new one (not held back by an earlier request).
                n.askedBuckets.remove(Digest.bucketOf(r.id()));
                if (n.digest != null && digestDue.add(n)) {
                    n.digestDueSince = now;
                }
            }
        }
        if (change) {
            applied.incrementAndGet();
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
            n.accumulator.remove(s.id(), current.state.index());
        }
        n.accumulator.add(s.id(), s.index());
        if (SyncOrder.isNewer(s.epoch(), s.index(), n.instanceEpoch, n.instanceIndex)) {
            n.instanceEpoch = s.epoch();
            n.instanceIndex = s.index();
        }
        // Create and modify indexes are the node's own: a version with its epoch folded in would
        // not fit in 64 bits (epochs are milliseconds since 1970).
        n.instances.put(
                s.id(), new InstanceRecord(s, now, current == null ? s.index() : current.createIndex, s.index()));
        n.raise(s.epoch(), s.index());
        return true;
    }

    private boolean applyRemoval(NodeState n, InstanceRemoved r) {
        InstanceRecord current = n.instances.remove(r.id());
        if (current == null) {
            return false;
        }
        n.accumulator.remove(r.id(), current.state.index());
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
        if (n.status != null && n.status.session() != s.session()) {
            // A new connection of the node: a resync sent to the old one may never have arrived,
            // so the next divergence is asked about at once, not after the minimum interval.
            n.mismatches = 0;
            n.askedBuckets.clear();
        }
        n.status = s;
        if (!s.online()) {
            n.offlineSince = wasOnline || n.offlineSince == 0 ? (s.since() > 0 ? s.since() : now) : n.offlineSince;
        } else {
            n.offlineSince = 0;
        }
        n.raise(s.epoch(), s.index());
        return true;
    }

    /**
     * Keeps a node's digest to compare once its stream is quiet: a digest replayed on subscribe
     * (it is retained) may arrive before the instances it describes, and one published after a
     * burst arrives after them. Raises the node's version: a removal carries none, so the digest
     * that follows it is what moves the index.
     */
    private boolean recordDigest(NodeState n, Digest d, long now) {
        boolean raised = n.raise(d.epoch(), d.index());
        n.digest = d;
        n.quietSince = now;
        n.digestLast = true;
        if (digestDue.add(n)) {
            n.digestDueSince = now;
        }
        return raised;
    }

    /**
     * Compares the digests of nodes whose stream has been quiet for {@link #DIGEST_SETTLE_MILLIS}.
     * A node whose stream is never quiet that long (changes every few hundred milliseconds) has
     * its digest compared all the same once one has waited that long and the node's last message
     * is a digest: a node publishes a digest after the changes it covers, on the same connection,
     * so what this replica holds then is what the digest should describe. A digest older than
     * what the node has sent since says nothing (a newer one is on its way); one that disagrees
     * queues a resync of the buckets that differ.
     */
    private void checkDigests(long now) {
        for (java.util.Iterator<NodeState> it = digestDue.iterator(); it.hasNext(); ) {
            NodeState n = it.next();
            if (now - n.quietSince < DIGEST_SETTLE_MILLIS
                    && !(n.digestLast && now - n.digestDueSince >= DIGEST_SETTLE_MILLIS)) {
                continue;
            }
            it.remove();
            Digest d = n.digest;
            if (d == null || SyncOrder.isNewer(n.instanceEpoch, n.instanceIndex, d.epoch(), d.index())) {
                continue;
            }
            List<Integer> differ = n.accumulator.differingBuckets(d);
            if (differ.isEmpty()) {
                n.mismatches = 0;
                n.askedBuckets.clear();
                continue;
            }
            // The first resync of a divergence goes at once; a node still diverging after its
            // answer is asked again no sooner than the minimum interval. Buckets not asked for
            // within it are a new divergence (a removal replayed since): asked for at once.
            List<Integer> ask = differ;
            if (n.mismatches++ > 0 && now - n.lastResyncAt < resyncMinIntervalMillis) {
                ask = new ArrayList<>(differ);
                ask.removeAll(n.askedBuckets);
                if (ask.isEmpty()) {
                    digestDue.add(n);
                    n.quietSince = n.lastResyncAt + resyncMinIntervalMillis - DIGEST_SETTLE_MILLIS;
                    n.digestDueSince = n.quietSince;
                    continue;
                }
            }
            queueResync(n, ask);
        }
    }

    /** Queues a resync of {@code buckets} of a node, with those of one already queued and not sent. */
    private void queueResync(NodeState n, List<Integer> buckets) {
        java.util.TreeSet<Integer> all = new java.util.TreeSet<>(buckets);
        if (n.resyncQueued) {
            all.addAll(n.resyncBuckets);
        }
        n.resyncBuckets = List.copyOf(all);
        if (!n.resyncQueued) {
            n.resyncQueued = true;
            resyncQueue.add(n);
        }
    }

    /** Sends queued resync commands, at most {@link #RESYNCS_PER_SECOND}; one that cannot go now waits. */
    private void sendResyncs() {
        long nanos = System.nanoTime();
        resyncTokens =
                Math.min(RESYNCS_PER_SECOND, resyncTokens + (nanos - resyncRefilledAt) * RESYNCS_PER_SECOND / 1e9);
        resyncRefilledAt = nanos;
        while (resyncTokens >= 1 && !resyncQueue.isEmpty()) {
            NodeState n = resyncQueue.peek();
            long now = System.currentTimeMillis();
            boolean sent;
            try {
                sent = resync.requestResync(
                        n.site, n.node, new ResyncCommand("digest-mismatch", 0, now, n.resyncBuckets));
            } catch (RuntimeException e) {
                rejected.computeIfAbsent("resync-error", k -> new LongAdder()).increment();
                sent = false;
            }
            if (!sent) {
                resyncsDeferred.incrementAndGet();
                return; // not connected or the window is full: the same node is first next time
            }
            resyncQueue.poll();
            n.resyncQueued = false;
            if (now - n.lastResyncAt >= resyncMinIntervalMillis) {
                n.askedBuckets.clear();
            }
            n.askedBuckets.addAll(n.resyncBuckets);
            n.lastResyncAt = now;
            resyncTokens--;
            resyncsRequested.incrementAndGet();
        }
    }

    /**
     * Collects a bucket's manifest; once every part of one {@code (epoch, index)} is in, removes
     * each instance of the bucket it leaves out whose version is not newer than the manifest's.
     */
    private boolean applyManifest(NodeState n, Manifest m) {
        n.raise(m.epoch(), m.index());
        PartialManifest partial = n.manifests.get(m.bucket());
        if (partial == null || partial.epoch != m.epoch() || partial.index != m.index() || partial.parts != m.parts()) {
            partial = new PartialManifest(m.epoch(), m.index(), m.parts());
            n.manifests.put(m.bucket(), partial);
        }
        if (!partial.received.add(m.part())) {
            return false;
        }
        for (Manifest.Entry e : m.entries()) {
            partial.ids.put(e.id(), e.index());
        }
        if (partial.received.size() < partial.parts) {
            return false;
        }
        n.manifests.remove(m.bucket());
        List<String> gone = new ArrayList<>();
        for (InstanceRecord r : n.instances.values()) {
            String id = r.state.id();
            if (Digest.bucketOf(id) == m.bucket()
                    && !partial.ids.containsKey(id)
                    && !SyncOrder.isNewer(r.state.epoch(), r.state.index(), m.epoch(), m.index())) {
                gone.add(id);
            }
        }
        for (String id : gone) {
            applyRemoval(n, new InstanceRemoved(id));
        }
        manifestRemovals.addAndGet(gone.size());
        // A listed instance this replica lacks was lost here (a removal replayed late, which
        // carries no version, or a message lost), and its tombstone refused the state the node
        // sent just before: forget the tombstone and ask for the bucket once more, at once.
        boolean lacking = false;
        for (Map.Entry<String, Long> e : partial.ids.entrySet()) {
            long[] tomb = n.tombstones.get(e.getKey());
            if (!n.instances.containsKey(e.getKey())
                    && (tomb == null || !SyncOrder.isNewer(tomb[0], tomb[1], m.epoch(), e.getValue()))) {
                n.tombstones.remove(e.getKey());
                lacking = true;
            }
        }
        if (lacking) {
            queueResync(n, List.of(m.bucket()));
        }
        return !gone.isEmpty();
    }

    /** The parts of one bucket's manifest received so far. */
    private static final class PartialManifest {
        final long epoch;
        final long index;
        final int parts;
        final Set<Integer> received = new HashSet<>();
        /** Listed ids and the index of each. */
        final Map<String, Long> ids = new HashMap<>();

        PartialManifest(long epoch, long index, int parts) {
            this.epoch = epoch;
            this.index = index;
            this.parts = parts;
        }
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
            long term = n.indexTerm();
            index += term - n.term;
            n.term = term;
        }
        dirty.clear();
        TreeMap<String, FleetView.SiteView> out = new TreeMap<>();
        sites.forEach((site, ns) -> out.put(site, new FleetView.SiteView(site, Collections.unmodifiableSortedMap(ns))));
        FleetView next = new FleetView(index, Collections.unmodifiableSortedMap(out));
        if (next.index() != view.index()) {
            indexChangedAt = System.currentTimeMillis();
        }
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
        if (applier != null) {
            applier.interrupt();
            try {
                applier.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
        final Digest.Accumulator accumulator = new Digest.Accumulator();
        final Map<Integer, PartialManifest> manifests = new HashMap<>();
        NodeStatus status;
        /** The node's newest digest, compared once its stream is quiet. */
        Digest digest;

        long quietSince;
        /** Whether the last instance message or digest applied from the node was a digest. */
        boolean digestLast;
        /** When the node's digest began waiting for comparison. */
        long digestDueSince;

        boolean resyncQueued;
        List<Integer> resyncBuckets = List.of();
        /** Buckets asked for since the divergence began, within the minimum interval. */
        final Set<Integer> askedBuckets = new HashSet<>();

        int mismatches;
        /** The newest instance version applied from it (digests older than this are not compared). */
        long instanceEpoch;

        long instanceIndex;
        long offlineSince;
        long lastSeen;
        long lastResyncAt = Long.MIN_VALUE / 2;
        long highEpoch;
        long highIndex;
        /** This node's part of the fleet index at the last publication. */
        long term;
        /** The {@link #indexBase()} at which this replica last held exactly what the node's digest says. */
        long matchedBase = -1;

        NodeState(String site, String node) {
            this.site = site;
            this.node = node;
        }

        /** Raises the node's high version; whether it moved. */
        boolean raise(long epoch, long idx) {
            if (SyncOrder.isNewer(epoch, idx, highEpoch, highIndex)) {
                highEpoch = epoch;
                highIndex = idx;
                return true;
            }
            return false;
        }

        /**
         * This node's part of the fleet index: twice its {@link #indexBase()}, plus one once this
         * replica holds exactly what the node's newest digest describes. Replicas that received
         * the node's newest messages and hold the same instances agree on it; one still holding
         * an instance the node removed while it did not listen is one behind, and moves when a
         * manifest removes it (the removal has no index of its own to move it). A removal received
         * live does not lower it (the match held at this base stays): the digest that follows
         * raises the base. Called on the applier thread.
         */
        long indexTerm() {
            long base = indexBase();
            if (digest != null && accumulator.matches(digest)) {
                matchedBase = base;
            }
            return 2 * base + (matchedBase == base ? 1 : 0);
        }

        /**
         * The node's high index, plus its status session twice and one while offline. It only
         * grows (an index, a new session and going offline each raise it), except when the node
         * starts a new epoch (its journal was lost): its index starts again, and the fleet index
         * goes back once, which Consul clients answer by starting over.
         */
        long indexBase() {
            long base = highIndex;
            if (status != null) {
                base += 2 * status.session() + (status.online() ? 0 : 1);
            }
            return base;
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
