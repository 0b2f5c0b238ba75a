package io.edgegate.gateway.registry;

import io.edgegate.gateway.journal.Compaction;
import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalException;
import io.edgegate.gateway.journal.Recovery;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.agrona.DeadlineTimerWheel;
import org.agrona.collections.Long2ObjectHashMap;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

/**
 * The registry's single writer. Applies {@link Command}s from a many-to-one queue, probe results
 * from a second one, and timers (lease expiry, probe schedule, deregister-after-critical) from a
 * timer wheel; journals each batch with one force (group commit), then publishes new immutable
 * {@link ServiceSnapshot}s and completes the callers' futures.
 *
 * <p>Not thread-safe: every field below the queues is owned by the registry thread. Other threads
 * only offer to the queues, renew {@link Lease}s, and read what {@link #publish} hands to
 * {@link Registry}.
 *
 * <p>A batch is atomic with respect to durability: if the journal cannot force it, every
 * mutation of the batch is undone in reverse order, the index is rewound, and the callers get a
 * 503. Readers never see a state that is not on disk, because publication follows the force.
 */
final class RegistryConductor implements Runnable {
    private static final int TIMER_POLL_LIMIT = 4_096;
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long TICK_MILLIS = 8;
    private static final int OUTPUT_MAX_CHARS = 4_096;
    /** A deregistration whose answer waits for the instance to drain. */
    private static final Object DEFERRED = new Object();

    private final MpscArrayQueue<Command> queue;
    /**
     * Probe results. Unbounded in type but bounded by construction: a check has at most one probe
     * in flight, so it never holds more entries than there are checks.
     */
    private final MpscUnboundedArrayQueue<ProbeOutcome> probeResults = new MpscUnboundedArrayQueue<>(1_024);

    private final Registry registry;
    private final Journal journal;
    private final InstanceCodec codec = new InstanceCodec();
    private final RegistryOptions options;
    private final LongSupplier clockMillis;

    /** Set while the writer is parked, so producers know to unpark it. */
    volatile boolean parked;

    private volatile boolean running = true;

    // ---- owned by the registry thread ----
    private final Map<String, Instance> instances = new HashMap<>();
    /** Every service's members and their persistent tries, kept from batch to batch. */
    private final Map<String, ServiceMembers> services = new HashMap<>();

    private final Map<String, Long> serviceIndex = new HashMap<>();
    /** Check id to the id of the instance that owns it, for every check of every instance. */
    private final Map<String, String> checkOwners = new HashMap<>();
    /** Runtime state of every check by check id. */
    private final Map<String, CheckRuntime> runtimes = new HashMap<>();

    private final Map<String, TreeMap<String, String>> config = new HashMap<>();
    private final Map<String, Long> configIndex = new HashMap<>();

    private final DeadlineTimerWheel timers;
    private final Long2ObjectHashMap<TimerTask> timerOwners = new Long2ObjectHashMap<>();

    private final List<Command> batch = new ArrayList<>();
    private final List<Mutation> mutations = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final List<Drain> drains = new ArrayList<>();
    private final List<Expiry> expiredLeases = new ArrayList<>();
    private final RegistryEvents events = new RegistryEvents();
    private final List<CheckRuntime> revive = new ArrayList<>();
    private final Set<String> dirtyServices = new HashSet<>();
    private final Set<String> dirtyIds = new HashSet<>();
    private final Set<String> dirtyConfig = new HashSet<>();
    private long index;
    private boolean journalBroken;
    private long nextCompactionBytes;

