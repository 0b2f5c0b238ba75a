package io.edgegate.cloud;

import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceRemoved;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.Manifest;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncCodec;
import io.edgegate.bridge.SyncMessage;
import io.edgegate.bridge.SyncOrder;
import io.edgegate.bridge.TopicName;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The fleet: every node's stream applied idempotently by one applier thread into structures that
 * request threads read as they are ({@link FleetView} says what a reader sees).
 *
 * <p>Cost: applying a message touches its instance and its node, nothing else. A change replaces
 * one {@link InstanceRecord} in its node's map; after each batch the applier recomputes the status
 * ({@link FleetNode.Head}) and index term of the nodes that changed, and only those. A duplicate,
 * an older state or a digest that changes nothing marks no node changed: it moves the node's
 * last-seen time, read in place, and nothing else.
 *
 * <p>Decoding: the applier decodes ({@link SyncCodec}): the broker's reader only hands each
 * message over, since Paho's reader waits on its callback thread.
 *
 * <p>Backpressure: the hand-off queue between the broker's reader and the applier is bounded, and
 * {@link #offer} waits while it is full. The reader then reads nothing more from the broker, which
 * holds the rest (its {@code max_queued_messages} must allow for it: see the README's broker
 * settings); it never acknowledges a message this fleet has not taken. Nothing taken is dropped:
 * a message that cannot be applied (an error while applying it, or the fleet closing under it) is
 * counted by reason in {@link #stats()} and logged.
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
 * <p>Threads: {@link #offer} from the broker's reader (Paho's callback thread), waiting while the
 * queue is full; everything mutable is owned by the applier thread, except what {@link FleetNode}
 * lets readers see; {@link #view()}, {@link #awaitChange} and {@link #stats()} from any thread.
 */
public final class Fleet implements AutoCloseable {
    /** Where resync requests go; called on the applier thread, must not block. */
    public interface ResyncSink {
        /** Sends the command; false when it could not be sent now (not connected, window full): it is tried again. */
        boolean requestResync(String site, String node, ResyncCommand command);

        /**
         * Commands sent and not yet acknowledged by the broker: the fleet keeps them under
         * {@link #MAX_RESYNCS_IN_FLIGHT}, so resyncs never fill the link's window. 0 when the sink
         * does not know.
         */
        default int inFlight() {
            return 0;
        }
    }

    /**
     * Resync commands awaiting the broker's acknowledgement at most, so that a resync is never
     * refused for a full window: the window that counts is the smaller of cloud-sync's link (64)
     * and the broker's own Receive Maximum, which Paho enforces (Mosquitto's is its
     * {@code max_inflight_messages}, 20 by default; a publish past it fails at once). Eight leave
     * room for configuration pushes and, at the pace of {@link #RESYNCS_PER_SECOND}, still allow
     * 40 ms per acknowledgement.
     */
    public static final int MAX_RESYNCS_IN_FLIGHT = 8;

    /** A message for the applier: decoded already, or its topic and payload (the applier decodes). */
    private record Arrival(Decoded.Accepted decoded, String topic, byte[] payload, long receivedAt) {}

    /**
     * Messages waiting for the applier, as they came from the broker (the applier decodes them).
     * Small on purpose: past it the reader waits (the broker holds the rest), and a replica
     * replaying a million retained messages holds no more than this many at a time.
     */
    static final int QUEUE_CAPACITY = 8192;

    private static final int MAX_BATCH = 4096;
    private static final int MAX_TOMBSTONES_PER_NODE = 100_000;
    /** Values kept by {@link SharedValues} before it starts again. */
    private static final int SHARED_VALUES = 1 << 16;
    /** How long the applier sleeps when it has caught up, letting the next batch gather. */
    private static final long GATHER_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** The periodic work (digests due, resyncs) runs at least this often when no message comes. */
    private static final long TICK_MILLIS = 50;
    /** How long one wait of a blocked {@link #offer} lasts before it looks whether the fleet closed. */
    private static final long OFFER_WAIT_MILLIS = 100;
    /** How long a node's stream must be quiet before its digest is compared (a replay may still be arriving). */
    static final long DIGEST_SETTLE_MILLIS = 300;
    /** Resync commands sent per second at most, over the whole fleet (a broker restart must not storm). */
    static final int RESYNCS_PER_SECOND = 200;
    /**
     * A version (epoch, index) as one number: epochs count in units of 2^8 indexes. A node's epoch
     * is the millisecond it was made (a node makes a new one when its index could restart), so the
     * order holds while a node makes fewer than 256 changes per millisecond of an epoch's life,
     * and a fleet index (a sum over nodes of twice about 2^48.7 each, for epochs of this century:
     * see {@link FleetNode#indexTerm}) stays within a long for about ten thousand nodes. (Units of
     * 2^40 overflowed for any epoch past 2^23: every real one, turning the fleet index negative.)
     */
    static final int EPOCH_SHIFT = 8;

    private final BlockingQueue<Arrival> queue;
    private final ResyncSink resync;
    private final long resyncMinIntervalMillis;
    private final Thread applier;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Problems rejected = new Problems("sync message not applied");
    private final AtomicLong applied = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong backpressureWaits = new AtomicLong();
    private final AtomicLong backpressureNanos = new AtomicLong();
    private final AtomicLong resyncsRequested = new AtomicLong();
    private final AtomicLong resyncsDeferred = new AtomicLong();
    private final AtomicLong manifestRemovals = new AtomicLong();
    /** Sites by name, their nodes by name: the applier adds, readers walk (see {@link FleetView}). */
    private final ConcurrentSkipListMap<String, ConcurrentSkipListMap<String, FleetNode>> sites =
            new ConcurrentSkipListMap<>();

    private volatile long publishedIndex;
    private volatile long publishedInstances;
    private volatile int publishedResyncsQueued;
    /** When the published index last moved (epoch milliseconds), for the stats. */
    private volatile long indexChangedAt;
    /** Set by {@link #brokerReconnected()}, cleared by the applier. */
    private volatile boolean reconnected;

    private volatile boolean closed;

    // ---- owned by the applier thread
    private final Map<String, Map<String, FleetNode>> nodes = new HashMap<>();
    /** Nodes changed since the last publication. */
    private final List<FleetNode> changedNodes = new ArrayList<>();
    /** Nodes whose digest waits to be compared, in the order their streams went quiet. */
    private final Set<FleetNode> digestDue = new LinkedHashSet<>();
    /** Nodes waiting for a resync command to be sent, paced by {@link #RESYNCS_PER_SECOND}. */
    private final ArrayDeque<FleetNode> resyncQueue = new ArrayDeque<>();

    private final SharedValues shared = new SharedValues(SHARED_VALUES);
    private long instanceCount;
    /** Instance records written, over the fleet's life: one per applied change, never per node or batch. */
    private long recordsWritten;
    /** Node heads written, over the fleet's life: one per changed node per batch. */
    private long headsWritten;

    private double resyncTokens = RESYNCS_PER_SECOND;
    private long resyncRefilledAt = System.nanoTime();
    /**
     * The fleet index (Consul's {@code X-Consul-Index}): the sum of every node's
     * {@link FleetNode#indexTerm()}. A function of the newest messages of each node and of
     * whether this replica holds what they describe, not of this replica's history, so converged
     * replicas agree and a client balanced across them never sees it go back: a replica behind
     * answers a blocking query only once it has passed the client's index.
     */
    private long index;

    public Fleet(ResyncSink resync, long resyncMinIntervalMillis) {
        this(resync, resyncMinIntervalMillis, true, QUEUE_CAPACITY);
    }

    /**
     * A fleet whose applier thread is started, or not: then the caller is the applier and feeds it
     * with {@link #apply} and {@link #tick}, or drains the queue with {@link #applyQueued} (tests,
     * and benchmarks that drive it directly).
     */
    Fleet(ResyncSink resync, long resyncMinIntervalMillis, boolean startApplier) {
        this(resync, resyncMinIntervalMillis, startApplier, QUEUE_CAPACITY);
    }

    Fleet(ResyncSink resync, long resyncMinIntervalMillis, boolean startApplier, int queueCapacity) {
        this.resync = resync;
        this.resyncMinIntervalMillis = resyncMinIntervalMillis;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.applier = startApplier
                ? Thread.ofPlatform().name("fleet-applier").daemon(true).start(this::run)
                : null;
    }

    /** The applier's periodic work at {@code nowMillis}: digests due, resyncs, publication. */
    void tick(long nowMillis) {
        if (reconnected) {
            reconnected = false;
            // What this replica asked before its link dropped may never have been answered to it.
            for (Map<String, FleetNode> ofSite : nodes.values()) {
                for (FleetNode n : ofSite.values()) {
                    n.mismatches = 0;
                    n.askedBuckets.clear();
                }
            }
        }
        checkDigests(nowMillis);
        sendResyncs();
        publish();
    }

    /**
     * Hands a message, as it came from the broker, to the applier, which decodes it: the reader's
     * thread does no more than this per message. Waits while the queue is full: the caller (the
     * broker's reader) then reads no further, and the broker keeps what it has not delivered.
     * Answers false only when the fleet closes (or the caller is interrupted) before the message
     * is taken; it is then counted as dropped, with reason {@code closing}.
     */
    public boolean offer(String topic, byte[] payload, long receivedAtMillis) {
        return hand(new Arrival(null, topic, payload, receivedAtMillis));
    }

    /** Hands a decoded message to the applier; waits as {@link #offer(String, byte[], long)} does. */
    public boolean offer(Decoded.Accepted message, long receivedAtMillis) {
        return hand(new Arrival(message, null, null, receivedAtMillis));
    }

    private boolean hand(Arrival a) {
        if (queue.offer(a)) {
            return true;
        }
        backpressureWaits.incrementAndGet();
        long start = System.nanoTime();
        try {
            while (!closed) {
                if (queue.offer(a, OFFER_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            backpressureNanos.addAndGet(System.nanoTime() - start);
        }
        dropped.incrementAndGet();
        String topic = a.decoded() != null
                ? a.decoded().topic().site() + "/" + a.decoded().topic().node()
                : a.topic();
        rejected.record("closing", "topic " + topic, null);
        return false;
    }

    /**
     * This replica's link to the broker is up again (and the broker replays its retained
     * messages): the next divergence of any node is asked about at once. Any thread.
     */
    public void brokerReconnected() {
        reconnected = true;
    }

    /** Counts (and logs, de-duplicated) a malformed or foreign message by its reason. */
    public void rejected(Decoded.Rejected r) {
        rejected.record(r.reason(), "topic=" + r.topic() + ": " + r.detail(), null);
    }

    /** A view for one reader (see {@link FleetView} for what it sees). */
    public FleetView view() {
        return new FleetView(publishedIndex, sites);
    }

    /** Waits until the fleet index exceeds {@code index} or the time is up; a view then. */
    public FleetView awaitChange(long index, long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        lock.lock();
        try {
            while (publishedIndex <= index) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed) {
                    break;
                }
                changed.awaitNanos(left);
            }
            return view();
        } finally {
            lock.unlock();
        }
    }

    /** Counters for the stats endpoint. */
    public Map<String, Object> stats() {
        Map<String, Object> out = new TreeMap<>();
        out.put("applied", applied.get());
        out.put("ignored", ignored.get());
        out.put("dropped", dropped.get());
        out.put("rejected", rejected.counts());
        out.put("instances", publishedInstances);
        out.put("queued", (long) queue.size());
        out.put("backpressureWaits", backpressureWaits.get());
        out.put("backpressureMillis", TimeUnit.NANOSECONDS.toMillis(backpressureNanos.get()));
        out.put("resyncsRequested", resyncsRequested.get());
        out.put("resyncsDeferred", resyncsDeferred.get());
        out.put("resyncsQueued", (long) publishedResyncsQueued);
        out.put("manifestRemovals", manifestRemovals.get());
        out.put("index", publishedIndex);
        out.put("indexChangedAt", indexChangedAt);
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
        return rejected.total();
    }

    public long ignoredCount() {
        return ignored.get();
    }

    // ---------------------------------------------------------------- applier

    private void run() {
        List<Arrival> batch = new ArrayList<>(MAX_BATCH);
        long lastTick = 0;
        while (!closed) {
            int n = queue.drainTo(batch, MAX_BATCH);
            if (n > 0) {
                applyAll(batch);
                batch.clear();
            }
            long now = System.currentTimeMillis();
            if (n > 0 || now - lastTick >= TICK_MILLIS) {
                tick(now);
                lastTick = now;
            }
            if (n == 0) {
                // Caught up: let the next batch gather instead of being woken for each message (the
                // reader's offer finds no waiter to signal). A change waits a millisecond more; a
                // stream costs a thread switch per batch instead of per message.
                LockSupport.parkNanos(GATHER_NANOS);
            }
        }
    }

    /** Applies what the queue holds now, then publishes: one turn of the applier (tests without its thread). */
    int applyQueued(long nowMillis) {
        List<Arrival> batch = new ArrayList<>();
        queue.drainTo(batch);
        applyAll(batch);
        tick(nowMillis);
        return batch.size();
    }

    private void applyAll(List<Arrival> batch) {
        for (Arrival a : batch) {
            Decoded.Accepted m = a.decoded();
            if (m == null) {
                Decoded d = SyncCodec.decode(a.topic(), a.payload());
                if (d instanceof Decoded.Rejected r) {
                    rejected(r);
                    continue;
                }
                m = (Decoded.Accepted) d;
            }
            try {
                apply(m, a.receivedAt());
            } catch (RuntimeException e) {
                TopicName t = m.topic();
                rejected.record("apply-error", "topic of " + t.site() + "/" + t.node() + " (" + t.kind() + ")", e);
            }
        }
    }

    void apply(Decoded.Accepted m, long now) {
        TopicName t = m.topic();
        FleetNode n = node(t.site(), t.node());
        n.lastSeen = now;
        // instanceof, most frequent first, rather than a pattern switch: the same dispatch without
        // the switch's bootstrap, which a new replica would compile while it replays
        SyncMessage message = m.message();
        boolean change;
        if (message instanceof InstanceState s) {
            change = applyState(n, s, now);
            n.quietSince = now; // the stream moved: a digest waiting for comparison waits for quiet again
            n.digestLast = false;
        } else if (message instanceof InstanceRemoved r) {
            change = applyRemoval(n, r);
            n.quietSince = now;
            n.digestLast = false;
            if (change) {
                // A removal carries no version: one replayed late (a duplicate, a bridge loop) may
                // remove what the node still has. The node's newest digest says whether it did, and
                // a divergence there is a new one (not held back by an earlier request).
                n.askedBuckets.remove(Digest.bucketOf(r.id()));
                if (n.digest != null && digestDue.add(n)) {
                    n.digestDueSince = now;
                }
            }
        } else if (message instanceof NodeStatus s) {
            change = applyStatus(n, s, now);
        } else if (message instanceof Digest d) {
            // A digest that raises nothing may still say that this replica now holds what the node
            // has (the instances came first): that moves the node's index term.
            change = recordDigest(n, d, now) || n.indexTerm() != n.term;
        } else if (message instanceof Manifest mf) {
            change = applyManifest(n, mf);
        } else {
            change = false; // down-link messages (configuration, resync commands) are not the fleet's
        }
        if (change) {
            applied.incrementAndGet();
            if (!n.changed) {
                n.changed = true;
                changedNodes.add(n);
            }
        } else {
            // Nothing a reader sees changed but the node's last-seen time, read in place.
            ignored.incrementAndGet();
        }
    }

    private FleetNode node(String site, String node) {
        Map<String, FleetNode> ofSite = nodes.computeIfAbsent(site, k -> new HashMap<>());
        FleetNode n = ofSite.get(node);
        if (n == null) {
            n = new FleetNode(site, node);
            ofSite.put(node, n);
            sites.computeIfAbsent(site, k -> new ConcurrentSkipListMap<>()).put(node, n);
        }
        return n;
    }

    private boolean applyState(FleetNode n, InstanceState s, long now) {
        InstanceRecord current = n.instances.get(s.id());
        if (current != null) {
            if (!SyncOrder.isNewer(s.epoch(), s.index(), current.epoch, current.index)) {
                if (current.epoch == s.epoch() && current.index == s.index()) {
                    current.lastSeen = now;
                }
                return false;
            }
        } else if (!n.tombstones.isEmpty()) {
            long[] tomb = n.tombstones.get(s.id());
            if (tomb != null) {
                if (!SyncOrder.isNewer(s.epoch(), s.index(), tomb[0], tomb[1])) {
                    return false;
                }
                n.tombstones.remove(s.id());
            }
        }
        if (current != null) {
            n.accumulator.remove(s.id(), current.index);
        } else {
            instanceCount++;
        }
        n.accumulator.add(s.id(), s.index());
        if (SyncOrder.isNewer(s.epoch(), s.index(), n.instanceEpoch, n.instanceIndex)) {
            n.instanceEpoch = s.epoch();
            n.instanceIndex = s.index();
        }
        long version = version(s.epoch(), s.index());
        n.instances.put(
                s.id(),
                new InstanceRecord(
                        s, shared, n.address(s.address()), current == null ? version : current.createIndex, now));
        recordsWritten++;
        n.raise(s.epoch(), s.index());
        return true;
    }

    private boolean applyRemoval(FleetNode n, InstanceRemoved r) {
        InstanceRecord current = n.instances.remove(r.id());
        if (current == null) {
            return false;
        }
        instanceCount--;
        recordsWritten++;
        n.accumulator.remove(r.id(), current.index);
        if (n.tombstones.size() < MAX_TOMBSTONES_PER_NODE) {
            n.tombstones.put(r.id(), new long[] {current.epoch, current.index});
        }
        return true;
    }

    private boolean applyStatus(FleetNode n, NodeStatus s, long now) {
        if (!s.supersedes(n.status)) {
            return false;
        }
        boolean wasOnline = n.status != null && n.status.online();
        FleetEvents.status(
                n.site, n.node, n.status != null, wasOnline, s.online(), n.offlineSince, n.instances.size(), now);
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
     * that follows it is what moves the index. A digest that raises nothing changes nothing a
     * reader sees.
     */
    private boolean recordDigest(FleetNode n, Digest d, long now) {
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
        for (Iterator<FleetNode> it = digestDue.iterator(); it.hasNext(); ) {
            FleetNode n = it.next();
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
    private void queueResync(FleetNode n, List<Integer> buckets) {
        TreeSet<Integer> all = new TreeSet<>(buckets);
        if (n.resyncQueued) {
            all.addAll(n.resyncBuckets);
        }
        n.resyncBuckets = List.copyOf(all);
        if (!n.resyncQueued) {
            n.resyncQueued = true;
            resyncQueue.add(n);
        }
    }

    /**
     * Sends queued resync commands, at most {@link #RESYNCS_PER_SECOND} and
     * {@link #MAX_RESYNCS_IN_FLIGHT} unacknowledged; one that cannot go now waits, first in line.
     */
    private void sendResyncs() {
        long nanos = System.nanoTime();
        resyncTokens =
                Math.min(RESYNCS_PER_SECOND, resyncTokens + (nanos - resyncRefilledAt) * RESYNCS_PER_SECOND / 1e9);
        resyncRefilledAt = nanos;
        while (resyncTokens >= 1 && !resyncQueue.isEmpty() && resync.inFlight() < MAX_RESYNCS_IN_FLIGHT) {
            FleetNode n = resyncQueue.peek();
            long now = System.currentTimeMillis();
            boolean sent;
            try {
                sent = resync.requestResync(
                        n.site, n.node, new ResyncCommand("digest-mismatch", 0, now, n.resyncBuckets));
            } catch (RuntimeException e) {
                rejected.record("resync-error", "resync of " + n.site + "/" + n.node, e);
                sent = false;
            }
            if (!sent) {
                resyncsDeferred.incrementAndGet();
                break; // not connected or the window is full: the same node is first next time
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
        publishedResyncsQueued = resyncQueue.size();
    }

    /**
     * Collects a bucket's manifest; once every part of one {@code (epoch, index)} is in, removes
     * each instance of the bucket it leaves out whose version is not newer than the manifest's.
     */
    private boolean applyManifest(FleetNode n, Manifest m) {
        boolean raised = n.raise(m.epoch(), m.index());
        FleetNode.PartialManifest partial = n.manifests.get(m.bucket());
        if (partial == null || partial.epoch != m.epoch() || partial.index != m.index() || partial.parts != m.parts()) {
            partial = new FleetNode.PartialManifest(m.epoch(), m.index(), m.parts());
            n.manifests.put(m.bucket(), partial);
        }
        if (!partial.received.add(m.part())) {
            return raised;
        }
        for (Manifest.Entry e : m.entries()) {
            partial.ids.put(e.id(), e.index());
        }
        if (partial.received.size() < partial.parts) {
            return raised;
        }
        n.manifests.remove(m.bucket());
        List<String> gone = new ArrayList<>();
        for (InstanceRecord r : n.instances.values()) {
            if (r.bucket == m.bucket()
                    && !partial.ids.containsKey(r.id)
                    && !SyncOrder.isNewer(r.epoch, r.index, m.epoch(), m.index())) {
                gone.add(r.id);
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
        return raised || !gone.isEmpty();
    }

    /** A version as one number that orders as {@link SyncOrder#isNewer} does. */
    static long version(long epoch, long index) {
        return (epoch << EPOCH_SHIFT) + index;
    }

    /** Tests that call {@link #apply} on their own thread: publish and return a view. */
    FleetView snapshotForTest() {
        publish();
        return view();
    }

    /** Nodes changed since the last publication (tests: what a batch will cost to publish). */
    int changedNodeCount() {
        return changedNodes.size();
    }

    /** Instance records written over the fleet's life (tests: a batch writes one per change). */
    long recordsWritten() {
        return recordsWritten;
    }

    /** Node heads written over the fleet's life (tests: one per changed node per batch). */
    long headsWritten() {
        return headsWritten;
    }

    /** The record the fleet holds for an instance, or null (tests: records are replaced, not rebuilt). */
    InstanceRecord record(String site, String node, String id) {
        Map<String, FleetNode> ofSite = nodes.get(site);
        FleetNode n = ofSite == null ? null : ofSite.get(node);
        return n == null ? null : n.instances.get(id);
    }

    /** The values shared between records (tests: memory). */
    SharedValues sharedValues() {
        return shared;
    }

    /**
     * Publishes what the batch changed: the head and the index term of each changed node (the
     * instance maps are already up to date), then the fleet index; wakes blocking readers when it
     * moved. Costs the number of changed nodes, not their sizes.
     */
    private void publish() {
        publishedInstances = instanceCount;
        if (changedNodes.isEmpty()) {
            return;
        }
        long before = index;
        for (FleetNode n : changedNodes) {
            n.changed = false;
            n.head = n.currentHead();
            headsWritten++;
            long term = n.indexTerm();
            index += term - n.term;
            n.term = term;
        }
        changedNodes.clear();
        if (index == before) {
            return;
        }
        indexChangedAt = System.currentTimeMillis();
        lock.lock();
        try {
            // The instance maps were written before this volatile write: a reader that sees the
            // new index sees every change up to it.
            publishedIndex = index;
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
}
