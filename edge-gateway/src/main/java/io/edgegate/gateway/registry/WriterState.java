package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The registry as its writer holds it: every instance, each service's members (persistent tries,
 * kept from batch to batch), the index of each service and configuration kind, the configuration
 * entries, the registry index, and the undo log of the current batch. Every change to an instance
 * or an entry goes through {@link #mutate} or {@link #mutateConfig}, which journal-encode it and
 * record how to undo it; {@link #undoTo} takes a refused command or a batch that could not be
 * forced back out, rewinding the index.
 *
 * <p>Not thread-safe: owned by the registry thread. What readers see is what the {@link Publisher}
 * copies from here to the {@link Publication} after each durable batch.
 */
final class WriterState {
    /**
     * Told of each instance put or removed, with the one it replaced (either may be null), so
     * that the runtimes of its checks follow; called on the registry thread, undo included.
     */
    interface InstallObserver {
        void installed(String id, Instance old, Instance instance, long now);
    }

    /**
     * One journaled change of the current batch and how to undo it if the batch fails; {@code id}
     * names the instance it changed (null for a configuration entry), {@code after} its new state.
     */
    record Mutation(long index, byte[] payload, Runnable undo, String id, Instance after) {}

    private final InstanceCodec codec = new InstanceCodec();
    private final Publisher publisher;
    private final Map<String, Instance> instances = new HashMap<>();
    private final Map<String, ServiceMembers> services = new HashMap<>();
    private final Map<String, Long> serviceIndex = new HashMap<>();
    private final Map<String, TreeMap<String, String>> config = new HashMap<>();
    private final Map<String, Long> configIndex = new HashMap<>();
    private final List<Mutation> mutations = new ArrayList<>();
    /** The batch's events, logged once it is durable and forgotten with what is undone. */
    private final RegistryEvents events = new RegistryEvents();

    private InstallObserver observer = (id, old, instance, now) -> {};
    private long index;
    private boolean journalBroken;

    WriterState(Publisher publisher) {
        this.publisher = publisher;
    }

    /** Set once, before the writer starts (the check runtimes follow every install). */
    void observeInstalls(InstallObserver observer) {
        this.observer = observer;
    }

    // ---------------------------------------------------------------- reads

    long index() {
        return index;
    }

    Instance instance(String id) {
        return instances.get(id);
    }

    int instanceCount() {
        return instances.size();
    }

    Collection<Instance> instances() {
        return instances.values();
    }

    Instance requireInstance(String id) {
        Instance existing = instances.get(id);
        if (existing == null) {
            throw RegistryException.notFound("id", id);
        }
        return existing;
    }

    RegistryEvents events() {
        return events;
    }

    boolean journalBroken() {
        return journalBroken;
    }

    void journalBroken(boolean broken) {
        journalBroken = broken;
        publisher.journalBroken(broken);
    }

    void requireJournal() {
        if (journalBroken) {
            throw RegistryException.unavailable("journal", "journal is failed; restart the gateway");
        }
    }

    ServiceMembers members(String service) {
        return services.get(service);
    }

    long serviceIndex(String service) {
        return serviceIndex.getOrDefault(service, 0L);
    }

    /** The entry of one configuration kind, or null. */
    String configEntry(String kind, String name) {
        Map<String, String> entries = config.get(kind);
        return entries == null ? null : entries.get(name);
    }

    long configIndex(String kind) {
        return configIndex.getOrDefault(kind, 0L);
    }

    /** The entries of one configuration kind, copied. */
    Map<String, String> configEntries(String kind) {
        return Map.copyOf(config.get(kind));
    }

    /** Every configuration entry, for a snapshot. */
    List<InstanceCodec.ConfigEntry> configEntries() {
        List<InstanceCodec.ConfigEntry> settings = new ArrayList<>();
        config.forEach((kind, entries) ->
                entries.forEach((name, json) -> settings.add(new InstanceCodec.ConfigEntry(kind, name, json))));
        return settings;
    }

    // ---------------------------------------------------------------- recovery

    /** Applies one journal payload (snapshot entry or record) while recovering, before the thread starts. */
    void replay(byte[] payload, long recordIndex, long now) {
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

    /** Ends recovery at {@code lastIndex}: every service's index is at least its instances' last change. */
    void recovered(long lastIndex) {
        index = lastIndex;
        for (Instance instance : instances.values()) {
            serviceIndex.merge(instance.service(), instance.modifyIndex(), Math::max);
        }
    }

    // ---------------------------------------------------------------- changes and the undo log

    /** Puts {@code after} (or removes {@code id} when null) as the next index, journaled with the batch. */
    void mutate(String id, Instance before, Instance after, long now) {
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

    /**
     * Replaces an instance in memory without an index or a journal record (a check's output that
     * changed without its status): published with the batch, never undone.
     */
    void replaceInPlace(Instance updated) {
        instances.put(updated.id(), updated);
        services.get(updated.service()).put(updated, -1);
        publisher.serviceChanged(updated.service(), updated.id());
    }

    /** Puts ({@code json} non-null) or deletes one configuration entry as the next index; returns it. */
    long mutateConfig(String kind, String name, String before, String json) {
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
        return mutationIndex;
    }

    /** Mutations of the current batch so far; a mark for {@link #undoTo}. */
    int mutationCount() {
        return mutations.size();
    }

    /** The current batch's mutations, in index order. */
    List<Mutation> mutations() {
        return mutations;
    }

    /** Makes undoing mutation {@code position} run {@code first} before it (forget what it started). */
    void undoAlso(int position, Runnable first) {
        Mutation m = mutations.get(position);
        mutations.set(
                position,
                new Mutation(
                        m.index(),
                        m.payload(),
                        () -> {
                            first.run();
                            m.undo().run();
                        },
                        m.id(),
                        m.after()));
    }

    /** Undoes the batch's mutations from the last down to {@code mark}, rewinding the index. */
    void undoTo(int mark) {
        for (int i = mutations.size() - 1; i >= mark; i--) {
            Mutation m = mutations.remove(i);
            m.undo().run();
            index = m.index() - 1;
        }
        events.undo(index);
    }

    /** The batch is durable (or refused and undone): its undo log is done with. */
    void clearMutations() {
        mutations.clear();
    }

    // ---------------------------------------------------------------- installing

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
        String service = (instance != null ? instance : old).service();
        ServiceMembers members = services.computeIfAbsent(service, ServiceMembers::new);
        int removedSlot = -1;
        if (instance == null) {
            removedSlot = members.remove(id);
        } else {
            members.put(instance, slot);
        }
        observer.installed(id, old, instance, now);
        publisher.serviceChanged(service, id);
        return removedSlot;
    }

    private void installConfig(String kind, String name, String json) {
        TreeMap<String, String> entries = config.computeIfAbsent(kind, k -> new TreeMap<>());
        if (json == null) {
            entries.remove(name);
        } else {
            entries.put(name, json);
        }
        publisher.configChanged(kind);
    }
}
