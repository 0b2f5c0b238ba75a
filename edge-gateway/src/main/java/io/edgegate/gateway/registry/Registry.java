package io.edgegate.gateway.registry;

import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * The node's service registry: lock-free reads of published snapshots for any thread, and writes
 * that are handed to the single {@link RegistryConductor} thread and acknowledged once durable.
 *
 * <p>Reads ({@link #service}, {@link #instance}, {@link #index}) are one map read or one volatile
 * read and never block; {@link #service} allocates nothing (see {@link ServiceTable}). Writes return a future; {@link #await} waits for it on the caller's
 * (virtual) thread. A full command queue is counted and refused at once with a 503.
 */
public final class Registry implements AutoCloseable {
    /** What the writer publishes; every read below is one read of it. */
    private final Publication published = new Publication();
    /** What the gateway attaches for the writer to consult. */
    private final Attachments attachments = new Attachments();

    private final LongSupplier clockMillis;
    private final AtomicLong fastHeartbeats = new AtomicLong();
    private final AtomicLong fastRegistrations = new AtomicLong();
    private final RegistryOptions options;
    private final Journal journal;
    private final ErrorLog errors;
    private final RegistryConductor conductor;
    private final AtomicLong refusedFull = new AtomicLong();
    private final long floorIndex;
    private final WriteTimeouts writeTimeouts;
    private volatile boolean closing;

    private Registry(Journal journal, RegistryOptions options, ErrorLog errors, LongSupplier clockMillis) {
        this.options = options;
        this.journal = journal;
        this.errors = errors;
        this.clockMillis = clockMillis;
        this.conductor = new RegistryConductor(published, attachments, journal, options, errors, clockMillis);
        long recovered = conductor.recover();
        this.floorIndex = Math.max(1, recovered);
        if (published.generation().index() < floorIndex) {
            published.index(floorIndex);
        }
        conductor.start();
        this.writeTimeouts = new WriteTimeouts(options.writeTimeoutMillis());
    }

    /** Opens the journal under {@code dataDir}, restores the registry from it and starts the writer. */
    public static Registry open(Path dataDir, RegistryOptions options, ErrorLog errors) {
        Journal journal = Journal.open(
                dataDir,
                new JournalOptions(
                        options.compactAfterBytes(), JournalOptions.defaults().channels()));
        try {
            return open(journal, options, errors, Registry::monotonicMillis);
        } catch (RuntimeException e) {
            journal.close();
            throw e;
        }
    }

    /** Restores the registry from an open journal and starts the writer. */
    public static Registry open(Journal journal, RegistryOptions options, ErrorLog errors, LongSupplier clockMillis) {
        return new Registry(journal, options, errors, clockMillis);
    }

    private static long monotonicMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
    }

    // ---------------------------------------------------------------- reads

    /** The service's current snapshot, or null if it was never registered since start. */
    public ServiceSnapshot service(String name) {
        return published.service(name);
    }

    /** Every service snapshot, including emptied ones (see {@link ServiceSnapshot#isEmpty()}). */
    public Collection<ServiceSnapshot> services() {
        return published.services();
    }

    /** The instance with this id, or null. */
    public Instance instance(String id) {
        return published.instance(id);
    }

    /**
     * The instance whose TTL check is {@code checkId}, or null (no such check, or one that is not
     * a TTL check: only TTL checks take reports, so only their owners are asked for).
     */
    public Instance ttlCheckOwner(String checkId) {
        Lease lease = published.lease(checkId);
        if (lease == null) {
            return null;
        }
        Instance owner = published.instance(lease.instanceId);
        return owner != null && owner.check(checkId) != null ? owner : null;
    }

    /** Whether {@link #close()} has begun: the gateway is stopping. */
    public boolean closed() {
        return closing;
    }

    /** Number of registered instances. */
    public int instanceCount() {
        return published.instanceCount();
    }

    /** Index of the last published change; at least 1, never lower than before a restart. */
    public long index() {
        return published.generation().index();
    }

    /** The service's index, or the restore index for a service with no history since start. */
    public long serviceIndex(String name) {
        ServiceSnapshot snapshot = published.service(name);
        return snapshot == null ? floorIndex : snapshot.index();
    }

    /**
     * Blocking query on one service: returns as soon as its index differs from {@code knownIndex},
     * or after {@code timeoutMillis}. Parks the calling thread (meant for virtual threads); wakes
     * only on changes of that service once it exists.
     *
     * @return the service's snapshot at return, or null if it has none
     */
    public ServiceSnapshot awaitService(String name, long knownIndex, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            Publication.Generation gen = published.generation();
            ServiceSnapshot snapshot = published.service(name);
            long current = snapshot == null ? floorIndex : snapshot.index();
            long remaining = deadline - System.nanoTime();
            if (current != knownIndex || remaining <= 0) {
                return snapshot;
            }
            waitFor(snapshot == null ? gen.next() : snapshot.superseded, remaining);
        }
    }

    /**
     * Blocking query on a derived resource: returns once {@code resourceIndex} differs from
     * {@code knownIndex} or after {@code timeoutMillis}. Re-evaluates after every publication.
     */
    public long awaitChange(long knownIndex, long timeoutMillis, LongSupplier resourceIndex)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            Publication.Generation gen = published.generation();
            long current = resourceIndex.getAsLong();
            long remaining = deadline - System.nanoTime();
            if (current != knownIndex || remaining <= 0) {
                return current;
            }
            waitFor(gen.next(), remaining);
        }
    }

    private static void waitFor(CompletableFuture<Void> change, long nanos) throws InterruptedException {
        try {
            change.get(nanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // time is up or nothing to report: the caller re-reads and decides
        }
    }

    // ---------------------------------------------------------------- writes

    /**
     * Registers or updates one instance. A re-registration that changes nothing (what an agent's
     * anti-entropy sends) is answered on the caller's thread from the published instance, which is
     * durable: no command, no journal write, no wait for another batch's force.
     */
    public CompletableFuture<Change> register(InstanceSpec spec) {
        Instance current = unchangedBy(spec);
        if (current != null) {
            fastRegistrations.incrementAndGet();
            return CompletableFuture.completedFuture(new Change(spec.id(), current.modifyIndex()));
        }
        CompletableFuture<List<Change>> result = new CompletableFuture<>();
        offer(new Command.Register(List.of(spec), result));
        return result.thenApply(changes -> changes.get(0));
    }

    /**
     * Registers or updates every instance, or none (a conflict in one refuses them all). A
     * non-empty batch in which every registration changes nothing is answered on the caller's
     * thread (see {@link #register}); an empty one is answered after the writer's next duty cycle.
     */
    public CompletableFuture<List<Change>> registerAll(List<InstanceSpec> specs) {
        List<Change> unchanged = new ArrayList<>(specs.size());
        Set<String> ids = new HashSet<>();
        for (InstanceSpec spec : specs) {
            Instance current = unchangedBy(spec);
            // An id given twice is the writer's to refuse.
            if (current == null || !ids.add(spec.id())) {
                CompletableFuture<List<Change>> result = new CompletableFuture<>();
                offer(new Command.Register(List.copyOf(specs), result));
                return result;
            }
            unchanged.add(new Change(spec.id(), current.modifyIndex()));
        }
        if (specs.isEmpty()) {
            CompletableFuture<List<Change>> result = new CompletableFuture<>();
            offer(new Command.Register(List.of(), result));
            return result;
        }
        fastRegistrations.addAndGet(specs.size());
        return CompletableFuture.completedFuture(unchanged);
    }

    /**
     * The published instance when registering {@code spec} would change nothing, else null (and
     * always null while the journal is failed or the registry closing, so that the writer refuses
     * as it would any registration). Published means durable: what it answers survives a restart.
     */
    private Instance unchangedBy(InstanceSpec spec) {
        Instance current = published.instance(spec.id());
        if (current == null || closing || published.journalBroken() || !Commands.unchanged(spec, current)) {
            return null;
        }
        return current;
    }

    /**
     * Removes an instance; 404 if unknown. It leaves the routable set at once; with a drain timeout
     * the future completes once its requests in flight finished (see {@link #drainWith}) or the
     * timeout passed, with the index of the removal.
     */
    public CompletableFuture<Change> deregister(String id) {
        CompletableFuture<Change> result = new CompletableFuture<>();
        offer(new Command.Deregister(id, result));
        return result;
    }

    /**
     * Sets metadata keys of an existing instance, a null value removing its key: what the gateway
     * learned about the instance (an inference engine's models and adapters), journaled, indexed
     * and synced like any change. Never creates an instance: 404 when it is gone (a concurrent
     * deregistration wins); no change when the keys already hold these values. A re-registration
     * replaces the metadata whole, these keys included.
     */
    public CompletableFuture<Change> annotate(String id, Map<String, String> meta) {
        CompletableFuture<Change> result = new CompletableFuture<>();
        offer(new Command.Annotate(id, java.util.Collections.unmodifiableMap(new java.util.HashMap<>(meta)), result));
        return result;
    }

    /** Takes an instance out of routing (or back in) without deregistering it. */
    public CompletableFuture<Change> maintenance(String id, boolean enable, String reason) {
        CompletableFuture<Change> result = new CompletableFuture<>();
        offer(new Command.Maintenance(id, enable, reason, result));
        return result;
    }

    /**
     * Reports the status of a TTL check and renews its lease. A report that changes neither status
     * nor output only renews the lease, on the caller's thread, without a command.
     */
    public CompletableFuture<Change> updateCheck(String checkId, Health status, String output) {
        Lease lease = published.lease(checkId);
        if (lease != null) {
            lease.renew(clockMillis.getAsLong());
            // Read after the renewal: see CheckHealth#checkExpiredLeases.
            Instance instance = published.instance(lease.instanceId);
            CheckState check = instance == null ? null : instance.check(checkId);
            if (check != null && check.status() == status && check.output().equals(output == null ? "" : output)) {
                fastHeartbeats.incrementAndGet();
                return CompletableFuture.completedFuture(new Change(lease.instanceId, instance.modifyIndex()));
            }
        }
        CompletableFuture<Change> result = new CompletableFuture<>();
        offer(new Command.UpdateCheck(checkId, status, output, result));
        return result;
    }

    /**
     * Renews every TTL check of an instance (passing). When they are all passing already, only the
     * leases move, on the caller's thread: no command, no journal write, no snapshot copy.
     */
    public CompletableFuture<Change> heartbeat(String id) {
        Instance instance = published.instance(id);
        if (instance != null && renewAll(instance)) {
            // Read after the renewals: see CheckHealth#checkExpiredLeases.
            Instance current = published.instance(id);
            if (current != null && allTtlPassing(current)) {
                fastHeartbeats.incrementAndGet();
                return CompletableFuture.completedFuture(new Change(id, current.modifyIndex()));
            }
        }
        CompletableFuture<Change> result = new CompletableFuture<>();
        offer(new Command.Heartbeat(id, result));
        return result;
    }

    /**
     * Waits for a write's outcome for at most the configured write timeout.
     *
     * @throws RegistryException the refusal, or a 503 when the write is not durable in time
     *     (it may still become durable: writes are idempotent, so retrying is safe)
     */
    public <T> T await(CompletableFuture<T> write) {
        try {
            return write.get(options.writeTimeoutMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw refusal(e.getCause());
        } catch (TimeoutException e) {
            throw refusal(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw RegistryException.unavailable("interrupted", "interrupted while waiting for the write");
        }
    }

    /**
     * {@code write}, failed with a {@link TimeoutException} unless it completes within the write
     * timeout (and at most {@link WriteTimeouts#SWEEP_MILLIS} later): what {@link #await} waits
     * for, for a caller that does not wait on a thread. One thread watches every such write.
     */
    public <T> CompletableFuture<T> withinWriteTimeout(CompletableFuture<T> write) {
        return writeTimeouts.watch(write);
    }

    /**
     * The refusal a write's failure answers, as {@link #await} throws it: the registry's own, a 503
     * for a write not durable within the write timeout (a {@link TimeoutException}; it may still
     * become durable: retrying is safe), and a 503 for any other failure.
     */
    public RegistryException refusal(Throwable failure) {
        if (failure instanceof RegistryException refused) {
            return refused;
        }
        if (failure instanceof TimeoutException) {
            return RegistryException.unavailable(
                    "write-timeout", "write not acknowledged within " + options.writeTimeoutMillis() + " ms; retry");
        }
        return RegistryException.unavailable("internal", "write failed: " + failure);
    }

    /** Renews every lease of the instance; false if it has none (or one is unknown). */
    private boolean renewAll(Instance instance) {
        long now = clockMillis.getAsLong();
        boolean any = false;
        for (CheckState check : instance.checks()) {
            if (check.spec().kind() == CheckKind.TTL) {
                Lease lease = published.lease(check.spec().id());
                if (lease == null) {
                    return false;
                }
                lease.renew(now);
                any = true;
            }
        }
        return any;
    }

    private static boolean allTtlPassing(Instance instance) {
        for (CheckState check : instance.checks()) {
            if (check.spec().kind() == CheckKind.TTL && check.status() != Health.PASSING) {
                return false;
            }
        }
        return true;
    }

    /** Puts ({@code json} non-null) or deletes (null) one configuration entry, durably. */
    public CompletableFuture<Change> putConfig(String kind, String name, String json) {
        CompletableFuture<Change> result = new CompletableFuture<>();
        offer(new Command.PutConfig(kind, name, json, result));
        return result;
    }

    /** The entries of one configuration kind (name to JSON), immutable; empty when none. */
    public Map<String, String> config(String kind) {
        Publication.ConfigSnapshot snapshot = published.config(kind);
        return snapshot == null ? Map.of() : snapshot.entries();
    }

    /** Index of the last change to a configuration kind, or the restore index. */
    public long configIndex(String kind) {
        Publication.ConfigSnapshot snapshot = published.config(kind);
        return snapshot == null ? floorIndex : Math.max(floorIndex, snapshot.index());
    }

    // ---------------------------------------------------------------- health and drain

    /** Starts active probing: due HTTP, TCP, gRPC and exec checks are handed to {@code launcher}. */
    public void attachProbes(ProbeLauncher launcher) {
        attachments.probeLauncher(launcher);
    }

    /** Reports one probe's result (any thread); a result for a replaced check is dropped. */
    public void probeResult(String checkId, long generation, Health status, String output) {
        conductor.offer(new CheckHealth.ProbeOutcome(checkId, generation, status, output));
    }

    /** Where graceful deregistration learns how many requests an instance still has in flight. */
    public void drainWith(ToIntFunction<String> requestsInFlight) {
        attachments.inFlight(requestsInFlight);
    }

    /**
     * Sets the one listener told of every durable instance change (the sync agent), or null.
     * Changes committed before it is set are not replayed: read {@link #services()} after setting it.
     */
    public void onChange(ChangeListener listener) {
        attachments.changeListener(listener);
    }

    /** Heartbeats answered by renewing leases alone. */
    public long fastHeartbeats() {
        return fastHeartbeats.get();
    }

    /** Registrations answered on the caller's thread because they changed nothing. */
    public long fastRegistrations() {
        return fastRegistrations.get();
    }

    /** Probes launched, skipped because the previous one was still running, and results dropped as stale. */
    public long[] probeCounts() {
        return published.probeCounts();
    }

    private void offer(Command command) {
        if (!conductor.offer(command)) {
            refusedFull.incrementAndGet();
            command.result()
                    .completeExceptionally(RegistryException.unavailable(
                            "queue-full",
                            "registry is overloaded: queue-capacity=" + options.queueCapacity() + "; retry"));
        }
    }

    // ---------------------------------------------------------------- status

    /** Writes waiting in the command queue for the registry thread (approximate). */
    public int queueDepth() {
        return conductor.queueDepth();
    }

    /** Tells {@code observer} of every group commit of the journal (metrics); null for none. */
    public void observeForces(io.edgegate.gateway.journal.ForceObserver observer) {
        journal.observeForces(observer);
    }

    /** Writes refused because the command queue was full. */
    public long refusedFull() {
        return refusedFull.get();
    }

    public ErrorLog errors() {
        return errors;
    }

    /** The journal's counters, read without synchronisation (approximate while writing). */
    public io.edgegate.gateway.journal.JournalStats journalStats() {
        return journal.stats();
    }

    @Override
    public void close() {
        closing = true;
        conductor.stop();
        try {
            conductor.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writeTimeouts.close();
        journal.close();
    }
}
