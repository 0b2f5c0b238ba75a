package io.edgegate.gateway.registry;

import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalException;
import io.edgegate.gateway.journal.Recovery;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.agrona.DeadlineTimerWheel;
import org.agrona.collections.Long2ObjectHashMap;
import org.jctools.queues.MpscArrayQueue;

/**
 * The registry's single writer. Applies {@link Command}s from a many-to-one queue and lease
 * expiries from a timer wheel, journals each batch with one force (group commit), then publishes
 * new immutable {@link ServiceSnapshot}s and completes the callers' futures.
 *
 * <p>Not thread-safe: every field below the queue is owned by the registry thread. Other threads
 * only offer to the queue and read what {@link #publish} hands to {@link Registry}.
 *
 * <p>A batch is atomic with respect to durability: if the journal cannot force it, every
 * mutation of the batch is undone in reverse order, the index is rewound, and the callers get a
 * 503. Readers never see a state that is not on disk, because publication follows the force.
 */
final class RegistryConductor implements Runnable {
    private static final int TIMER_POLL_LIMIT = 4_096;
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final int OUTPUT_MAX_CHARS = 4_096;

    private final MpscArrayQueue<Command> queue;
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
    private final Map<String, LinkedHashMap<String, Instance>> services = new HashMap<>();
    private final Map<String, Long> serviceIndex = new HashMap<>();
    /** Check id to the id of the instance that owns it, for every check of every instance. */
    private final Map<String, String> checkOwners = new HashMap<>();
    /** Leases of TTL checks by check id. */
    private final Map<String, CheckRuntime> checks = new HashMap<>();

    private final DeadlineTimerWheel timers;
    private final Long2ObjectHashMap<CheckRuntime> timerOwners = new Long2ObjectHashMap<>();

    private final List<Command> batch = new ArrayList<>();
    private final List<Mutation> mutations = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final Set<String> dirtyServices = new HashSet<>();
    private final Set<String> dirtyIds = new HashSet<>();
    private long index;
    private boolean journalBroken;
    private long nextCompactionBytes;

    /** Lease state of one TTL check. */
    private static final class CheckRuntime {
        final String instanceId;
        final String checkId;
        final long ttlMillis;
        long deadlineMillis;
        boolean removed;

        CheckRuntime(String instanceId, String checkId, long ttlMillis) {
            this.instanceId = instanceId;
            this.checkId = checkId;
            this.ttlMillis = ttlMillis;
        }
    }

    /** One journaled change of the current batch; {@code before} restores it on failure. */
    private record Mutation(long index, String id, Instance before, Instance after, long serviceIndexBefore) {}

    /** A caller's future and the outcome to give it once the batch is durable. */
    private record Pending(CompletableFuture<Object> future, Object value, RuntimeException error) {}

    RegistryConductor(Registry registry, Journal journal, RegistryOptions options, LongSupplier clockMillis) {
        this.registry = registry;
        this.journal = journal;
        this.options = options;
        this.clockMillis = clockMillis;
        this.queue = new MpscArrayQueue<>(options.queueCapacity());
        this.timers = new DeadlineTimerWheel(TimeUnit.MILLISECONDS, clockMillis.getAsLong(), 8, 512);
    }

    /** Rebuilds state from the journal; runs before the thread starts. Returns the last index. */
    long recover() {
        Recovery recovery = journal.recover();
        for (byte[] entry : recovery.snapshotEntries()) {
            Instance instance = codec.instance(entry);
            install(instance.id(), instance);
        }
        for (var record : recovery.records()) {
            byte[] payload = record.payload();
            if (payload[0] == InstanceCodec.PUT) {
                Instance instance = codec.instance(payload);
                install(instance.id(), instance);
                serviceIndex.merge(instance.service(), record.index(), Math::max);
            } else {
                String id = codec.deletedId(payload);
                Instance before = instances.get(id);
                if (before != null) {
                    install(id, null);
                    serviceIndex.merge(before.service(), record.index(), Math::max);
                }
            }
        }
        // At least 1 (Consul's rule for X-Consul-Index), and every change after it is above it, so a
        // watcher holding the restore index wakes on the first change.
        index = Math.max(1, Math.max(recovery.lastIndex(), journal.lastIndex()));
        for (Instance instance : instances.values()) {
            serviceIndex.merge(instance.service(), instance.modifyIndex(), Math::max);
        }
        publish();
        return index;
    }

