package io.edgegate.gateway.sync;

import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.Manifest;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.Topics;
import io.edgegate.gateway.registry.ChangeListener;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The edge end of the sync: keeps the cloud's copy of this node's instances equal to the
 * registry, whatever happens to the link. Local registration, health and routing never wait on it.
 *
 * <p>The outbox is a map from instance id to the newest change not yet acknowledged by the
 * broker: a later change replaces an earlier one, so its size is bounded by the number of
 * instances, not by how long the link was down. It is rebuilt at start-up from the registry and
 * the last acknowledged index ({@link SyncState}); nothing of it is written to disk.
 *
 * <p>After every (re)connect the broker's retained copy of this node is made equal to the
 * registry. The node reads its own retained instances back ({@link #onRetainedInstance}): each one
 * the registry lacks gets a removal at once (a removal made offline and forgotten across a
 * restart, or a leftover of an older epoch); once the read-back has settled ({@link ReadBack}),
 * each registry instance whose retained copy is missing or of another version is published again
 * (a broker restarted without its store, or restored from an old snapshot).
 *
 * <p>Digests and manifests describe what the broker acknowledged ({@link BrokerCopy}), never a
 * change still in flight. A digest (retained) goes out once the outbox has drained: after each
 * burst of changes (at most every {@link #BURST_DIGEST_GAP_MILLIS}), after each connect (not
 * waiting for the read-back, so the cloud can compare at once), and every digest interval; only
 * the periodic one re-asserts the retained online status. Its index is the highest index queued,
 * so it also tells the cloud of a removal, which carries none. A resync of buckets is answered
 * with every instance of those buckets, then each bucket's manifest once they are acknowledged,
 * then a fresh digest once the manifests are.
 *
 * <p>Threads: the registry thread hands changes in through {@link #instanceChanged} (one map put,
 * never blocks); Paho's threads hand in acknowledgements and down-link messages (map operations
 * and registry commands that are not waited for); one drainer thread publishes, rate-limited,
 * reconciles, takes digests and manifests, and writes the acknowledged index. Fields marked
 * "drainer" are owned by it.
 */
public final class SyncAgent implements ChangeListener, EdgeLink.Handler, AutoCloseable {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long WINDOW_FULL_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /** How long the read-back of retained instances must be quiet before the node reconciles. */
    static final long READ_BACK_SETTLE_MILLIS = 250;
    /** Least time between two digests published after bursts of changes. */
    static final long BURST_DIGEST_GAP_MILLIS = 100;
    /** No full resync asked. */
    private static final long NO_FULL_RESYNC = Long.MAX_VALUE;
    /**
     * How long a change the broker refused (its ACL: MQTT 5 reason 0x87) waits before it is sent
     * again, doubling per refusal up to {@link #REFUSED_RETRY_MAX_MILLIS}: a refusal is a
     * configuration fault that retrying at the publish rate would not cure, only flood the broker
     * and the log with. A new connection sends it once more at once.
     */
    static final long REFUSED_RETRY_INITIAL_MILLIS = 1_000;

    static final long REFUSED_RETRY_MAX_MILLIS = 60_000;

    private final Registry registry;
    private final SyncOptions options;
    private final ErrorLog errors;
    private final SyncState state;
    private final long epoch;
    /** The registry's index at start: every change up to it is acknowledged, queued, or a removal the read-back clears. */
    private final long startIndex;

    private final ConcurrentHashMap<String, Entry> outbox = new ConcurrentHashMap<>();
    private final BrokerCopy brokerCopy = new BrokerCopy();
    private final ReadBack readBack = new ReadBack();
    /** Config names pushed to this node itself: they win over the same names pushed to the site. */
    private final Set<String> nodeConfig = ConcurrentHashMap.newKeySet();
    /** Buckets a resync asked for, not yet queued by the drainer. */
    private final Set<Integer> resyncBuckets = ConcurrentHashMap.newKeySet();
    /** The lowest {@code fromIndex} of full resyncs asked and not yet queued; {@link #NO_FULL_RESYNC} for none. */
    private final AtomicLong fullResyncFrom = new AtomicLong(NO_FULL_RESYNC);

    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong maxQueuedIndex = new AtomicLong();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong configApplied = new AtomicLong();
    private final AtomicLong staleCleared = new AtomicLong();
    private final AtomicLong republished = new AtomicLong();
    private final AtomicLong digests = new AtomicLong();
    private final AtomicLong manifests = new AtomicLong();
    private final AtomicLong resyncs = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicInteger manifestsInFlight = new AtomicInteger();
    private final Thread drainer;
    private final EdgeLink link;
    private volatile boolean running = true;
    private volatile boolean digestDue;
    /** A change was acknowledged since the last digest. */
    private volatile boolean changedSinceDigest;

    private volatile long connectedAtNanos;

    // ---- drainer
    private final Set<Integer> manifestsDue = new TreeSet<>();
    private final ArrayDeque<Manifest> manifestParts = new ArrayDeque<>();
    private long tokens;
    private long lastRefill = System.nanoTime();

    /**
     * One change waiting in the outbox: the instance's state, or its removal (null). Refusals by
     * the broker hold it back ({@link #REFUSED_RETRY_INITIAL_MILLIS}); a newer change of the same
     * instance inherits the hold, since the broker would refuse it for the same reason.
     */
    private static final class Entry {
        final Instance instance;
        final long index;
        final AtomicBoolean inFlight = new AtomicBoolean();
        /** Refusals by the broker in a row; written by the completion, read by the drainer. */
        volatile int refusals;
        /** Not sent again before this {@link System#nanoTime()} on the connection it was refused on. */
        volatile long heldUntilNanos;
        /** The connection (the count of connects) it was refused on. */
        volatile long heldOnConnection = -1;

        Entry(Instance instance, long index) {
            this.instance = instance;
            this.index = index;
        }

        /** Whether it waits out a refusal at {@code now} on connection {@code connection}. */
        boolean held(long now, long connection) {
            return heldOnConnection == connection && now - heldUntilNanos < 0;
        }

        Entry inheriting(Entry refused) {
            refusals = refused.refusals;
            heldUntilNanos = refused.heldUntilNanos;
            heldOnConnection = refused.heldOnConnection;
            return this;
        }
    }

    private SyncAgent(
            Registry registry, SyncOptions options, Topics topics, String address, Path dataDir, ErrorLog errors) {
        this.registry = registry;
        this.options = options;
        this.errors = errors;
        this.state = SyncState.load(dataDir.resolve("sync-state.json"));
        if (registry.index() < state.acknowledgedIndex()) {
            // The journal is behind what the cloud has (restored from an old copy, or replaced):
            // its indexes will repeat, so they must count in a new epoch.
            state.newEpoch();
        }
        this.epoch = state.epoch();
        // Listen first, then scan: a change made in between is queued twice, which the outbox folds.
        registry.onChange(this);
        this.startIndex = registry.index();
        for (ServiceSnapshot service : registry.services()) {
            for (Instance instance : service.instances()) {
                if (instance.modifyIndex() > state.acknowledgedIndex()) {
                    queue(instance.id(), instance, instance.modifyIndex());
                } else {
                    brokerCopy.assume(instance.id(), instance.modifyIndex());
                }
            }
        }
        this.drainer = Thread.ofPlatform().name("edgegate-sync").daemon().unstarted(this::drain);
        this.link = EdgeLink.start(options.link(), topics, address, epoch, this);
        // The status says no more than what the broker acknowledged before the restart.
        link.position(epoch, state.acknowledgedIndex());
        drainer.start();
    }

    /**
     * Starts syncing the registry to the broker in {@code options}; returns at once (the link
     * connects in the background and reconnects with backoff for as long as it runs).
     */
    public static SyncAgent start(
            Registry registry, SyncOptions options, Topics topics, String address, Path dataDir, ErrorLog errors) {
        return new SyncAgent(registry, options, topics, address, dataDir, errors);
    }

    // ---------------------------------------------------------------- from the registry thread

    @Override
    public void instanceChanged(String id, Instance instance, long index) {
        queue(id, instance, index);
        LockSupport.unpark(drainer);
    }

    private void queue(String id, Instance instance, long index) {
        outbox.merge(
                id,
                new Entry(instance, index),
                (old, fresh) -> fresh.index >= old.index ? (old.refusals > 0 ? fresh.inheriting(old) : fresh) : old);
        maxQueuedIndex.accumulateAndGet(index, Math::max);
    }

    // ---------------------------------------------------------------- from the link

    @Override
    public void onConnected() {
        connectedAtNanos = System.nanoTime();
        connections.incrementAndGet();
        digestDue = true;
        LockSupport.unpark(drainer);
    }

    @Override
    public void onDisconnected(Throwable cause) {
        readBack.reset();
    }

    /**
     * Cloud-sync asks for a resync: of some buckets (their instances, manifests and a digest), or
     * of every instance changed after {@code fromIndex}. Queued for the drainer; never blocks.
     */
    @Override
    public void onResync(ResyncCommand command) {
        resyncs.incrementAndGet();
        if (command.buckets().isEmpty()) {
            fullResyncFrom.accumulateAndGet(command.fromIndex(), Math::min);
        } else {
            resyncBuckets.addAll(command.buckets());
        }
        LockSupport.unpark(drainer);
    }

    /**
     * A retained instance the broker holds for this node (read back on connect). If the registry
     * does not have it, the broker's copy is stale (removed while offline and forgotten across a
     * restart, or left by an older epoch): queue its removal unless the outbox already holds a
     * change for it. An unreadable payload on this node's topic is replaced: by the registry's
     * state when it has the instance, by a removal otherwise. A readable one is remembered, so the
     * reconciliation after the read-back republishes only what the broker lacks.
     */
    @Override
    public void onRetainedInstance(String id, InstanceState retained) {
        if (retained != null) {
            readBack.retained(id, retained.epoch(), retained.index());
        }
        Instance current = registry.instance(id);
        if (current != null) {
            if (retained == null && outbox.putIfAbsent(id, new Entry(current, current.modifyIndex())) == null) {
                LockSupport.unpark(drainer);
            }
            return;
        }
        // The removal carries index 0: a registration of this id that races the look-up is
        // queued by instanceChanged with a higher index and wins over it in queue()'s merge.
        // It does not raise maxQueuedIndex: it stands for no change of the registry.
        if (outbox.putIfAbsent(id, new Entry(null, 0)) == null) {
            staleCleared.incrementAndGet();
            digestDue = true;
        }
        // A registration that was queued, published and acknowledged between the look-up and
        // the putIfAbsent left no entry to lose against: put its state back, it wins by index.
        Instance raced = registry.instance(id);
        if (raced != null) {
            queue(id, raced, raced.modifyIndex());
        }
        LockSupport.unpark(drainer);
    }

    @Override
    public void onConfig(ConfigPush push, boolean siteWide) {
        String key = push.kind() + "/" + push.name();
        if (siteWide && nodeConfig.contains(key)) {
            return; // this node has its own value
        }
        if (!siteWide) {
            nodeConfig.add(key);
        }
        // Durable through the registry, so it holds while offline and across restarts; not waited for.
        registry.putConfig(push.kind(), push.name(), push.body().toString()).whenComplete((change, error) -> {
            if (error != null) {
                errors.record(error);
            } else {
                configApplied.incrementAndGet();
            }
        });
    }

    @Override
    public void onConfigRemoved(ConfigRemoved removed, boolean siteWide) {
        String key = removed.kind() + "/" + removed.name();
        if (siteWide && nodeConfig.contains(key)) {
            return;
        }
        nodeConfig.remove(key);
        registry.putConfig(removed.kind(), removed.name(), null);
    }

    private void completed(String id, Entry entry, boolean acked) {
        if (acked) {
            acknowledged.incrementAndGet();
            // The broker's copy first, then the outbox: an empty outbox means the copy is complete.
            brokerCopy.acknowledged(id, entry.instance != null, entry.index);
            if (entry.instance != null) {
                readBack.acknowledged(id, entry.index);
            }
            changedSinceDigest = true;
            // Only this exact change leaves: a newer one that replaced it meanwhile stays queued.
            outbox.remove(id, entry);
        } else if (link.connected()) {
            // Refused by the broker, the connection still up (a lost connection fails its
            // publishes after the link reports it down): held back, not sent again at once.
            refused.incrementAndGet();
            int refusals = entry.refusals++;
            long wait = Math.min(REFUSED_RETRY_MAX_MILLIS, REFUSED_RETRY_INITIAL_MILLIS << Math.min(refusals, 16));
            entry.heldUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
            entry.heldOnConnection = connections.get();
            entry.inFlight.set(false);
            // One message for every refusal (the log counts them): the topic and reason are the
            // link's last error, on the status page.
            errors.record(new IllegalStateException("sync: the broker refused a change (its ACL: not authorized?);"
                    + " held back and sent again after " + REFUSED_RETRY_INITIAL_MILLIS + " ms, doubling up to "
                    + REFUSED_RETRY_MAX_MILLIS + " ms"));
        } else {
            entry.inFlight.set(false);
        }
        LockSupport.unpark(drainer);
    }

    // ---------------------------------------------------------------- the drainer thread

    private void drain() {
        long lastPeriodicDigest = System.nanoTime();
        long lastDigest = 0;
        long lastStateWrite = System.nanoTime();
        long reconciled = 0;
        long periodNanos = TimeUnit.MILLISECONDS.toNanos(options.digestIntervalMillis());
        long settleNanos = TimeUnit.MILLISECONDS.toNanos(READ_BACK_SETTLE_MILLIS);
        long gapNanos = TimeUnit.MILLISECONDS.toNanos(BURST_DIGEST_GAP_MILLIS);
        while (running) {
            boolean blocked = false;
            long park = IDLE_PARK_NANOS;
            long connection = connections.get();
            if (link.connected()) {
                takeResyncs();
                blocked = publishOutbox();
                long now = System.nanoTime();
                if (reconciled != connection) {
                    if (readBack.settled(connectedAtNanos, settleNanos, now)) {
                        reconcile();
                        reconciled = connection;
                        continue; // publish what it queued
                    }
                    park = Math.min(park, settleNanos);
                }
                // Read before looking at the outbox: when it is empty, every change up to this
                // index has been acknowledged (changes queued later carry higher indexes).
                long index = Math.max(startIndex, maxQueuedIndex.get());
                if (!blocked && outbox.isEmpty()) {
                    if (!manifestsDue.isEmpty() || !manifestParts.isEmpty()) {
                        blocked = publishManifests(index);
                    } else if (manifestsInFlight.get() == 0) {
                        boolean periodic = now - lastPeriodicDigest >= periodNanos;
                        boolean burst = changedSinceDigest && now - lastDigest >= gapNanos;
                        if (periodic || digestDue || burst) {
                            if (publishDigest(index, periodic)) {
                                lastDigest = now;
                                if (periodic) {
                                    lastPeriodicDigest = now;
                                }
                            } else {
                                blocked = true;
                            }
                        } else if (changedSinceDigest) {
                            park = Math.min(park, gapNanos - (now - lastDigest));
                        }
                    }
                }
            }
            long now = System.nanoTime();
            if (now - lastStateWrite >= TimeUnit.SECONDS.toNanos(1)) {
                lastStateWrite = now;
                saveAcknowledged();
            }
            LockSupport.parkNanos(this, blocked ? WINDOW_FULL_PARK_NANOS : Math.max(park, 1_000_000L));
        }
        saveAcknowledged();
    }

    /** Queues what resyncs asked for: whole buckets (their manifests follow), or every change after an index. */
    private void takeResyncs() {
        long from = fullResyncFrom.getAndSet(NO_FULL_RESYNC);
        if (from != NO_FULL_RESYNC) {
            for (ServiceSnapshot service : registry.services()) {
                for (Instance instance : service.instances()) {
                    if (instance.modifyIndex() > from) {
                        queue(instance.id(), instance, instance.modifyIndex());
                    }
                }
            }
            digestDue = true;
        }
        if (resyncBuckets.isEmpty()) {
            return;
        }
        Set<Integer> buckets = new TreeSet<>();
        for (Integer b : resyncBuckets) {
            if (resyncBuckets.remove(b)) {
                buckets.add(b);
            }
        }
        for (ServiceSnapshot service : registry.services()) {
            for (Instance instance : service.instances()) {
                if (buckets.contains(Digest.bucketOf(instance.id()))) {
                    queue(instance.id(), instance, instance.modifyIndex());
                }
            }
        }
        manifestsDue.addAll(buckets);
    }

    /** Publishes queued changes within the rate limit; whether it stopped short (window full, no tokens). */
    private boolean publishOutbox() {
        long connection = connections.get();
        for (Map.Entry<String, Entry> e : outbox.entrySet()) {
            Entry entry = e.getValue();
            if (!running || entry.inFlight.get()) {
                continue;
            }
            long now = System.nanoTime();
            if (entry.held(now, connection)) {
                continue;
            }
            tokens = Math.min(
                    options.publishRatePerSecond(),
                    tokens + (now - lastRefill) * options.publishRatePerSecond() / 1_000_000_000L);
            lastRefill = now;
            if (tokens <= 0) {
                return true;
            }
            if (!entry.inFlight.compareAndSet(false, true)) {
                continue;
            }
            MqttLink.Send sent = publish(e.getKey(), entry);
            if (sent == MqttLink.Send.SENT) {
                tokens--;
                published.incrementAndGet();
            } else {
                entry.inFlight.set(false);
                return true;
            }
        }
        return false;
    }

    /**
     * After a resync of buckets, once their instances are acknowledged: each bucket's manifest,
     * then (once those are acknowledged) a digest. Whether it stopped short (window full).
     */
    private boolean publishManifests(long index) {
        if (!manifestsDue.isEmpty()) {
            manifestParts.addAll(brokerCopy.manifests(epoch, index, manifestsDue));
            manifestsDue.clear();
        }
        while (!manifestParts.isEmpty()) {
            manifestsInFlight.incrementAndGet();
            MqttLink.Send sent = link.publishManifest(manifestParts.peek(), acked -> {
                manifestsInFlight.decrementAndGet();
                LockSupport.unpark(drainer);
            });
            if (sent != MqttLink.Send.SENT && sent != MqttLink.Send.FAILED) {
                manifestsInFlight.decrementAndGet(); // the completion will not run
                return true;
            }
            manifestParts.poll();
            if (sent == MqttLink.Send.SENT) {
                manifests.incrementAndGet();
            }
        }
        digestDue = true;
        return false;
    }

    /**
     * Reconciles the broker's retained copy with the registry once the read-back has settled:
     * every instance whose retained copy is missing or of another version is queued again.
     */
    private void reconcile() {
        for (ServiceSnapshot service : registry.services()) {
            for (Instance instance : service.instances()) {
                String id = instance.id();
                Entry queued = outbox.get(id);
                if ((queued == null || queued.index < instance.modifyIndex())
                        && readBack.stale(id, epoch, instance.modifyIndex())) {
                    queue(id, instance, instance.modifyIndex());
                    republished.incrementAndGet();
                }
            }
        }
    }

    private MqttLink.Send publish(String id, Entry entry) {
        MqttLink.Completion done = acked -> completed(id, entry, acked);
        if (entry.instance == null) {
            return link.publishRemoval(id, done);
        }
        return link.publishState(state(entry.instance), done);
    }

    private InstanceState state(Instance instance) {
        return new InstanceState(
                instance.service(),
                instance.id(),
                instance.spec().address(),
                instance.spec().port(),
                instance.spec().tags(),
                instance.spec().meta(),
                SyncHealth.valueOf(instance.health().name()),
                epoch,
                instance.modifyIndex(),
                System.currentTimeMillis());
    }

    /**
     * Publishes a digest of what the broker acknowledged, at {@code index} (every change up to it
     * acknowledged); re-asserts the online status when {@code periodic}. Whether it was sent.
     */
    private boolean publishDigest(long index, boolean periodic) {
        // Changes acknowledged from here on are not in this digest: the next one covers them.
        changedSinceDigest = false;
        Digest digest = brokerCopy.digest(epoch, index, System.currentTimeMillis());
        link.position(epoch, index);
        MqttLink.Send sent = link.publishDigest(digest, periodic, acked -> {});
        if (sent != MqttLink.Send.SENT) {
            changedSinceDigest = true;
            return false;
        }
        digestDue = false;
        digests.incrementAndGet();
        // Nothing is in flight: no older change of a removed id can be acknowledged any more.
        brokerCopy.forgetRemovals();
        return true;
    }

    /**
     * Every change up to the highest index queued before the outbox was found empty has been
     * acknowledged: changes queued later carry higher indexes.
     */
    private void saveAcknowledged() {
        long candidate = maxQueuedIndex.get();
        if (outbox.isEmpty() && candidate > state.acknowledgedIndex()) {
            try {
                state.saveAcknowledged(candidate);
            } catch (RuntimeException e) {
                errors.record(e);
            }
        }
    }

    // ---------------------------------------------------------------- status

    /** Changes waiting for the broker's acknowledgement; at most the number of instances. */
    public int pending() {
        return outbox.size();
    }

    public long published() {
        return published.get();
    }

    public long acknowledged() {
        return acknowledged.get();
    }

    /** Removals queued for retained instances the broker held and the registry did not. */
    public long staleCleared() {
        return staleCleared.get();
    }

    /** Instances published again after a read-back found their retained copy missing or older. */
    public long republished() {
        return republished.get();
    }

    /** Digests published. */
    public long digests() {
        return digests.get();
    }

    /** Manifest parts published in answer to resyncs of buckets. */
    public long manifests() {
        return manifests.get();
    }

    /** Changes the broker refused (its ACL), each held back before it is sent again. */
    public long refused() {
        return refused.get();
    }

    /** Resync commands received. */
    public long resyncs() {
        return resyncs.get();
    }

    /** Retained instances of this node read back from the broker, over every connect. */
    public long retainedRead() {
        return link.retainedRead();
    }

    /** Malformed or foreign messages received on this node's topics: counted and ignored. */
    public long rejected() {
        return link.rejected();
    }

    /** The link's counters (publishes, payload bytes, connects). */
    public io.edgegate.bridge.LinkCounters linkCounters() {
        return link.link().counters();
    }

    public long epoch() {
        return epoch;
    }

    public boolean connected() {
        return link.connected();
    }

    /** When the link's current connection was made (epoch milliseconds); 0 when not connected. */
    public long connectedSinceMillis() {
        return link.link().connectedSinceMillis();
    }

    /** Index up to which every change is known to be on the broker (persisted). */
    public long acknowledgedIndex() {
        return state.acknowledgedIndex();
    }

    @Override
    public void close() {
        registry.onChange(null);
        running = false;
        LockSupport.unpark(drainer);
        try {
            drainer.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        link.close();
    }

    /** Simulates a crash of the link (tests): no offline status, the broker publishes the will. */
    void abortLink() {
        link.abort();
    }
}
