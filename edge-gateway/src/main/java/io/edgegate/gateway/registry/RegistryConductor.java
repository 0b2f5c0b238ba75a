package io.edgegate.gateway.registry;

import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalException;
import io.edgegate.gateway.journal.Recovery;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

/**
 * The registry's single writer and its duty cycle. Applies {@link Command}s from a many-to-one
 * queue, probe results from a second one, and due timers and drains; journals each batch with one
 * force (group commit), then publishes and completes the callers' futures. Its jobs are parts of
 * their own, all owned by the registry thread:
 *
 * <ul>
 *   <li>{@link WriterState}: the instances, services, configuration, index, and the batch's undo log;
 *   <li>{@link Commands}: what each command changes, and its refusals;
 *   <li>{@link CheckHealth} (with {@link CheckRuntime}): where a check goes passing, warning or
 *       critical: TTL reports, lease expiry, probe scheduling, Consul's thresholds, reaping after
 *       deregister-critical-after;
 *   <li>{@link Drains}: deregistrations that wait for requests in flight;
 *   <li>{@link Compactor}: snapshots of the journal, written on a background thread;
 *   <li>{@link Publisher}: what readers see, handed to the shared {@link Publication} after the force.
 * </ul>
 *
 * <p>Not thread-safe: every field below the queues is owned by the registry thread. Other threads
 * only offer to the queues, renew {@link Lease}s, and read what the writer hands to the
 * {@link Publication} holder; the writer reads what the gateway set in {@link Attachments}.
 *
 * <p>A batch is atomic with respect to durability: if the journal cannot force it, every
 * mutation of the batch is undone in reverse order, the index is rewound, and the callers get a
 * 503. Readers never see a state that is not on disk, because publication follows the force.
 */
final class RegistryConductor implements Runnable {
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final MpscArrayQueue<Command> queue;
    /**
     * Probe results. Unbounded in type but bounded by construction: a check has at most one probe
     * in flight, so it never holds more entries than there are checks.
     */
    private final MpscUnboundedArrayQueue<CheckHealth.ProbeOutcome> probeResults = new MpscUnboundedArrayQueue<>(1_024);

    private final Attachments attachments;
    private final ErrorLog errors;
    private final Thread writer;
    private final Journal journal;
    private final RegistryOptions options;
    private final LongSupplier clockMillis;

    /** Set while the writer is parked, so producers know to unpark it. */
    volatile boolean parked;

    private volatile boolean running = true;

    // ---- owned by the registry thread ----
    private final Publisher publisher;
    private final WriterState state;
    private final CheckHealth health;
    private final Drains drains;
    private final Compactor compactor;
    private final Commands commands;
    private final List<Command> batch = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();

    /** A caller's future and the outcome to give it once the batch is durable. */
    record Pending(CompletableFuture<Object> future, Object value, RuntimeException error) {}

    RegistryConductor(
            Publication published,
            Attachments attachments,
            Journal journal,
            RegistryOptions options,
            ErrorLog errors,
            LongSupplier clockMillis) {
        this.attachments = attachments;
        this.errors = errors;
        this.writer = Thread.ofPlatform().name("edgegate-registry").daemon().unstarted(this);
        this.journal = journal;
        this.options = options;
        this.clockMillis = clockMillis;
        this.queue = new MpscArrayQueue<>(options.queueCapacity());
        this.publisher = new Publisher(published);
        this.state = new WriterState(publisher);
        this.health = new CheckHealth(state, published, attachments, errors, clockMillis);
        this.drains = new Drains(state, attachments, options.drainTimeoutMillis(), pending);
        this.compactor = new Compactor(journal, state, errors, options.compactAfterBytes());
        this.commands = new Commands(state, health, drains, options.maxInstances());
    }

    /** Rebuilds state from the journal; runs before the thread starts. Returns the last index. */
    long recover() {
        Recovery recovery = journal.recover();
        long now = clockMillis.getAsLong();
        for (byte[] entry : recovery.snapshotEntries()) {
            state.replay(entry, 0, now);
        }
        for (var record : recovery.records()) {
            state.replay(record.payload(), record.index(), now);
        }
        // At least 1 (Consul's rule for X-Consul-Index), and every change after it is above it, so a
        // watcher holding the restore index wakes on the first change.
        state.recovered(Math.max(1, Math.max(recovery.lastIndex(), journal.lastIndex())));
        for (Instance instance : state.instances()) {
            if (instance.draining()) {
                // Its requests in flight died with the previous process: finish the drain at once.
                drains.recovered(instance.id());
            }
        }
        publisher.publish(state);
        return state.index();
    }

    boolean offer(Command command) {
        if (!running || !queue.offer(command)) {
            return false;
        }
        wake();
        return true;
    }