    /** Writes snapshots in the background; see {@link #maybeCompact}. */
    private final ExecutorService compactor = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("edgegate-compactor").daemon(true).factory());
    /** Its own codec: the compactor thread shares no mutable object with the writer. */
    private final InstanceCodec compactionCodec = new InstanceCodec();
    /** Set by the compactor when a snapshot failed, read by the writer to back off. */
    private volatile boolean compactionFailed;

    /** Something the timer wheel calls back. */
    private interface TimerTask {
        void onTimer(long now);
    }

    /**
     * Runtime state of one check: threshold counters, the probe in flight, its lease (TTL checks)
     * and since when it is critical (for deregister-after-critical).
     */
    private final class CheckRuntime implements TimerTask {
        final String instanceId;
        CheckSpec spec;
        final Lease lease;
        int successes;
        int failures;
        boolean probing;
        long dueMillis;
        long generation;
        long criticalSinceMillis = -1;
        boolean removed;

        CheckRuntime(String instanceId, CheckSpec spec, long now) {
            this.instanceId = instanceId;
            this.spec = spec;
            this.lease = spec.kind() == CheckKind.TTL ? new Lease(instanceId, spec.id(), spec.ttlMillis(), now) : null;
        }

        @Override
        public void onTimer(long now) {
            if (removed) {
                return;
            }
            if (lease != null) {
                onLeaseTimer(this, now);
            } else {
                onProbeTimer(this, now);
            }
        }
    }

    /** Removes an instance that stayed critical for its check's deregister-critical-after. */
    private record Reap(CheckRuntime check, long criticalSince) {}

    /** An instance draining before removal, and the deregistration waiting for it (null after a restart). */
    private record Drain(String id, long deadlineMillis, CompletableFuture<Object> future) {}

    /** A lease found expired in this batch, and the deadline it had when the writer decided. */
    private record Expiry(CheckRuntime check, long deadlineSeen) {}

    /** One probe's result as reported back by the launcher. */
    record ProbeOutcome(String checkId, long generation, Health status, String output) {}

    /**
     * One journaled change of the current batch and how to undo it if the batch fails; {@code id}
     * names the instance it changed (null for a configuration entry), {@code after} its new state.
     */
    private record Mutation(long index, byte[] payload, Runnable undo, String id, Instance after) {}

    /** A caller's future and the outcome to give it once the batch is durable. */
    private record Pending(CompletableFuture<Object> future, Object value, RuntimeException error) {}

    RegistryConductor(Registry registry, Journal journal, RegistryOptions options, LongSupplier clockMillis) {
        this.registry = registry;
        this.journal = journal;
        this.options = options;
        this.clockMillis = clockMillis;
        this.queue = new MpscArrayQueue<>(options.queueCapacity());
        this.timers = new DeadlineTimerWheel(TimeUnit.MILLISECONDS, clockMillis.getAsLong(), TICK_MILLIS, 512);
    }

    /** Rebuilds state from the journal; runs before the thread starts. Returns the last index. */
    long recover() {
        Recovery recovery = journal.recover();
        long now = clockMillis.getAsLong();
        for (byte[] entry : recovery.snapshotEntries()) {
            replay(entry, 0, now);
        }
        for (var record : recovery.records()) {
            replay(record.payload(), record.index(), now);
        }
        // At least 1 (Consul's rule for X-Consul-Index), and every change after it is above it, so a
        // watcher holding the restore index wakes on the first change.
        index = Math.max(1, Math.max(recovery.lastIndex(), journal.lastIndex()));
        for (Instance instance : instances.values()) {
            serviceIndex.merge(instance.service(), instance.modifyIndex(), Math::max);
            if (instance.draining()) {
                // Its requests in flight died with the previous process: finish the drain at once.
                drains.add(new Drain(instance.id(), 0, null));
            }
        }
        publish();
        return index;
    }

    private void replay(byte[] payload, long recordIndex, long now) {
        switch (payload[0]) {
            case InstanceCodec.PUT -> {
                Instance instance = codec.instance(payload);
                install(instance.id(), instance, now);
                serviceIndex.merge(instance.service(), recordIndex, Math::max);
            }
            case InstanceCodec.DELETE -> {
                String id = codec.deletedId(payload);
                Instance before = instances.get(id);
                if (before != null) {
                    install(id, null, now);
                    serviceIndex.merge(before.service(), recordIndex, Math::max);
                }
            }
            case InstanceCodec.CONFIG -> {
                InstanceCodec.ConfigEntry entry = codec.configEntry(payload);
                installConfig(entry.kind(), entry.name(), entry.json());
                configIndex.merge(entry.kind(), recordIndex, Math::max);
            }
            default -> throw new IllegalStateException("unknown journal payload: type=" + (char) payload[0]);
        }
    }

    boolean offer(Command command) {
        if (!running || !queue.offer(command)) {
            return false;
        }
        wake();
        return true;
    }

    void offer(ProbeOutcome outcome) {
        probeResults.offer(outcome);
        wake();
    }

    private void wake() {
        // The writer sets parked before it re-checks the queues, and both are volatile accesses,
        // so either it sees the new entry or this thread sees parked and wakes it.
        if (parked) {
            LockSupport.unpark(registry.writerThread());
        }
    }

    /** Commands waiting (any thread; approximate). */
    int queueDepth() {
        return queue.size();
    }

    void stop() {
        running = false;
        LockSupport.unpark(registry.writerThread());
    }

    @Override
    public void run() {
        while (running) {
            int work;
            try {
                work = doWork();
            } catch (RuntimeException e) {
                work = 1;
                abandonBatch(e);
            }
            if (work == 0) {
                idle();
            }
        }
        // Refuse what is still queued: the registry is closing.
        Command command;
        while ((command = queue.poll()) != null) {
            command.result().completeExceptionally(RegistryException.unavailable("closing", "registry is closing"));
        }
        for (Drain drain : drains) {
            if (drain.future() != null) {
                drain.future().completeExceptionally(RegistryException.unavailable("closing", "registry is closing"));
            }
        }
        // A snapshot still being written is waited for by Journal#close.
        compactor.shutdown();
    }

    private void idle() {
        parked = true;
        if (queue.isEmpty() && probeResults.isEmpty()) {
            boolean ticking = timers.timerCount() > 0 || !drains.isEmpty();
            LockSupport.parkNanos(this, ticking ? TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS) : IDLE_PARK_NANOS);
        }
        parked = false;
    }

    /**
     * One duty cycle: drain commands and probe results, run due timers and drains, make the
     * batch durable, publish. Returns the work done, 0 when idle.
     */
    int doWork() {
        queue.drain(batch::add, options.maxBatch());
        long now = clockMillis.getAsLong();
        int work = batch.size() + reviveRenewed(now);
        work += probeResults.drain(
                outcome -> {
                    try {
                        onProbeOutcome(outcome, now);
                    } catch (RuntimeException e) {
                        registry.errors().record(e);
                    }
                },
                options.maxBatch());
        if (timers.timerCount() == 0) {
            timers.currentTickTime(now);
        }
        int expired = 0;
        do {
            expired += timers.poll(now, this::onTimerExpiry, TIMER_POLL_LIMIT - expired);
        } while (expired < TIMER_POLL_LIMIT && timers.currentTickTime() <= now);
        work += expired;
        work += pollDrains(now);
        for (Command command : batch) {
            apply(command, now);
        }
        batch.clear();
        if (mutations.isEmpty() && dirtyServices.isEmpty() && dirtyConfig.isEmpty() && pending.isEmpty()) {
            return work;
        }
        commit();
        checkExpiredLeases();
        return Math.max(work, 1);
    }

    @SuppressWarnings("unchecked")
    private void apply(Command command, long now) {
        CompletableFuture<Object> future = (CompletableFuture<Object>) command.result();
        int mark = mutations.size();
        try {
            Object value =
                    switch (command) {
                        case Command.Register r -> register(r.specs(), now);
                        case Command.Deregister d -> deregister(d.id(), future, now);
                        case Command.Maintenance m -> maintenance(m.id(), m.enable(), m.reason(), now);
                        case Command.UpdateCheck u -> updateCheck(u.checkId(), u.status(), u.output(), now);
                        case Command.Heartbeat h -> heartbeat(h.id(), now);
                        case Command.PutConfig c -> putConfig(c.kind(), c.name(), c.json());
                        case Command.Annotate a -> annotate(a.id(), a.meta(), now);
                    };
            if (value != DEFERRED) {
                pending.add(new Pending(future, value, null));
            }
        } catch (RegistryException e) {
            undoTo(mark);
            pending.add(new Pending(future, null, e));
        } catch (RuntimeException e) {
            undoTo(mark);
            registry.errors().record(e);
            pending.add(new Pending(future, null, RegistryException.unavailable("internal", "internal error: " + e)));
        }
    }

    // ---------------------------------------------------------------- commands

    private List<Change> register(List<InstanceSpec> specs, long now) {
        requireJournal();
        List<Change> changes = new ArrayList<>(specs.size());
        int added = 0;
        Set<String> batchIds = new HashSet<>();
        Map<String, String> batchChecks = new HashMap<>();
        for (InstanceSpec spec : specs) {
            if (!batchIds.add(spec.id())) {
                throw RegistryException.conflict("id", "id given twice in one batch: id=" + spec.id());
            }
            Instance existing = instances.get(spec.id());
            if (existing != null && !existing.service().equals(spec.service())) {
                throw RegistryException.conflict(
                        "id",
                        "id already registered for another service: id=" + spec.id() + ", service="
                                + existing.service());
            }
            for (CheckSpec check : spec.checks()) {
                String owner = batchChecks.putIfAbsent(check.id(), spec.id());
                if (owner == null) {
                    owner = checkOwners.get(check.id());
                }
                if (owner != null && !owner.equals(spec.id())) {
                    throw RegistryException.conflict(
                            "check.id",
                            "check id already used by another instance: check=" + check.id() + ", instance=" + owner);
                }
            }
            if (existing == null) {
                added++;
            }
        }
        if (instances.size() + added > options.maxInstances()) {
            throw new RegistryException(
                    422,
                    "instances",
                    "max-instances",
                    "limit exceeded: instances=" + (instances.size() + added) + ", max-instances="
                            + options.maxInstances());
        }
        for (InstanceSpec spec : specs) {
            Instance existing = instances.get(spec.id());
            long next = index + 1;
            List<CheckState> states = new ArrayList<>(spec.checks().size());
            for (CheckSpec check : spec.checks()) {
                CheckState old = existing == null ? null : existing.check(check.id());
                if (old != null && old.spec().sameProbe(check)) {
                    states.add(new CheckState(check, old.status(), old.output(), old.createIndex(), old.modifyIndex()));
                } else {
                    states.add(new CheckState(check, check.initialStatus(), "", next, next));
                }
            }
            // A re-registration cancels a drain in progress: the instance is back.
            Instance updated = new Instance(
                    spec,
                    states,
                    existing == null ? null : existing.maintenanceReason(),
                    existing == null ? next : existing.createIndex(),
                    next,
                    false);
            if (existing != null
                    && existing.equals(new Instance(
                            spec,
                            states,
                            existing.maintenanceReason(),
                            existing.createIndex(),
                            existing.modifyIndex(),
                            false))) {
                changes.add(new Change(spec.id(), existing.modifyIndex()));
                continue;
            }
            mutate(spec.id(), existing, updated, now);
            changes.add(new Change(spec.id(), next));
        }
        return changes;
    }

    /**
     * Takes the instance out of routing at once. With requests in flight and a drain timeout, it
     * stays (draining, not routable) until they finish or the timeout passes, and the answer waits
     * for the removal; otherwise it is removed at once.
     */
    private Object deregister(String id, CompletableFuture<Object> future, long now) {
        Instance existing = requireInstance(id);
        requireJournal();
        if (options.drainTimeoutMillis() <= 0 || registry.inFlight(id) == 0) {
            // Nothing to wait for: remove in one change, as Consul does.
            long next = index + 1;
            mutate(id, existing, null, now);
            events.deregistered(next, existing);
            return new Change(id, next);
        }
        int before = mutations.size();
        if (!existing.draining()) {
            mutate(
                    id,
                    existing,
                    new Instance(
                            existing.spec(),
                            existing.checks(),
                            existing.maintenanceReason(),
                            existing.createIndex(),
                            index + 1,
                            true),
                    now);
            events.draining(index, existing, registry.inFlight(id));
        }
        Drain drain = new Drain(id, now + options.drainTimeoutMillis(), future);
        drains.add(drain);
        if (mutations.size() > before) {
            // Undoing the batch must forget the drain its mutation started.
            Mutation started = mutations.get(before);
            mutations.set(
                    before,
                    new Mutation(
                            started.index(),
                            started.payload(),
                            () -> {
                                drains.remove(drain);
                                started.undo().run();
                            },
                            started.id(),
                            started.after()));
        }
        return DEFERRED;
    }

    private Change maintenance(String id, boolean enable, String reason, long now) {
        Instance existing = requireInstance(id);
        if (enable == existing.inMaintenance()) {
            return new Change(id, existing.modifyIndex());
        }
        long next = index + 1;
        String why = enable ? (reason == null || reason.isEmpty() ? "Maintenance mode is enabled" : reason) : null;
        mutate(
                id,
                existing,
                new Instance(
                        existing.spec(), existing.checks(), why, existing.createIndex(), next, existing.draining()),
                now);
        return new Change(id, next);
    }

    /** Sets (or, for a null value, removes) metadata keys of an instance; its checks, maintenance and drain stay. */
    private Change annotate(String id, Map<String, String> meta, long now) {
        Instance existing = requireInstance(id);
        InstanceSpec spec = existing.spec();
        Map<String, String> merged = new HashMap<>(spec.meta());
        for (Map.Entry<String, String> e : meta.entrySet()) {
            if (e.getValue() == null) {
                merged.remove(e.getKey());
            } else {
                merged.put(e.getKey(), e.getValue());
            }
        }
        if (merged.equals(spec.meta())) {
            return new Change(id, existing.modifyIndex());
        }
        long next = index + 1;
        InstanceSpec annotated = new InstanceSpec(
                spec.service(),
                spec.id(),
                spec.address(),
                spec.port(),
                spec.tags(),
                merged,
                spec.checks(),
                spec.weightPassing(),
                spec.weightWarning());
        mutate(
                id,
                existing,
                new Instance(
                        annotated,
                        existing.checks(),
                        existing.maintenanceReason(),
                        existing.createIndex(),
                        next,
                        existing.draining()),
                now);
        return new Change(id, next);
    }

    private Change updateCheck(String checkId, Health status, String output, long now) {
        CheckRuntime check = runtimes.get(checkId);
        if (check == null) {
            throw RegistryException.notFound("check", checkId);
        }
        if (check.lease == null) {
            throw new RegistryException(
                    400, "check", "not-ttl", "check is not a TTL check, it reports its own status: check=" + checkId);
        }
        check.lease.renew(now);
        return setCheckStatus(check, status, output == null ? "" : output, now);
    }

    private Change heartbeat(String id, long now) {
        Instance existing = requireInstance(id);
        Change change = new Change(id, existing.modifyIndex());
        boolean anyTtl = false;
        for (CheckState state : existing.checks()) {
            CheckRuntime check = runtimes.get(state.spec().id());
            if (check.lease != null) {
                anyTtl = true;
                check.lease.renew(now);
                change = setCheckStatus(check, Health.PASSING, state.output(), now);
            }
        }
        if (!anyTtl) {
            throw new RegistryException(400, "id", "no-ttl-check", "instance has no TTL check to renew: id=" + id);
        }
        return change;
    }

    private Change putConfig(String kind, String name, String json) {
        requireJournal();
        Map<String, String> entries = config.get(kind);
        String before = entries == null ? null : entries.get(name);
        if (json == null && before == null) {
            throw RegistryException.notFound(kind, name);
        }
        if (json != null && json.equals(before)) {
            return new Change(kind + "/" + name, configIndex.getOrDefault(kind, 0L));
        }
        index++;
        long mutationIndex = index;
        Long indexBefore = configIndex.put(kind, mutationIndex);
        installConfig(kind, name, json);
        Runnable undo = () -> {
            installConfig(kind, name, before);
            configIndex.put(kind, indexBefore == null ? 0 : indexBefore);
        };
        byte[] payload = codec.config(new InstanceCodec.ConfigEntry(kind, name, json));
        mutations.add(new Mutation(mutationIndex, payload, undo, null, null));
        return new Change(kind + "/" + name, mutationIndex);
    }

    private void installConfig(String kind, String name, String json) {
        TreeMap<String, String> entries = config.computeIfAbsent(kind, k -> new TreeMap<>());
        if (json == null) {
            entries.remove(name);
        } else {
            entries.put(name, json);
        }
        dirtyConfig.add(kind);
    }

    // ---------------------------------------------------------------- check status

    /**
     * Sets one check's status. A status change is a journaled mutation with a new index; an
     * output-only change is applied in memory without an index (heartbeats stay off the disk).
     */
    private Change setCheckStatus(CheckRuntime check, Health status, String output, long now) {
        String instanceId = check.instanceId;
        String checkId = check.spec.id();
        Instance existing = instances.get(instanceId);
        String bounded = output.length() > OUTPUT_MAX_CHARS ? output.substring(0, OUTPUT_MAX_CHARS) : output;
        List<CheckState> states = new ArrayList<>(existing.checks());
        for (int i = 0; i < states.size(); i++) {
            CheckState state = states.get(i);
            if (!state.spec().id().equals(checkId)) {
                continue;
            }
            if (state.status() == status) {
                if (!state.output().equals(bounded)) {
                    states.set(
                            i, new CheckState(state.spec(), status, bounded, state.createIndex(), state.modifyIndex()));
                    Instance updated = existing.withChecks(states, existing.modifyIndex());
                    instances.put(instanceId, updated);
                    services.get(updated.service()).put(updated, -1);
                    dirtyServices.add(updated.service());
                    dirtyIds.add(instanceId);
                }
                return new Change(instanceId, existing.modifyIndex());
            }
            long next = index + 1;
            states.set(i, state.withStatus(status, bounded, next));
            events.checkChanged(
                    next,
                    existing,
                    states,
                    state,
                    status,
                    bounded,
                    check.lease != null && status == Health.CRITICAL && now >= check.lease.deadlineMillis());
            mutate(instanceId, existing, existing.withChecks(states, next), now);
            trackCritical(check, status, now);
            return new Change(instanceId, next);
        }
        throw RegistryException.notFound("check", checkId);
    }

    /** Starts or stops the deregister-after-critical clock of a check. */
    private void trackCritical(CheckRuntime check, Health status, long now) {
        if (status != Health.CRITICAL) {
            check.criticalSinceMillis = -1;
            return;
        }
        if (check.criticalSinceMillis >= 0) {
            return;
        }
        check.criticalSinceMillis = now;
        long after = check.spec.deregisterCriticalAfterMillis();
        if (after > 0) {
            Reap reap = new Reap(check, now);
            schedule(now + after, t -> onReap(reap));
        }
    }

    private void onReap(Reap reap) {
        CheckRuntime check = reap.check();
        if (check.removed || check.criticalSinceMillis != reap.criticalSince()) {
            return;
        }
        Instance instance = instances.get(check.instanceId);
        if (instance != null && !journalBroken) {
            long now = clockMillis.getAsLong();
            mutate(instance.id(), instance, null, now);
            events.reaped(index, instance, check.spec, now - reap.criticalSince());
        }
    }

    // ---------------------------------------------------------------- leases

    private void onLeaseTimer(CheckRuntime check, long now) {
        long deadline = check.lease.deadlineMillis();
        if (now < deadline) {
            // Renewed since it was scheduled: heartbeats only move the deadline, the timer follows.
            schedule(deadline, check);
            return;
        }
        Instance instance = instances.get(check.instanceId);
        CheckState state = instance.check(check.spec.id());
        if (state.status() != Health.CRITICAL && !journalBroken) {
            setCheckStatus(
                    check, Health.CRITICAL, "TTL expired: no report within " + check.spec.ttlMillis() + " ms", now);
            expiredLeases.add(new Expiry(check, deadline));
        }
        // Stay scheduled: a report renews the deadline and the next expiry re-checks it.
        schedule(now + check.lease.ttlMillis, check);
    }

    /**
     * A heartbeat on the fast path renews the lease, then reads the published status; this writer
     * publishes the expiry, then reads the lease again. Both are volatile, so at least one of them
     * sees the other: either the heartbeat saw critical and sent a command, or the writer sees a
     * renewed lease here and revives the check in the next cycle. No renewal is lost.
     */
    private void checkExpiredLeases() {
        for (Expiry expiry : expiredLeases) {
            if (expiry.check().lease.deadlineMillis() != expiry.deadlineSeen() && !expiry.check().removed) {
                revive.add(expiry.check());
            }
        }
        expiredLeases.clear();
    }

    private int reviveRenewed(long now) {
        if (revive.isEmpty()) {
            return 0;
        }
        int count = revive.size();
        for (CheckRuntime check : revive) {
            if (!check.removed && !journalBroken && now < check.lease.deadlineMillis()) {
                setCheckStatus(check, Health.PASSING, "TTL renewed", now);
            }
        }
        revive.clear();
        return count;
    }

    // ---------------------------------------------------------------- active probes

    private void onProbeTimer(CheckRuntime check, long now) {
        ProbeLauncher launcher = registry.probeLauncher();
        if (launcher != null && !check.probing) {
            check.probing = true;
            check.generation++;
            registry.countProbeLaunched();
            Instance instance = instances.get(check.instanceId);
            launcher.launch(
                    check.spec.id(),
                    check.generation,
                    check.spec,
                    instance == null ? "" : instance.spec().address());
        } else if (launcher != null) {
            registry.countProbeSkipped();
        }
        // Fixed rate from the launch, not from the result: a death is seen within interval + timeout.
        long interval = Math.max(1, check.spec.intervalMillis());
        long next = check.dueMillis + interval;
        if (next <= now) {
            next += ((now - next) / interval + 1) * interval;
        }
        check.dueMillis = next;
        schedule(next, check);
    }

    /** Applies Consul's thresholds: SuccessBeforePassing, FailuresBeforeWarning, FailuresBeforeCritical. */
    private void onProbeOutcome(ProbeOutcome outcome, long now) {
        CheckRuntime check = runtimes.get(outcome.checkId());
        if (check == null || check.generation != outcome.generation() || check.removed) {
            registry.countProbeStale();
            return;
        }
        check.probing = false;
        CheckSpec spec = check.spec;
        Health effective = null;
        if (outcome.status() != Health.CRITICAL) {
            check.successes++;
            check.failures = 0;
            if (check.successes >= spec.successBeforePassing()) {
                effective = outcome.status();
            }
        } else {
            check.failures++;
            check.successes = 0;
            int warnAfter =
                    spec.failuresBeforeWarning() > 0 ? spec.failuresBeforeWarning() : spec.failuresBeforeCritical();
            if (check.failures >= spec.failuresBeforeCritical()) {
                effective = Health.CRITICAL;
            } else if (check.failures >= warnAfter) {
                effective = Health.WARNING;
            }
        }
        if (effective != null && !journalBroken) {
            setCheckStatus(check, effective, outcome.output() == null ? "" : outcome.output(), now);
        }
    }

    // ---------------------------------------------------------------- drains

    private int pollDrains(long now) {
        if (drains.isEmpty()) {
            return 0;
        }
        int done = 0;
        for (int i = drains.size() - 1; i >= 0; i--) {
            Drain drain = drains.get(i);
            Instance instance = instances.get(drain.id());
            if (instance == null || !instance.draining()) {
                drains.remove(i);
                done++;
                if (drain.future() != null) {
                    pending.add(
                            instance == null
                                    ? new Pending(drain.future(), new Change(drain.id(), index), null)
                                    : new Pending(
                                            drain.future(),
                                            null,
                                            RegistryException.conflict(
                                                    "id", "re-registered while draining: id=" + drain.id())));
                }
                continue;
            }
            if (now < drain.deadlineMillis() && registry.inFlight(drain.id()) > 0) {
                continue;
            }
            if (journalBroken) {
                continue;
            }
            drains.remove(i);
            done++;
            long next = index + 1;
            mutate(drain.id(), instance, null, now);
            events.drained(next, instance, registry.inFlight(drain.id()) > 0);
            Mutation removal = mutations.get(mutations.size() - 1);
            mutations.set(
                    mutations.size() - 1,
                    new Mutation(
                            removal.index(),
                            removal.payload(),
                            () -> {
                                drains.add(drain);
                                removal.undo().run();
                            },
                            removal.id(),
                            null));
            if (drain.future() != null) {
                pending.add(new Pending(drain.future(), new Change(drain.id(), next), null));
            }
        }
        return done;
    }

    // ---------------------------------------------------------------- state

    private boolean onTimerExpiry(TimeUnit unit, long now, long timerId) {
        TimerTask task = timerOwners.remove(timerId);
        if (task != null) {
            try {
                task.onTimer(now);
            } catch (RuntimeException e) {
                registry.errors().record(e);
            }
        }
        return true;
    }

    private void schedule(long deadline, TimerTask task) {
        timerOwners.put(timers.scheduleTimer(deadline), task);
    }

    private Instance requireInstance(String id) {
        Instance existing = instances.get(id);
        if (existing == null) {
            throw RegistryException.notFound("id", id);
        }
        return existing;
    }

    private void requireJournal() {
        if (journalBroken) {
            throw RegistryException.unavailable("journal", "journal is failed; restart the gateway");
        }
    }

    private void mutate(String id, Instance before, Instance after, long now) {
        requireJournal();
        index++;
        String service = (after != null ? after : before).service();
        Long serviceIndexBefore = serviceIndex.put(service, index);
        int slot = install(id, after, now);
        byte[] payload = after == null ? codec.delete(id) : codec.put(after);
        Runnable undo = () -> {
            // A removal is undone in the slot it left: the instance keeps its place in the order.
            installAt(id, before, now, slot);
            serviceIndex.put(service, serviceIndexBefore == null ? 0 : serviceIndexBefore);
        };
        mutations.add(new Mutation(index, payload, undo, id, after));
    }

    private void undoTo(int mark) {
        for (int i = mutations.size() - 1; i >= mark; i--) {
            Mutation m = mutations.remove(i);
            m.undo().run();
            index = m.index() - 1;
        }
        events.undo(index);
    }

    /**
     * Puts {@code instance} (or removes {@code id} when null) in every writer-side structure.
     * Returns the slot a removed instance had in its service (see {@link ServiceMembers#remove}).
     */
    private int install(String id, Instance instance, long now) {
        return installAt(id, instance, now, -1);
    }

    /** {@link #install}, putting a new member in {@code slot} when it is free (not negative). */
    private int installAt(String id, Instance instance, long now, int slot) {
        Instance old = instance == null ? instances.remove(id) : instances.put(id, instance);
        if (old != null) {
            for (CheckState state : old.checks()) {
                String checkId = state.spec().id();
                CheckState kept = instance == null ? null : instance.check(checkId);
                if (kept == null || kept.spec().kind() != state.spec().kind()) {
                    checkOwners.remove(checkId);
                    CheckRuntime check = runtimes.remove(checkId);
                    if (check != null) {
                        check.removed = true;
                        registry.publishLease(checkId, null);
                    }
                }
            }
        }
        String service = (instance != null ? instance : old).service();
        ServiceMembers members = services.computeIfAbsent(service, ServiceMembers::new);
        int removedSlot = -1;
        if (instance == null) {
            removedSlot = members.remove(id);
        } else {
            members.put(instance, slot);
            for (CheckState state : instance.checks()) {
                CheckSpec spec = state.spec();
                checkOwners.put(spec.id(), id);
                CheckRuntime check = runtimes.get(spec.id());
                if (check != null) {
                    check.spec = spec; // same kind: keep counters, lease and schedule
                    continue;
                }
                check = new CheckRuntime(id, spec, now);
                runtimes.put(spec.id(), check);
                if (check.lease != null) {
                    registry.publishLease(spec.id(), check.lease);
                    schedule(check.lease.deadlineMillis(), check);
                } else {
                    // Jitter spreads the first probes over one interval, so a restart or a batch
                    // registration does not probe everything in the same tick.
                    long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, spec.intervalMillis()));
                    check.dueMillis = now + jitter;
                    schedule(check.dueMillis, check);
                }
                trackCritical(check, state.status(), now);
            }
        }
        dirtyServices.add(service);
        dirtyIds.add(id);
        return removedSlot;
    }

    // ---------------------------------------------------------------- durability and publication

    /** Journals the batch's mutations with one force, then publishes, tells listeners and answers. */
    private void commit() {
        boolean durable = false;
        if (!mutations.isEmpty()) {
            try {
                for (Mutation m : mutations) {
                    journal.append(m.index(), m.payload());
                }
                journal.force();
                durable = true;
            } catch (RuntimeException e) {
                refuseBatch(e);
            }
        }
        publish();
        if (durable) {
            events.flush();
            ChangeListener listener = registry.changeListener();
            if (listener != null) {
                for (Mutation m : mutations) {
                    if (m.id() != null) {
                        notify(listener, m);
                    }
                }
            }
        }
        mutations.clear();
        for (Pending p : pending) {
            if (p.error() != null) {
                p.future().completeExceptionally(p.error());
            } else {
                p.future().complete(p.value());
            }
        }
        pending.clear();
        maybeCompact();
    }

    private void notify(ChangeListener listener, Mutation m) {
        try {
            listener.instanceChanged(m.id(), m.after(), m.index());
        } catch (RuntimeException e) {
            registry.errors().record(e);
        }
    }

    /** Keeps the writer alive after a fault in its own code: the batch is undone and refused. */
    private void abandonBatch(RuntimeException e) {
        registry.errors().record(e);
        batch.clear();
        undoTo(0);
        RegistryException refused = RegistryException.unavailable("internal", "internal error, nothing changed: " + e);
        for (Pending p : pending) {
            p.future().completeExceptionally(p.error() != null ? p.error() : refused);
        }
        pending.clear();
        expiredLeases.clear();
    }

    /**
     * Undoes the whole batch after its journal write failed, and tells its callers. A usable
     * journal cut the failed records back, so nothing changed; a broken one may hold some of them,
     * so the outcome is unknown until a restart replays what is there.
     */
    private void refuseBatch(RuntimeException e) {
        registry.errors().record(e);
        journal.dropBuffered();
        boolean usable = !(e instanceof JournalException je) || je.usable();
        journalBroken |= !usable;
        undoTo(0);
        expiredLeases.clear();
        RegistryException refused = usable
                ? RegistryException.unavailable("journal", "write not durable, nothing changed: " + e.getMessage())
                : RegistryException.unavailable(
                        "journal", "journal failed, outcome unknown until restart: " + e.getMessage());
        for (int i = 0; i < pending.size(); i++) {
            Pending p = pending.get(i);
            if (p.error() == null) {
                pending.set(i, new Pending(p.future(), null, refused));
            }
        }
    }

    /**
     * Starts a snapshot when the log has grown past its threshold. The writer only rolls the log
     * over; a background thread encodes the live state (immutable objects, copied by reference as
     * of {@code index}) and writes the snapshot while this thread keeps forcing new batches.
     */
    private void maybeCompact() {
        if (compactionFailed) {
            compactionFailed = false;
            // Do not start a full snapshot after every commit on a failing disk: wait until the
            // log has grown by as much again.
            nextCompactionBytes = 2 * journal.logBytes();
        }
        long logBytes = journal.logBytes();
        if (journalBroken
                || journal.compacting()
                || logBytes < Math.max(options.compactAfterBytes(), nextCompactionBytes)) {
            return;
        }
        Compaction compaction;
        try {
            compaction = journal.beginCompaction(Math.max(index, journal.lastIndex()));
        } catch (JournalException e) {
            registry.errors().record(e);
            journalBroken = !e.usable();
            nextCompactionBytes = 2 * logBytes;
            return;
        }
        nextCompactionBytes = 0;
        List<Instance> live = new ArrayList<>(instances.values());
        List<InstanceCodec.ConfigEntry> settings = new ArrayList<>();
        config.forEach((kind, entries) ->
                entries.forEach((name, json) -> settings.add(new InstanceCodec.ConfigEntry(kind, name, json))));
        try {
            compactor.execute(() -> writeSnapshot(compaction, live, settings));
        } catch (RejectedExecutionException e) {
            compaction.abandon();
        }
    }

    /** On the compactor thread: encodes the state handed over and writes it as the snapshot. */
    private void writeSnapshot(Compaction compaction, List<Instance> live, List<InstanceCodec.ConfigEntry> settings) {
        List<byte[]> entries = new ArrayList<>(live.size() + settings.size());
        try {
            for (Instance instance : live) {
                entries.add(compactionCodec.put(instance));
            }
            for (InstanceCodec.ConfigEntry entry : settings) {
                entries.add(compactionCodec.config(entry));
            }
        } catch (RuntimeException e) {
            compaction.abandon();
            registry.errors().record(e);
            compactionFailed = true;
            return;
        }
        try {
            compaction.write(entries);
        } catch (RuntimeException e) {
            registry.errors().record(e);
            compactionFailed = true;
        }
    }

    /** Hands new snapshots of every dirty service and config kind to readers, then wakes their waiters. */
    private void publish() {
        if (dirtyServices.isEmpty() && dirtyConfig.isEmpty()) {
            return;
        }
        for (String service : dirtyServices) {
            // O(1): the members' tries were updated change by change (path copies), so the
            // snapshot only wraps them; publication costs what the batch changed.
            long serviceIdx = serviceIndex.getOrDefault(service, 0L);
            registry.publishService(services.get(service).snapshot(serviceIdx));
        }
        for (String id : dirtyIds) {
            registry.publishInstance(id, instances.get(id));
        }
        for (String kind : dirtyConfig) {
            registry.publishConfig(kind, configIndex.getOrDefault(kind, 0L), Map.copyOf(config.get(kind)));
        }
        dirtyServices.clear();
        dirtyIds.clear();
        dirtyConfig.clear();
        registry.publishIndex(index);
    }
}
