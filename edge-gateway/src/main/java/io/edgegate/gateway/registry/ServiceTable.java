package io.edgegate.gateway.registry;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.AbstractCollection;
import java.util.Collection;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The published snapshot of every service by name: an open-addressing hash table with one
 * writer, the registry thread, and any number of lock-free readers. Services are never removed
 * (an emptied service keeps its snapshot for its deletion index), so the table only gains keys.
 *
 * <p>Why not a {@code ConcurrentHashMap}: a lookup there reads the table slot, then a node, then
 * the node's key and value, a chain of dependent cache misses once the services outgrow the CPU
 * caches. Here a slot holds the key and the snapshot side by side in one array ({@code 2i} and
 * {@code 2i + 1}, usually one cache line), so a lookup is one volatile read of the table, one
 * slot read, and the key comparison; nothing is allocated.
 *
 * <p>Memory ordering: the writer stores a new key's snapshot, then the key with release
 * semantics; a reader that sees the key with acquire semantics therefore sees a snapshot.
 * Replacing a snapshot is one release store, read with acquire: a reader sees the old or the new
 * snapshot, both complete (their fields are final). Growing builds a new table and publishes it
 * through the volatile {@link #slots}; later replacements go to the new table only, and a reader
 * still on the old one sees the snapshot of that moment, as if it had read just before.
 */
final class ServiceTable {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

    /** Keys at even indexes, snapshots at odd ones; capacity a power of two, at most half full. */
    private volatile Object[] slots = new Object[2 * 16];

    private volatile int size;

    /** The snapshot of {@code name}, or null. Any thread; no lock, no allocation. */
    ServiceSnapshot get(String name) {
        Object[] s = slots;
        int mask = (s.length >>> 1) - 1;
        int hash = name.hashCode();
        for (int i = home(hash, s); ; i = (i + 1) & mask) {
            String key = (String) SLOT.getAcquire(s, 2 * i);
            if (key == null) {
                return null;
            }
            // The key's cached hash first: a name that only shares the slot costs one read of the
            // key, not of its characters too.
            if (key == name || key.hashCode() == hash && name.equals(key)) {
                return (ServiceSnapshot) SLOT.getAcquire(s, 2 * i + 1);
            }
        }
    }

    /** Publishes a snapshot under its service's name; returns the one it replaces, or null. Writer only. */
    ServiceSnapshot put(ServiceSnapshot snapshot) {
        String name = snapshot.name();
        Object[] s = slots;
        int mask = (s.length >>> 1) - 1;
        for (int i = home(name.hashCode(), s); ; i = (i + 1) & mask) {
            Object key = s[2 * i];
            if (key == null) {
                break;
            }
            if (key.equals(name)) {
                ServiceSnapshot old = (ServiceSnapshot) s[2 * i + 1];
                SLOT.setRelease(s, 2 * i + 1, snapshot);
                return old;
            }
        }
        if (2 * (size + 1) > s.length >>> 1) {
            s = grown(s);
        }
        insert(s, name, snapshot);
        if (s != slots) {
            slots = s;
        }
        size = size + 1;
        return null;
    }

    private static Object[] grown(Object[] s) {
        Object[] bigger = new Object[s.length * 2];
        for (int i = 0; i < s.length; i += 2) {
            if (s[i] != null) {
                insert(bigger, (String) s[i], (ServiceSnapshot) s[i + 1]);
            }
        }
        return bigger;
    }

    private static void insert(Object[] s, String name, ServiceSnapshot snapshot) {
        int mask = (s.length >>> 1) - 1;
        int i = home(name.hashCode(), s);
        while (s[2 * i] != null) {
            i = (i + 1) & mask;
        }
        s[2 * i + 1] = snapshot;
        SLOT.setRelease(s, 2 * i, name);
    }

    /**
     * The first slot to probe: the top bits of the name's hash times the golden ratio (Fibonacci
     * hashing), so that names with consecutive hashes ({@code svc-1}, {@code svc-2}) do not fill
     * consecutive slots and make long probe runs for the names that collide.
     */
    private static int home(int h, Object[] s) {
        return ((h ^ (h >>> 16)) * 0x9E3779B9) >>> (Integer.numberOfLeadingZeros(s.length >>> 1) + 1);
    }

    int size() {
        return size;
    }

    /**
     * Every snapshot, as a live view: iteration walks the names of the table current when it
     * starts, each once, and answers the snapshot current when it gets there (weakly consistent,
     * as a {@code ConcurrentHashMap}'s values).
     */
    Collection<ServiceSnapshot> values() {
        return new AbstractCollection<>() {
            @Override
            public Iterator<ServiceSnapshot> iterator() {
                return new Values(slots);
            }

            @Override
            public int size() {
                return size;
            }
        };
    }

    private final class Values implements Iterator<ServiceSnapshot> {
        private final Object[] s;
        private int at;
        private ServiceSnapshot ahead;

        Values(Object[] s) {
            this.s = s;
            ahead = advance();
        }

        private ServiceSnapshot advance() {
            while (at < s.length) {
                int i = at;
                at += 2;
                Object key = SLOT.getAcquire(s, i);
                if (key != null) {
                    return get((String) key);
                }
            }
            return null;
        }

        @Override
        public boolean hasNext() {
            return ahead != null;
        }

        @Override
        public ServiceSnapshot next() {
            ServiceSnapshot current = ahead;
            if (current == null) {
                throw new NoSuchElementException();
            }
            ahead = advance();
            return current;
        }
    }
}
