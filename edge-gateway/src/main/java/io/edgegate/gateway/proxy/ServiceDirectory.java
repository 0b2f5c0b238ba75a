package io.edgegate.gateway.proxy;

/**
 * The implicit routes of {@code /svc/{service}/...}, found by the service name as it appears in
 * the raw path without cutting it out: an open-addressing table searched with a hash of the
 * path's characters between two offsets. Copy-on-write: a service seen for the first time is
 * added under this object's lock and the table republished through one volatile field; lookups
 * take no lock and allocate nothing. Holds only services the registry has, so its size is bounded
 * by the registry's.
 */
final class ServiceDirectory {
    private volatile Slots slots = new Slots(new String[16], new RouteRuntime[16], 0);

    private record Slots(String[] keys, RouteRuntime[] values, int size) {}

    /** The route of the service named by {@code path[start, end)} (raw, as in the path), or null. */
    RouteRuntime find(String path, int start, int end) {
        Slots s = slots;
        int mask = s.keys.length - 1;
        int len = end - start;
        for (int i = hash(path, start, end) & mask; ; i = (i + 1) & mask) {
            String key = s.keys[i];
            if (key == null) {
                return null;
            }
            if (key.length() == len && path.regionMatches(start, key, 0, len)) {
                return s.values[i];
            }
        }
    }

    /** Adds the route of a service under its raw name; returns the route kept (an earlier one wins). */
    synchronized RouteRuntime add(String rawName, RouteRuntime route) {
        RouteRuntime existing = find(rawName, 0, rawName.length());
        if (existing != null) {
            return existing;
        }
        Slots s = slots;
        String[] keys = s.keys;
        RouteRuntime[] values = s.values;
        if ((s.size + 1) * 2 > keys.length) {
            keys = new String[keys.length * 2];
            values = new RouteRuntime[keys.length];
            for (int i = 0; i < s.keys.length; i++) {
                if (s.keys[i] != null) {
                    insert(keys, values, s.keys[i], s.values[i]);
                }
            }
        } else {
            keys = keys.clone();
            values = values.clone();
        }
        insert(keys, values, rawName, route);
        slots = new Slots(keys, values, s.size + 1);
        return route;
    }

    private static void insert(String[] keys, RouteRuntime[] values, String key, RouteRuntime value) {
        int mask = keys.length - 1;
        int i = hash(key, 0, key.length()) & mask;
        while (keys[i] != null) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
    }

    /** {@link String#hashCode()}'s function over a region, spread. */
    private static int hash(String s, int start, int end) {
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + s.charAt(i);
        }
        return h ^ (h >>> 16);
    }
}
