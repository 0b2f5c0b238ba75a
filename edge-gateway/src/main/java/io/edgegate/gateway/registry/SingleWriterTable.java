package io.edgegate.gateway.registry;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A map from string keys to values with one writer, the registry thread, and any number of
 * lock-free readers (or none): the published instances by id and the leases by check id, and on
 * the writer's side the members by id and the check runtimes. Open addressing with quadratic
 * probing; a slot holds the key and its value side by side in one array ({@code 2i}
 * and {@code 2i + 1}), so an entry costs two references and no node object (a
 * {@code ConcurrentHashMap} keeps a 32-byte node per entry, which a young collection copies while
 * the registry fills).
 *
 * <p>A removal only clears the value: the key stays in its slot, dead, until the writer rebuilds
 * the table into a new array, sized for the live keys: when live and dead keys reach 65 % of the
 * slots, or when fewer than a quarter of the keys are live (a rebuild is paid for by the puts or
 * removals before it).
 * A slot therefore never holds another key in the same array, and a put of a key that was removed
 * revives its own slot: a reader that found its key reads that key's value, never another's.
 *
 * <p>Memory ordering: the writer stores a new key's value, then the key with release semantics; a
 * reader that sees the key with acquire semantics therefore sees a value. Replacing or removing a
 * value is one release store, read with acquire: a reader sees the old or the new value (or
 * null), both complete. A rebuilt array is filled before it is published through the volatile
 * {@link #slots}; later changes go to the new array only, and a reader still on the old one sees
 * the value of that moment, as if it had read just before. Each {@link #get} is thus atomic, as a
 * {@code ConcurrentHashMap}'s. Only the writer walks the table ({@link #forEachValue}).
 *
 * @param <V> the values; never null
 */
final class SingleWriterTable<V> {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle SIZE;

    static {
        try {
            SIZE = MethodHandles.lookup().findVarHandle(SingleWriterTable.class, "size", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final int MIN_SLOTS = 16;

    /** Keys at even indexes, values (null when removed) at odd ones; a power of two of slots. */
    private volatile Object[] slots = new Object[2 * MIN_SLOTS];

    /** Keys with a value; written with release semantics (one writer: no fence), read with acquire. */
    private int size;

    /** Keys in {@link #slots}, with a value or not. Writer only. */
    private int used;

    /** The value of {@code key}, or null. Any thread; no lock, no allocation. */
    @SuppressWarnings("unchecked")
    V get(String key) {
        Object[] s = slots;
        int mask = (s.length >>> 1) - 1;
        int hash = key.hashCode();
        for (int i = spread(hash), step = 1; ; i += step++) {
            i &= mask;
            String k = (String) SLOT.getAcquire(s, 2 * i);
            if (k == null) {
                return null;
            }
            // The key's cached hash first: a key that only shares the probe sequence costs one
            // read of it, not of its characters too.
            if (k == key || k.hashCode() == hash && key.equals(k)) {
                return (V) SLOT.getAcquire(s, 2 * i + 1);
            }
        }
    }

    /** Keys with a value. Any thread. */
    int size() {
        return (int) SIZE.getAcquire(this);
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
                SIZE.setRelease(this, size + 1);
            }
            return old;
        }
        if ((long) (used + 1) * 20 > (long) (s.length >>> 1) * 13) {
            s = rebuilt(s);
            insert(s, key, value);
            slots = s;
        } else {
            // The free slot the probe ended on: the value first, then the key (see the class doc).
            at = -at - 1;
            s[at + 1] = value;
            SLOT.setRelease(s, at, key);
        }
        used++;
        SIZE.setRelease(this, size + 1);
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
        SIZE.setRelease(this, size - 1);
        if (used > MIN_SLOTS && size < used / 4) {
            // Mostly dead keys: their ids go, and the array shrinks with the live ones (paid for
            // by the removals since the last rebuild).
            slots = rebuilt(s);
        }
        return old;
    }

    /** Hands every value to {@code action}, in the table's order; the table must not change meanwhile. Writer only. */
    @SuppressWarnings("unchecked")
    void forEachValue(Consumer<? super V> action) {
        Object[] s = slots;
        for (int i = 1; i < s.length; i += 2) {
            Object value = s[i];
            if (value != null) {
                action.accept((V) value);
            }
        }
    }

    /**
     * Where {@code key} is: the index of its key, live or dead; or, when it is absent, {@code -j - 1}
     * for the index {@code j} of the free slot where its probe ended. Writer only.
     */
    private static int find(Object[] s, String key) {
        int mask = (s.length >>> 1) - 1;
        int hash = key.hashCode();
        for (int i = spread(hash), step = 1; ; i += step++) {
            i &= mask;
            String k = (String) s[2 * i];
            if (k == null) {
                return -2 * i - 1;
            }
            if (k == key || k.hashCode() == hash && key.equals(k)) {
                return 2 * i;
            }
        }
    }

    /**
     * A new array with the live entries only, the smallest (of at least {@link #MIN_SLOTS}) they
     * fill to at most half of the limit: twice the slots when they had grown, as many or fewer
     * when dead keys were most of it.
     */
    private Object[] rebuilt(Object[] s) {
        int live = size;
        int slotCount = MIN_SLOTS;
        while ((long) (live + 1) * 40 > (long) slotCount * 13) {
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
        int i = spread(key.hashCode()) & mask;
        for (int step = 1; s[2 * i] != null; step++) {
            i = (i + step) & mask;
        }
        s[2 * i + 1] = value;
        SLOT.setRelease(s, 2 * i, key);
    }

    /**
     * The first slot to probe, before the mask: the hash with its high half folded into the low
     * one, as {@code HashMap} does. Not scrambled further: ids that differ in their last
     * characters ({@code big-i-1}, {@code big-i-2}), registered and looked up in that order, sit in
     * nearby slots, so a fill walks the array almost in order (a multiplicative hash made every
     * access a cache miss and the writer 2-3x slower than a {@code HashMap} at 100,000 ids).
     * Probing is quadratic (triangular steps, which visit every slot of a power-of-two table), so
     * a run of occupied slots does not grow into one long cluster.
     */
    private static int spread(int h) {
        return h ^ (h >>> 16);
    }
}
