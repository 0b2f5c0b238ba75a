package io.edgegate.gateway.sync;

import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * <p>A removal made while the link is down survives a restart only as an absence: the registry
 * no longer has the instance, so the rebuilt outbox holds nothing for it. The broker still does,
 * so on every connect the node reads its own retained instances back ({@link #onRetainedInstance})
 * and queues a removal for each one the registry lacks, whatever its epoch: the broker's copy of
 * this node then converges to the registry, as the protocol's resync prescribes.
 *
 * <p>Threads: the registry thread hands changes in through {@link #instanceChanged} (one map put,
 * never blocks); Paho's threads hand in acknowledgements and down-link messages (map operations
 * and registry commands that are not waited for); one drainer thread publishes, rate-limited, and
 * writes the acknowledged index.
 */
public final class SyncAgent implements ChangeListener, EdgeLink.Handler, AutoCloseable {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long WINDOW_FULL_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private final Registry registry;
    private final SyncOptions options;
    private final ErrorLog errors;
    private final SyncState state;
    private final long epoch;
    private final ConcurrentHashMap<String, Entry> outbox = new ConcurrentHashMap<>();
    /** Config names pushed to this node itself: they win over the same names pushed to the site. */
    private final Set<String> nodeConfig = ConcurrentHashMap.newKeySet();

    private final AtomicLong maxQueuedIndex = new AtomicLong();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong configApplied = new AtomicLong();
    private final AtomicLong staleCleared = new AtomicLong();
    private final Thread drainer;
    private final EdgeLink link;
    private volatile boolean running = true;
    private volatile boolean digestDue;

    /** One change waiting in the outbox: the instance's state, or its removal (null). */
    private static final class Entry {
        final Instance instance;
        final long index;
        final AtomicBoolean inFlight = new AtomicBoolean();

        Entry(Instance instance, long index) {
            this.instance = instance;
            this.index = index;
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
        for (ServiceSnapshot service : registry.services()) {
            for (Instance instance : service.instances()) {
                if (instance.modifyIndex() > state.acknowledgedIndex()) {
                    queue(instance.id(), instance, instance.modifyIndex());
                }
            }
        }
        this.drainer = Thread.ofPlatform().name("edgegate-sync").daemon().unstarted(this::drain);
        this.link = EdgeLink.start(options.link(), topics, address, epoch, this);
        link.position(epoch, registry.index());
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
        outbox.merge(id, new Entry(instance, index), (old, fresh) -> fresh.index >= old.index ? fresh : old);
        maxQueuedIndex.accumulateAndGet(index, Math::max);
    }

    // ---------------------------------------------------------------- from the link

    @Override
    public void onConnected() {
        digestDue = true;
        LockSupport.unpark(drainer);
    }

    @Override
    public void onResync(ResyncCommand command) {
        for (ServiceSnapshot service : registry.services()) {
            for (Instance instance : service.instances()) {
                queue(instance.id(), instance, instance.modifyIndex());
            }
        }
        digestDue = true;
        LockSupport.unpark(drainer);
    }

    /**
     * A retained instance the broker holds for this node (read back on connect). If the registry
     * does not have it, the broker's copy is stale (removed while offline and forgotten across a
     * restart, or left by an older epoch): queue its removal unless the outbox already holds a
     * change for it. An unreadable payload on this node's topic is replaced: by the registry's
     * state when it has the instance, by a removal otherwise.
     */
    @Override
    public void onRetainedInstance(String id, InstanceState retained) {
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
            // Only this exact change leaves: a newer one that replaced it meanwhile stays queued.
            outbox.remove(id, entry);
        } else {
            entry.inFlight.set(false);
        }
        LockSupport.unpark(drainer);
    }

    // ---------------------------------------------------------------- the drainer thread

    private void drain() {
        long tokens = 0;
        long lastRefill = System.nanoTime();
        long lastDigest = 0;
        long lastStateWrite = System.nanoTime();
        while (running) {
            boolean blocked = false;
            if (link.connected()) {
                for (Map.Entry<String, Entry> e : outbox.entrySet()) {
                    Entry entry = e.getValue();
                    if (!running || entry.inFlight.get()) {
                        continue;
                    }
                    long now = System.nanoTime();
                    tokens = Math.min(
                            options.publishRatePerSecond(),
                            tokens + (now - lastRefill) * options.publishRatePerSecond() / 1_000_000_000L);
                    lastRefill = now;
                    if (tokens <= 0) {
                        blocked = true;
                        break;
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
                        blocked = true;
                        break;
                    }
                }
                long now = System.nanoTime();
                if (outbox.isEmpty()
                        && (digestDue
                                || now - lastDigest >= TimeUnit.MILLISECONDS.toNanos(options.digestIntervalMillis()))) {
                    digestDue = false;
                    lastDigest = now;
                    publishDigest();
                }
            }
            long now = System.nanoTime();
            if (now - lastStateWrite >= TimeUnit.SECONDS.toNanos(1)) {
                lastStateWrite = now;
                saveAcknowledged();
            }
            LockSupport.parkNanos(this, blocked ? WINDOW_FULL_PARK_NANOS : IDLE_PARK_NANOS);
        }
        saveAcknowledged();
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

    private void publishDigest() {
        Digest.Accumulator digest = new Digest.Accumulator();
        for (ServiceSnapshot service : registry.services()) {
            for (Instance instance : service.instances()) {
                digest.add(instance.id(), instance.modifyIndex());
            }
        }
        long index = registry.index();
        link.position(epoch, index);
        link.publishDigest(digest.digest(epoch, index, System.currentTimeMillis()), acked -> {});
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
