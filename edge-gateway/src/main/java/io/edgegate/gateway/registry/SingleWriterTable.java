package io.edgegate.gateway.registry;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * A map from string keys to values with one writer, the registry thread, and any number of
 * lock-free readers: the published instances by id and the leases by check id. Open addressing
 * with linear probing; a slot holds the key and its value side by side in one array ({@code 2i}
 * and {@code 2i + 1}), so an entry costs two references and no node object (a
 * {@code ConcurrentHashMap} keeps a 32-byte node per entry, which a young collection copies while
 * the registry fills).
 *
 * <p>A removal only clears the value: the key stays in its slot, dead, until the writer rebuilds
 * the table into a new array (when live and dead keys reach 65 % of the slots: the same capacity
 * when most of them are dead, twice it otherwise, so a rebuild is paid for by the puts before it).
 * A slot therefore never holds another key in the same array, and a put of a key that was removed
 * revives its own slot: a reader that found its key reads that key's value, never another's.
 *
 * <p>Memory ordering: the writer stores a new key's value, then the key with release semantics; a
 * reader that sees the key with acquire semantics therefore sees a value. Replacing or removing a
 * value is one release store, read with acquire: a reader sees the old or the new value (or
 * null), both complete. A rebuilt array is filled before it is published through the volatile
 * {@link #slots}; later changes go to the new array only, and a reader still on the old one sees
 * the value of that moment, as if it had read just before. Each {@link #get} is thus atomic, as a
 * {@code ConcurrentHashMap}'s; there is no iteration.
 *
 * @param <V> the values; never null
 */
final class SingleWriterTable<V> {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

    private static final int MIN_SLOTS = 16;

    /** Keys at even indexes, values (null when removed) at odd ones; a power of two of slots. */
    private volatile Object[] slots = new Object[2 * MIN_SLOTS];

    /** Keys with a value. */
    private volatile int size;

    /** Keys in {@link #slots}, with a value or not. Writer only. */
    private int used;

    /** The value of {@code key}, or null. Any thread; no lock, no allocation. */
    @SuppressWarnings("unchecked")
    V get(String key) {
        Object[] s = slots;
        int mask = (s.length >>> 1) - 1;
        int hash = key.hashCode();
        for (int i = home(hash, s); ; i = (i + 1) & mask) {
            String k = (String) SLOT.getAcquire(s, 2 * i);
            if (k == null) {
                return null;
            }
            // The key's cached hash first: a key that only shares the run costs one read of it,
            // not of its characters too.
            if (k == key || k.hashCode() == hash && key.equals(k)) {
                return (V) SLOT.getAcquire(s, 2 * i + 1);
            }
        }
    }

    /** Keys with a value. Any thread. */
    int size() {
        return size;
    }

    /** The slots of the current array, each a key and its value: what the table costs. Any thread. */
    int capacity() {
        return slots.length >>> 1;
    }

    /** Puts {@code value} under {@code key}; returns the value it replaces, or null. Writer only. */
    @SuppressWarnings("unchecked")
    V put(String key, V value) {
        Objects.requireNonNull(value, "value");
        Object[] s = slots;
        int at = find(s, key);
        if (at >= 0) {
            V old = (V) s[at + 1];
            SLOT.setRelease(s, at + 1, value);
            if (old == null) {
                size = size + 1;
            }
            return old;
        }
        if ((long) (used + 1) * 20 > (long) (s.length >>> 1) * 13) {
            s = rebuilt(s);
        }
        insert(s, key, value);
        used++;
        if (s != slots) {
            slots = s;
        }
        size = size + 1;
        return null;
    }

    /** Removes the value of {@code key}; returns it, or null. Writer only. */
    @SuppressWarnings("unchecked")
    V remove(String key) {
        Object[] s = slots;
        int at = find(s, key);
        if (at < 0 || s[at + 1] == null) {
            return null;
        }
        V old = (V) s[at + 1];
        SLOT.setRelease(s, at + 1, null);
        size = size - 1;
        return old;
    }

    /** The index of {@code key}'s slot (its key's index), live or dead, or -1. Writer only. */
    private static int find(Object[] s, String key) {
        int mask = (s.length >>> 1) - 1;
        for (int i = home(key.hashCode(), s); ; i = (i + 1) & mask) {
            Object k = s[2 * i];
            if (k == null) {
                return -1;
            }
            if (k.equals(key)) {
                return 2 * i;
            }
        }
    }

    /**
     * A new array with the live entries only: twice the slots when they fill more than half of
     * the limit, else as many (the dead keys were most of it).
     */
    private Object[] rebuilt(Object[] s) {
        int live = size;
        int slotCount = s.length >>> 1;
        if ((long) (live + 1) * 40 > (long) slotCount * 13) {
            slotCount *= 2;
        }
        Object[] fresh = new Object[2 * slotCount];
        for (int i = 0; i < s.length; i += 2) {
            Object value = s[i + 1];
            if (value != null) {
                insert(fresh, (String) s[i], value);
            }
        }
        used = live;
        return fresh;
    }

    private static void insert(Object[] s, String key, Object value) {
        int mask = (s.length >>> 1) - 1;
        int i = home(key.hashCode(), s);
        while (s[2 * i] != null) {
            i = (i + 1) & mask;
        }
        s[2 * i + 1] = value;
        SLOT.setRelease(s, 2 * i, key);
    }

    /**
     * The first slot to probe: the top bits of the key's hash times the golden ratio (Fibonacci
     * hashing), so that keys with consecutive hashes ({@code svc-1}, {@code svc-2}) do not fill
     * consecutive slots and make long probe runs for the keys that collide.
     */
    private static int home(int h, Object[] s) {
        return ((h ^ (h >>> 16)) * 0x9E3779B9) >>> (Integer.numberOfLeadingZeros(s.length >>> 1) + 1);
    }
}
