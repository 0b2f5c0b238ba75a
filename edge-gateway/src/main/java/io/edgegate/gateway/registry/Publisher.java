package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The writer's side of publication: remembers which services, instances and configuration kinds a
 * batch changed, and after the batch is durable hands their new state from the
 * {@link WriterState} to the {@link Publication} that readers see, the index last.
 *
 * <p>What it remembers costs in proportion to the batch, whatever came before: instance ids are a
 * list (an id changed twice is published twice, the same final state), and a set that a large
 * batch grew is dropped rather than cleared, since clearing or iterating a hash set costs its
 * capacity, not its size.
 *
 * <p>Not thread-safe: owned by the registry thread.
 */
final class Publisher {
    /** A set this large after a batch is replaced, not cleared. */
    private static final int KEEP_SET_BELOW = 64;

    /** A list this long after a batch (a bulk registration) is replaced, so that its array goes too. */
    private static final int KEEP_LIST_BELOW = 4_096;

    private final Publication published;
    private Set<String> dirtyServices = new HashSet<>();
    /** The service last added to {@link #dirtyServices}: a batch mostly changes one service. */
    private String lastService;

    private List<String> dirtyIds = new ArrayList<>();
    private final Set<String> dirtyConfig = new HashSet<>();

    Publisher(Publication published) {
        this.published = published;
    }

    /** Instance {@code id} of {@code service} changed (or was removed). */
    void serviceChanged(String service, String id) {
        if (!service.equals(lastService)) {
            dirtyServices.add(service);
            lastService = service;
        }
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
        for (int i = 0; i < dirtyIds.size(); i++) {
            String id = dirtyIds.get(i);
            published.instance(id, state.instance(id));
        }
        for (String kind : dirtyConfig) {
            published.config(kind, state.configIndex(kind), state.configEntries(kind));
        }
        if (dirtyServices.size() < KEEP_SET_BELOW) {
            dirtyServices.clear();
        } else {
            dirtyServices = new HashSet<>();
        }
        lastService = null;
        if (dirtyIds.size() < KEEP_LIST_BELOW) {
            dirtyIds.clear();
        } else {
            dirtyIds = new ArrayList<>();
        }
        dirtyConfig.clear();
        published.index(state.index());
    }
}