    boolean offer(Command command) {
        if (!running || !queue.offer(command)) {
            return false;
        }
        // The writer sets parked before it re-checks the queue, and both are volatile accesses,
        // so either it sees this command or this thread sees parked and wakes it.
        if (parked) {
            LockSupport.unpark(registry.writerThread());
        }
        return true;
    }

    void stop() {
        running = false;
        LockSupport.unpark(registry.writerThread());
    }

    @Override
    public void run() {
        while (running) {
            int work = doWork();
            if (work == 0) {
                idle();
            }
        }
        // Refuse what is still queued: the registry is closing.
        Command command;
        while ((command = queue.poll()) != null) {
            command.result().completeExceptionally(RegistryException.unavailable("closing", "registry is closing"));
        }
    }

    private void idle() {
        parked = true;
        if (queue.isEmpty()) {
            long park =
                    timers.timerCount() > 0 ? TimeUnit.MILLISECONDS.toNanos(timers.tickResolution()) : IDLE_PARK_NANOS;
            LockSupport.parkNanos(this, park);
        }
        parked = false;
    }

    /** One duty cycle: drain a batch, expire leases, make it durable, publish. Returns work done. */
    int doWork() {
        queue.drain(batch::add, options.maxBatch());
        long now = clockMillis.getAsLong();
        int expired = timers.poll(now, this::onTimerExpiry, TIMER_POLL_LIMIT);
        if (batch.isEmpty() && mutations.isEmpty() && dirtyServices.isEmpty() && pending.isEmpty()) {
            return expired;
        }
        for (Command command : batch) {
            apply(command, now);
        }
        int work = batch.size() + expired;
        batch.clear();
        commit();
        return work;
    }

    @SuppressWarnings("unchecked")
    private void apply(Command command, long now) {
        CompletableFuture<Object> future = (CompletableFuture<Object>) command.result();
        int mark = mutations.size();
        try {
            Object value =
                    switch (command) {
                        case Command.Register r -> register(r.specs(), mark);
                        case Command.Deregister d -> deregister(d.id());
                        case Command.Maintenance m -> maintenance(m.id(), m.enable(), m.reason());
                        case Command.UpdateCheck u -> updateCheck(u.checkId(), u.status(), u.output(), now);
                        case Command.Heartbeat h -> heartbeat(h.id(), now);
                    };
            pending.add(new Pending(future, value, null));
        } catch (RegistryException e) {
            undoTo(mark);
            pending.add(new Pending(future, null, e));
        } catch (RuntimeException e) {
            undoTo(mark);
            registry.errors().record(e);
            pending.add(new Pending(future, null, RegistryException.unavailable("internal", "internal error: " + e)));
        }
    }