    void offer(CheckHealth.ProbeOutcome outcome) {
        probeResults.offer(outcome);
        wake();
    }

    private void wake() {
        // The writer sets parked before it re-checks the queues, and both are volatile accesses,
        // so either it sees the new entry or this thread sees parked and wakes it.
        if (parked) {
            LockSupport.unpark(writer);
        }
    }

    /** Commands waiting (any thread; approximate). */
    int queueDepth() {
        return queue.size();
    }

    /** Starts the registry thread, after {@link #recover}. */
    void start() {
        writer.start();
    }

    void stop() {
        running = false;
        LockSupport.unpark(writer);
    }

    /** Waits at most {@code millis} for the registry thread to end after {@link #stop}. */
    void join(long millis) throws InterruptedException {
        writer.join(millis);
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
        drains.refuseAll();
        // A snapshot still being written is waited for by Journal#close.
        compactor.shutdown();
    }

    private void idle() {
        parked = true;
        if (queue.isEmpty() && probeResults.isEmpty()) {
            boolean ticking = health.ticking() || drains.any();
            LockSupport.parkNanos(this, ticking ? CheckHealth.tickNanos() : IDLE_PARK_NANOS);
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
        int work = batch.size() + health.reviveRenewed(now);
        work += probeResults.drain(
                outcome -> {
                    try {
                        health.onProbeOutcome(outcome, now);
                    } catch (RuntimeException e) {
                        errors.record(e);
                    }
                },
                options.maxBatch());
        work += health.runTimers(now);
        work += drains.poll(now);
        for (Command command : batch) {
            apply(command, now);
        }
        batch.clear();
        if (state.mutationCount() == 0 && !publisher.pending() && pending.isEmpty()) {
            return work;
        }
        commit();
        health.checkExpiredLeases();
        return Math.max(work, 1);
    }

    @SuppressWarnings("unchecked")
    private void apply(Command command, long now) {
        CompletableFuture<Object> future = (CompletableFuture<Object>) command.result();
        int mark = state.mutationCount();
        try {
            Object value = commands.apply(command, future, now);
            if (value != Commands.DEFERRED) {
                pending.add(new Pending(future, value, null));
            }
        } catch (RegistryException e) {
            state.undoTo(mark);
            pending.add(new Pending(future, null, e));
        } catch (RuntimeException e) {
            state.undoTo(mark);
            errors.record(e);
            pending.add(new Pending(future, null, RegistryException.unavailable("internal", "internal error: " + e)));
        }
    }

    // ---------------------------------------------------------------- group commit

    /** Journals the batch's mutations with one force, then publishes, tells listeners and answers. */
    private void commit() {
        boolean durable = false;
        List<WriterState.Mutation> mutations = state.mutations();
        if (!mutations.isEmpty()) {
            try {
                for (WriterState.Mutation m : mutations) {
                    journal.append(m.index(), m.payload());
                }
                journal.force();
                durable = true;
            } catch (RuntimeException e) {
                refuseBatch(e);
            }
        }
        publisher.publish(state);
        if (durable) {
            state.events().flush();
            ChangeListener listener = attachments.changeListener();
            if (listener != null) {
                for (WriterState.Mutation m : mutations) {
                    if (m.id() != null) {
                        notify(listener, m);
                    }
                }
            }
        }
        state.clearMutations();
        for (Pending p : pending) {
            if (p.error() != null) {
                p.future().completeExceptionally(p.error());
            } else {
                p.future().complete(p.value());
            }
        }
        pending.clear();
        compactor.maybeCompact();
    }

    private void notify(ChangeListener listener, WriterState.Mutation m) {
        try {
            listener.instanceChanged(m.id(), m.after(), m.index());
        } catch (RuntimeException e) {
            errors.record(e);
        }
    }

    /** Keeps the writer alive after a fault in its own code: the batch is undone and refused. */
    private void abandonBatch(RuntimeException e) {
        errors.record(e);
        batch.clear();
        state.undoTo(0);
        RegistryException refused = RegistryException.unavailable("internal", "internal error, nothing changed: " + e);
        for (Pending p : pending) {
            p.future().completeExceptionally(p.error() != null ? p.error() : refused);
        }
        pending.clear();
        health.forgetExpiredLeases();
    }

    /**
     * Undoes the whole batch after its journal write failed, and tells its callers. A usable
     * journal cut the failed records back, so nothing changed; a broken one may hold some of them,
     * so the outcome is unknown until a restart replays what is there.
     */
    private void refuseBatch(RuntimeException e) {
        errors.record(e);
        journal.dropBuffered();
        boolean usable = !(e instanceof JournalException je) || je.usable();
        state.journalBroken(state.journalBroken() | !usable);
        state.undoTo(0);
        health.forgetExpiredLeases();
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
}
