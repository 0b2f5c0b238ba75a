package io.edgegate.gateway.registry;

import java.util.HashSet;
import java.util.Set;

/**
 * The writer's side of publication: remembers which services, instances and configuration kinds a
 * batch changed, and after the batch is durable hands their new state from the
 * {@link WriterState} to the {@link Publication} that readers see, the index last.
 *
 * <p>Not thread-safe: owned by the registry thread.
 */
final class Publisher {
    private final Publication published;
    private final Set<String> dirtyServices = new HashSet<>();
    private final Set<String> dirtyIds = new HashSet<>();
    private final Set<String> dirtyConfig = new HashSet<>();

    Publisher(Publication published) {
        this.published = published;
    }

    /** Instance {@code id} of {@code service} changed (or was removed). */
    void serviceChanged(String service, String id) {
        dirtyServices.add(service);
        dirtyIds.add(id);
    }

    /** The journal failed beyond repair (or not): readers' fast paths stop answering writes at once. */
    void journalBroken(boolean broken) {
        published.journalBroken(broken);
    }

    void configChanged(String kind) {
        dirtyConfig.add(kind);
    }

    /** Whether something changed since the last {@link #publish}. */
    boolean pending() {
        return !dirtyServices.isEmpty() || !dirtyConfig.isEmpty();
    }

    /** Hands new snapshots of every dirty service and config kind to readers, then wakes their waiters. */
    void publish(WriterState state) {
        if (!pending()) {
            return;
        }
        for (String service : dirtyServices) {
            // O(1): the members' tries were updated change by change (path copies), so the
            // snapshot only wraps them; publication costs what the batch changed.
            published.service(state.members(service).snapshot(state.serviceIndex(service)));
        }
        for (String id : dirtyIds) {
            published.instance(id, state.instance(id));
        }
        for (String kind : dirtyConfig) {
            published.config(kind, state.configIndex(kind), state.configEntries(kind));
        }
        dirtyServices.clear();
        dirtyIds.clear();
        dirtyConfig.clear();
        published.index(state.index());
    }
}