    private List<Change> register(List<InstanceSpec> specs, int mark) {
        if (journalBroken) {
            throw RegistryException.unavailable("journal", "journal is failed; restart the gateway");
        }
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
            Instance updated = new Instance(
                    spec,
                    states,
                    existing == null ? null : existing.maintenanceReason(),
                    existing == null ? next : existing.createIndex(),
                    next);
            if (existing != null && existing.equals(withIndexes(updated, existing))) {
                changes.add(new Change(spec.id(), existing.modifyIndex()));
                continue;
            }
            mutate(spec.id(), existing, updated);
            changes.add(new Change(spec.id(), next));
        }
        return changes;
    }

    private static Instance withIndexes(Instance updated, Instance existing) {
        return new Instance(
                updated.spec(),
                updated.checks(),
                updated.maintenanceReason(),
                existing.createIndex(),
                existing.modifyIndex());
    }

    private Change deregister(String id) {
        Instance existing = requireInstance(id);
        long next = index + 1;
        mutate(id, existing, null);
        return new Change(id, next);
    }

    private Change maintenance(String id, boolean enable, String reason) {
        Instance existing = requireInstance(id);
        if (enable == existing.inMaintenance()) {
            return new Change(id, existing.modifyIndex());
        }
        long next = index + 1;
        String why = enable ? (reason == null || reason.isEmpty() ? "Maintenance mode is enabled" : reason) : null;
        mutate(id, existing, new Instance(existing.spec(), existing.checks(), why, existing.createIndex(), next));
        return new Change(id, next);
    }

    private Change updateCheck(String checkId, Health status, String output, long now) {
        CheckRuntime lease = checks.get(checkId);
        if (lease == null) {
            if (checkOwners.containsKey(checkId)) {
                throw new RegistryException(
                        400,
                        "check",
                        "not-ttl",
                        "check is not a TTL check, it reports its own status: check=" + checkId);
            }
            throw RegistryException.notFound("check", checkId);
        }
        lease.deadlineMillis = now + lease.ttlMillis;
        return setCheckStatus(lease.instanceId, checkId, status, output == null ? "" : output);
    }

    private Change heartbeat(String id, long now) {
        Instance existing = requireInstance(id);
        Change change = new Change(id, existing.modifyIndex());
        boolean anyTtl = false;
        for (CheckState check : existing.checks()) {
            if (check.spec().kind() == CheckKind.TTL) {
                anyTtl = true;
                CheckRuntime lease = checks.get(check.spec().id());
                lease.deadlineMillis = now + lease.ttlMillis;
                change = setCheckStatus(id, check.spec().id(), Health.PASSING, check.output());
            }
        }
        if (!anyTtl) {
            throw new RegistryException(400, "id", "no-ttl-check", "instance has no TTL check to renew: id=" + id);
        }
        return change;
    }

    /**
     * Sets one check's status. A status change is a journaled mutation with a new index; an
     * output-only change is applied in memory without an index (heartbeats stay off the disk).
     */
    private Change setCheckStatus(String instanceId, String checkId, Health status, String output) {
        Instance existing = instances.get(instanceId);
        String bounded = output.length() > OUTPUT_MAX_CHARS ? output.substring(0, OUTPUT_MAX_CHARS) : output;
        List<CheckState> states = new ArrayList<>(existing.checks());
        for (int i = 0; i < states.size(); i++) {
            CheckState check = states.get(i);
            if (!check.spec().id().equals(checkId)) {
                continue;
            }
            if (check.status() == status) {
                if (!check.output().equals(bounded)) {
                    states.set(
                            i, new CheckState(check.spec(), status, bounded, check.createIndex(), check.modifyIndex()));
                    Instance updated = new Instance(
                            existing.spec(),
                            states,
                            existing.maintenanceReason(),
                            existing.createIndex(),
                            existing.modifyIndex());
                    instances.put(instanceId, updated);
                    services.get(updated.service()).put(instanceId, updated);
                    dirtyServices.add(updated.service());
                    dirtyIds.add(instanceId);
                }
                return new Change(instanceId, existing.modifyIndex());
            }
            long next = index + 1;
            states.set(i, check.withStatus(status, bounded, next));
            mutate(
                    instanceId,
                    existing,
                    new Instance(existing.spec(), states, existing.maintenanceReason(), existing.createIndex(), next));
            return new Change(instanceId, next);
        }
        throw RegistryException.notFound("check", checkId);
    }

    private boolean onTimerExpiry(TimeUnit unit, long now, long timerId) {
        CheckRuntime lease = timerOwners.remove(timerId);
        if (lease == null || lease.removed) {
            return true;
        }
        if (now < lease.deadlineMillis) {
            // Renewed since it was scheduled: heartbeats only move the deadline, the timer follows here.
            schedule(lease);
            return true;
        }
        Instance instance = instances.get(lease.instanceId);
        CheckState check = instance.check(lease.checkId);
        if (check.status() != Health.CRITICAL) {
            setCheckStatus(
                    lease.instanceId,
                    lease.checkId,
                    Health.CRITICAL,
                    "TTL expired: no report within " + lease.ttlMillis + " ms");
        }
        // Stay scheduled: a report renews the deadline and the next expiry re-checks it.
        lease.deadlineMillis = now + lease.ttlMillis;
        schedule(lease);
        return true;
    }

    private Instance requireInstance(String id) {
        Instance existing = instances.get(id);
        if (existing == null) {
            throw RegistryException.notFound("id", id);
        }
        return existing;
    }

    private void mutate(String id, Instance before, Instance after) {
        if (journalBroken) {
            throw RegistryException.unavailable("journal", "journal is failed; restart the gateway");
        }
        index++;
        String service = (after != null ? after : before).service();
        Long serviceIndexBefore = serviceIndex.put(service, index);
        mutations.add(new Mutation(index, id, before, after, serviceIndexBefore == null ? 0 : serviceIndexBefore));
        install(id, after);
    }

    private void undoTo(int mark) {
        for (int i = mutations.size() - 1; i >= mark; i--) {
            Mutation m = mutations.remove(i);
            install(m.id(), m.before());
            serviceIndex.put((m.before() != null ? m.before() : m.after()).service(), m.serviceIndexBefore());
            index = m.index() - 1;
        }
    }

    /** Puts {@code instance} (or removes {@code id} when null) in every writer-side structure. */
    private void install(String id, Instance instance) {
        Instance old = instance == null ? instances.remove(id) : instances.put(id, instance);
        if (old != null) {
            for (CheckState check : old.checks()) {
                if (instance == null || instance.check(check.spec().id()) == null) {
                    checkOwners.remove(check.spec().id());
                    CheckRuntime lease = checks.remove(check.spec().id());
                    if (lease != null) {
                        lease.removed = true;
                    }
                }
            }
        }
        String service = (instance != null ? instance : old).service();
        LinkedHashMap<String, Instance> members = services.computeIfAbsent(service, s -> new LinkedHashMap<>());
        if (instance == null) {
            members.remove(id);
        } else {
            members.put(id, instance);
            long now = clockMillis.getAsLong();
            for (CheckState check : instance.checks()) {
                CheckSpec spec = check.spec();
                checkOwners.put(spec.id(), id);
                if (spec.kind() != CheckKind.TTL || checks.containsKey(spec.id())) {
                    continue;
                }
                CheckRuntime lease = new CheckRuntime(id, spec.id(), spec.ttlMillis());
                lease.deadlineMillis = now + spec.ttlMillis();
                checks.put(spec.id(), lease);
                schedule(lease);
            }
        }
        dirtyServices.add(service);
        dirtyIds.add(id);
    }

    private void schedule(CheckRuntime lease) {
        long timerId = timers.scheduleTimer(lease.deadlineMillis);
        timerOwners.put(timerId, lease);
    }

    /** Journals the batch's mutations with one force, then publishes and answers. */
    private void commit() {
        if (!mutations.isEmpty()) {
            try {
                for (Mutation m : mutations) {
                    journal.append(m.index(), m.after() == null ? codec.delete(m.id()) : codec.put(m.after()));
                }
                journal.force();
            } catch (RuntimeException e) {
                refuseBatch(e);
            }
            mutations.clear();
        }
        publish();
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

    private void maybeCompact() {
        long logBytes = journal.logBytes();
        if (journalBroken || logBytes < Math.max(options.compactAfterBytes(), nextCompactionBytes)) {
            return;
        }
        List<byte[]> entries = new ArrayList<>(instances.size());
        for (Instance instance : instances.values()) {
            entries.add(codec.put(instance));
        }
        try {
            journal.compact(index, entries);
            nextCompactionBytes = 0;
        } catch (JournalException e) {
            registry.errors().record(e);
            journalBroken = !e.usable();
            // Do not rewrite a full snapshot after every commit on a failing disk: wait until the
            // log has grown by as much again.
            nextCompactionBytes = 2 * logBytes;
        }
    }

    /** Hands new snapshots of every dirty service to readers, then wakes their waiters. */
    private void publish() {
        if (dirtyServices.isEmpty()) {
            return;
        }
        for (String service : dirtyServices) {
            LinkedHashMap<String, Instance> members = services.get(service);
            long serviceIdx = serviceIndex.getOrDefault(service, 0L);
            registry.publishService(new ServiceSnapshot(service, serviceIdx, new ArrayList<>(members.values())));
        }
        for (String id : dirtyIds) {
            registry.publishInstance(id, instances.get(id));
        }
        dirtyServices.clear();
        dirtyIds.clear();
        registry.publishIndex(index);
    }
}
