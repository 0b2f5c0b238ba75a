package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Applies each {@link Command} to the {@link WriterState}: validates it (a refusal is a
 * {@link RegistryException}), makes its changes, and returns the caller's answer, or
 * {@link #DEFERRED} for a deregistration that waits for its instance to drain. TTL reports and
 * heartbeats go to {@link CheckHealth}, drains to {@link Drains}. A refused command's changes are
 * undone by the conductor.
 *
 * <p>Not thread-safe: owned by the registry thread.
 */
final class Commands {
    /** A deregistration whose answer waits for the instance to drain. */
    static final Object DEFERRED = new Object();

    private final WriterState state;
    private final CheckHealth health;
    private final Drains drains;
    private final int maxInstances;

    Commands(WriterState state, CheckHealth health, Drains drains, int maxInstances) {
        this.state = state;
        this.health = health;
        this.drains = drains;
        this.maxInstances = maxInstances;
    }

    /** Applies {@code command}; returns its answer or {@link #DEFERRED}. */
    Object apply(Command command, CompletableFuture<Object> future, long now) {
        return switch (command) {
            case Command.Register r -> register(r.specs(), now);
            case Command.Deregister d -> deregister(d.id(), future, now);
            case Command.Maintenance m -> maintenance(m.id(), m.enable(), m.reason(), now);
            case Command.UpdateCheck u -> health.report(u.checkId(), u.status(), u.output(), now);
            case Command.Heartbeat h -> health.heartbeat(state.requireInstance(h.id()), now);
            case Command.PutConfig c -> putConfig(c.kind(), c.name(), c.json());
            case Command.Annotate a -> annotate(a.id(), a.meta(), now);
        };
    }

    /** Registers every instance, or none: a conflict in one refuses them all before anything changes. */
    private List<Change> register(List<InstanceSpec> specs, long now) {
        state.requireJournal();
        refuseConflicts(specs);
        List<Change> changes = new ArrayList<>(specs.size());
        for (InstanceSpec spec : specs) {
            changes.add(put(spec, now));
        }
        return changes;
    }

    /**
     * Refuses a batch that names an id twice, moves an id to another service, takes a check id
     * another instance owns, or would pass {@code max-instances}.
     */
    private void refuseConflicts(List<InstanceSpec> specs) {
        int added = 0;
        // One registration (the common case) cannot conflict with itself: no sets to fill.
        boolean single = specs.size() == 1;
        Set<String> batchIds = single ? Set.of() : new HashSet<>();
        Map<String, String> batchChecks = single ? Map.of() : new HashMap<>();
        for (InstanceSpec spec : specs) {
            if (!single && !batchIds.add(spec.id())) {
                throw RegistryException.conflict("id", "id given twice in one batch: id=" + spec.id());
            }
            Instance existing = state.instance(spec.id());
            if (existing != null && !existing.service().equals(spec.service())) {
                throw RegistryException.conflict(
                        "id",
                        "id already registered for another service: id=" + spec.id() + ", service="
                                + existing.service());
            }
            for (CheckSpec check : spec.checks()) {
                String owner = single ? null : batchChecks.putIfAbsent(check.id(), spec.id());
                if (owner == null) {
                    owner = health.owner(check.id());
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
        int instances = state.instanceCount();
        if (instances + added > maxInstances) {
            throw new RegistryException(
                    422,
                    "instances",
                    "max-instances",
                    "limit exceeded: instances=" + (instances + added) + ", max-instances=" + maxInstances);
        }
    }

    /**
     * Puts one instance. A check whose probe is unchanged keeps its status and indexes; a
     * re-registration that changes nothing takes no index.
     */
    private Change put(InstanceSpec spec, long now) {
        Instance existing = state.instance(spec.id());
        if (existing != null && unchanged(spec, existing)) {
            return new Change(spec.id(), existing.modifyIndex());
        }
        long next = state.index() + 1;
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
        state.mutate(spec.id(), existing, updated, now);
        return new Change(spec.id(), next);
    }

    /**
     * Whether registering {@code spec} over {@code existing} changes nothing: same registration,
     * every check's probe unchanged (so it keeps its status, output and indexes), not draining. Such
     * a re-registration takes no index and writes nothing; {@link Registry#register} answers it on
     * the caller's thread from the published instance. Pure: any thread.
     */
    static boolean unchanged(InstanceSpec spec, Instance existing) {
        if (existing.draining() || !existing.spec().equals(spec)) {
            return false;
        }
        List<CheckState> checks = existing.checks();
        if (checks.size() != spec.checks().size()) {
            return false;
        }
        for (int i = 0; i < checks.size(); i++) {
            // Equal specs: each check keeps its state only if the check of that id is the same one.
            if (!checks.get(i).spec().equals(spec.checks().get(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Takes the instance out of routing at once. With requests in flight and a drain timeout, it
     * stays (draining, not routable) until they finish or the timeout passes, and the answer waits
     * for the removal; otherwise it is removed at once.
     */
    private Object deregister(String id, CompletableFuture<Object> future, long now) {
        Instance existing = state.requireInstance(id);
        state.requireJournal();
        if (!drains.mustDrain(id)) {
            // Nothing to wait for: remove in one change, as Consul does.
            long next = state.index() + 1;
            state.mutate(id, existing, null, now);
            state.events().deregistered(next, existing);
            return new Change(id, next);
        }
        drains.begin(existing, future, now);
        return DEFERRED;
    }

    private Change maintenance(String id, boolean enable, String reason, long now) {
        Instance existing = state.requireInstance(id);
        if (enable == existing.inMaintenance()) {
            return new Change(id, existing.modifyIndex());
        }
        long next = state.index() + 1;
        String why = enable ? (reason == null || reason.isEmpty() ? "Maintenance mode is enabled" : reason) : null;
        state.mutate(
                id,
                existing,
                new Instance(
                        existing.spec(), existing.checks(), why, existing.createIndex(), next, existing.draining()),
                now);
        return new Change(id, next);
    }

    /** Sets (or, for a null value, removes) metadata keys of an instance; its checks, maintenance and drain stay. */
    private Change annotate(String id, Map<String, String> meta, long now) {
        Instance existing = state.requireInstance(id);
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
        long next = state.index() + 1;
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
        state.mutate(
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

    private Change putConfig(String kind, String name, String json) {
        state.requireJournal();
        String before = state.configEntry(kind, name);
        if (json == null && before == null) {
            throw RegistryException.notFound(kind, name);
        }
        if (json != null && json.equals(before)) {
            return new Change(kind + "/" + name, state.configIndex(kind));
        }
        return new Change(kind + "/" + name, state.mutateConfig(kind, name, before, json));
    }
}
