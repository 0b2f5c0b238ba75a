package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Graceful deregistration: an instance deregistered with requests in flight stays, draining and
 * out of routing, until the attached in-flight count reaches zero or the drain timeout passes; then
 * it is removed and the deregistration waiting for it is answered. A re-registration cancels the
 * drain (the deregistration gets a 409); a drain found in the journal at start-up ends at once,
 * its requests having died with the previous process.
 *
 * <p>Not thread-safe: owned by the registry thread.
 */
final class Drains {
    /** An instance draining before removal, and the deregistration waiting for it (null after a restart). */
    private record Drain(String id, long deadlineMillis, CompletableFuture<Object> future) {}

    private final WriterState state;
    private final Attachments attachments;
    private final long drainTimeoutMillis;
    /** Where answers wait for the batch to be durable (the conductor's). */
    private final List<RegistryConductor.Pending> pending;

    private final List<Drain> drains = new ArrayList<>();

    Drains(
            WriterState state,
            Attachments attachments,
            long drainTimeoutMillis,
            List<RegistryConductor.Pending> pending) {
        this.state = state;
        this.attachments = attachments;
        this.drainTimeoutMillis = drainTimeoutMillis;
        this.pending = pending;
    }

    /** Whether deregistering {@code id} must wait: a drain timeout is set and it has requests in flight. */
    boolean mustDrain(String id) {
        return drainTimeoutMillis > 0 && attachments.inFlight(id) != 0;
    }

    /** Whether any instance is draining: the writer then parks one tick at most. */
    boolean any() {
        return !drains.isEmpty();
    }

    /** Marks {@code existing} draining (one change, unless it already is) and waits for it; {@code future} is answered at removal. */
    void begin(Instance existing, CompletableFuture<Object> future, long now) {
        String id = existing.id();
        int before = state.mutationCount();
        if (!existing.draining()) {
            state.mutate(
                    id,
                    existing,
                    new Instance(
                            existing.spec(),
                            existing.checks(),
                            existing.maintenanceReason(),
                            existing.createIndex(),
                            state.index() + 1,
                            true),
                    now);
            state.events().draining(state.index(), existing, attachments.inFlight(id));
        }
        Drain drain = new Drain(id, now + drainTimeoutMillis, future);
        drains.add(drain);
        if (state.mutationCount() > before) {
            // Undoing the batch must forget the drain its mutation started.
            state.undoAlso(before, () -> drains.remove(drain));
        }
    }

    /** A draining instance found at start-up: its requests in flight died with the previous process. */
    void recovered(String id) {
        drains.add(new Drain(id, 0, null));
    }

    /** Removes the instances done draining, and answers their deregistrations; returns how many ended. */
    int poll(long now) {
        if (drains.isEmpty()) {
            return 0;
        }
        int done = 0;
        for (int i = drains.size() - 1; i >= 0; i--) {
            Drain drain = drains.get(i);
            Instance instance = state.instance(drain.id());
            if (instance == null || !instance.draining()) {
                drains.remove(i);
                done++;
                if (drain.future() != null) {
                    pending.add(
                            instance == null
                                    ? new RegistryConductor.Pending(
                                            drain.future(), new Change(drain.id(), state.index()), null)
                                    : new RegistryConductor.Pending(
                                            drain.future(),
                                            null,
                                            RegistryException.conflict(
                                                    "id", "re-registered while draining: id=" + drain.id())));
                }
                continue;
            }
            if (now < drain.deadlineMillis() && attachments.inFlight(drain.id()) > 0) {
                continue;
            }
            if (state.journalBroken()) {
                continue;
            }
            drains.remove(i);
            done++;
            long next = state.index() + 1;
            state.mutate(drain.id(), instance, null, now);
            state.events().drained(next, instance, attachments.inFlight(drain.id()) > 0);
            state.undoAlso(state.mutationCount() - 1, () -> drains.add(drain));
            if (drain.future() != null) {
                pending.add(new RegistryConductor.Pending(drain.future(), new Change(drain.id(), next), null));
            }
        }
        return done;
    }

    /** The registry is closing: every deregistration still waiting gets a 503. */
    void refuseAll() {
        for (Drain drain : drains) {
            if (drain.future() != null) {
                drain.future().completeExceptionally(RegistryException.unavailable("closing", "registry is closing"));
            }
        }
    }
}
