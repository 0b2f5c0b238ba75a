package io.edgegate.cloud;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Canonical copies of the values instances repeat: service names, tags and tag lists, metadata
 * keys, values and whole metadata maps (addresses are shared per node: {@link FleetNode#address}). A thousand instances of {@code llm} with the
 * same tags and metadata hold one string {@code "llm"}, one tag list and one metadata map between
 * them, not a thousand of each.
 *
 * <p>Bounded: when it holds {@code capacity} values it forgets them all and starts again. Values
 * already handed out stay shared by whoever holds them; a value seen once only (a unique address)
 * costs nothing after the next clear. So a fleet whose instances all differ costs this table at
 * most {@code capacity} entries, and one whose values repeat shares them.
 *
 * <p>Not thread-safe: owned by the applier thread. The values it returns are immutable.
 */
final class SharedValues {
    private final int capacity;
    private final HashMap<Object, Object> values;
    private long clears;

    SharedValues(int capacity) {
        this.capacity = capacity;
        this.values = new HashMap<>(Math.min(capacity, 1 << 12));
    }

    String string(String s) {
        if (s == null || s.isEmpty()) {
            return "";
        }
        return canonical(s, s);
    }

    /** The shared copy of a list of strings (its elements shared too). */
    List<String> list(List<String> list) {
        if (list.isEmpty()) {
            return List.of();
        }
        @SuppressWarnings("unchecked")
        List<String> known = (List<String>) values.get(list);
        if (known != null) {
            return known;
        }
        List<String> copy = new ArrayList<>(list.size());
        for (String s : list) {
            copy.add(string(s));
        }
        List<String> shared = List.copyOf(copy);
        return canonical(shared, shared);
    }

    /** The shared copy of a metadata map (its keys and values shared too). */
    Map<String, String> map(Map<String, String> map) {
        if (map.isEmpty()) {
            return Map.of();
        }
        @SuppressWarnings("unchecked")
        Map<String, String> known = (Map<String, String>) values.get(map);
        if (known != null) {
            return known;
        }
        Map<String, String> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(string(k), string(v)));
        Map<String, String> shared = Map.copyOf(copy);
        return canonical(shared, shared);
    }

    /** How often the table was full and started again. */
    long clears() {
        return clears;
    }

    int size() {
        return values.size();
    }

    @SuppressWarnings("unchecked")
    private <T> T canonical(Object key, T value) {
        Object known = values.get(key);
        if (known != null) {
            return (T) known;
        }
        if (values.size() >= capacity) {
            values.clear();
            clears++;
        }
        values.put(key, value);
        return value;
    }
}
