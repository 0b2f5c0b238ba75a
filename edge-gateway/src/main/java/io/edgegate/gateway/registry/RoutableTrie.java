package io.edgegate.gateway.registry;

import java.util.Arrays;

/**
 * The routable instances of one service as a dense, immutable, persistent vector: a 32-way radix
 * trie over positions 0 to {@code count - 1} whose inner nodes are plain {@code Object[]} and
 * whose leaves are {@code Instance[]}. A service of up to 32 routable instances is one leaf, so
 * reading position {@code i} is one array read; 33 to 1,024 take two, up to 32,768 three, up to a
 * million four.
 *
 * <p>Positions carry no order: an instance that stops being routable is replaced by the last one
 * ({@link #swapRemove}), so every change copies one leaf and the nodes above it (O(log32 n)) and
 * shares the rest. The registry thread keeps each instance's position.
 *
 * <p>Immutable and safe to share between threads once published (every field final; arrays are
 * never written after the trie that holds them is built).
 */
final class RoutableTrie {
    static final int BITS = InstanceTrie.BITS;
    static final int WIDTH = InstanceTrie.WIDTH;
    static final int MASK = InstanceTrie.MASK;

    private static final Object[] NONE = new Object[0];
    /** The empty leaf: leaves are {@code Instance[]} (see {@link #get}), copies keep the type. */
    private static final Instance[] NO_INSTANCES = new Instance[0];

    static final RoutableTrie EMPTY = new RoutableTrie(NO_INSTANCES, 0, 0);

    /** The root node: the leaf itself while {@code shift} is 0. */
    final Object[] root;
    /** Bits of the position below the root. */
    final int shift;

    final int count;

    RoutableTrie(Object[] root, int shift, int count) {
        this.root = root;
        this.shift = shift;
        this.count = count;
    }

    /**
     * The instance at {@code i} (0 to {@code count - 1}) of a trie with this root and shift. A leaf
     * is an {@code Instance[]}, so the element needs no cast: the type check is on the leaf's
     * header, which this read touches anyway, and never on the instance, whose header would be one
     * more dependent cache miss for a caller that only passes the instance on.
     */
    static Instance get(Object[] root, int shift, int i) {
        Object[] node = root;
        for (int s = shift; s > 0; s -= BITS) {
            node = (Object[]) node[(i >>> s) & MASK];
        }
        return ((Instance[]) node)[i & MASK];
    }

    Instance get(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("i=" + i + ", count=" + count);
        }
        return get(root, shift, i);
    }

    /** This trie with {@code instance} at position {@code i} (below {@code count}). */
    RoutableTrie set(int i, Instance instance) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("i=" + i + ", count=" + count);
        }
        return new RoutableTrie(set(root, shift, i, instance), shift, count);
    }

    private static Object[] set(Object[] node, int shift, int i, Object value) {
        int k = (i >>> shift) & MASK;
        Object[] copy = Arrays.copyOf(node, Math.max(node.length, k + 1));
        copy[k] = shift == 0
                ? value
                : set(k < node.length ? (Object[]) node[k] : empty(shift - BITS), shift - BITS, i, value);
        return copy;
    }

    /** This trie with {@code instance} appended at position {@code count}. */
    RoutableTrie append(Instance instance) {
        if (count == 0) {
            return new RoutableTrie(new Instance[] {instance}, 0, 1);
        }
        Object[] r = root;
        int s = shift;
        if (count == 1L << (s + BITS)) {
            // Full at this height: the old root becomes child 0 of a new level.
            r = new Object[] {r};
            s += BITS;
        }
        return new RoutableTrie(set(r, s, count, instance), s, count + 1);
    }

    /**
     * This trie with {@code run[0..n-1]} appended: one path copy per leaf reached instead of one
     * per instance.
     */
    RoutableTrie appendRun(Instance[] run, int n) {
        RoutableTrie t = this;
        for (int i = 0; i < n; ) {
            if (t.count == 0) {
                int len = Math.min(n - i, WIDTH);
                t = new RoutableTrie(Arrays.copyOfRange(run, i, i + len), 0, len);
                i += len;
                continue;
            }
            Object[] r = t.root;
            int s = t.shift;
            if (t.count == 1L << (s + BITS)) {
                r = new Object[] {r};
                s += BITS;
            }
            int len = Math.min(n - i, WIDTH - (t.count & MASK));
            t = new RoutableTrie(setRun(r, s, t.count, run, i, len), s, t.count + len);
            i += len;
        }
        return t;
    }

    /** The node with positions {@code at} to {@code at + len - 1} (in one leaf) set to {@code run[from...]}. */
    private static Object[] setRun(Object[] node, int shift, int at, Object[] run, int from, int len) {
        int k = (at >>> shift) & MASK;
        if (shift == 0) {
            Object[] copy = Arrays.copyOf(node, Math.max(node.length, k + len));
            System.arraycopy(run, from, copy, k, len);
            return copy;
        }
        Object[] copy = Arrays.copyOf(node, Math.max(node.length, k + 1));
        copy[k] = setRun(k < node.length ? (Object[]) node[k] : empty(shift - BITS), shift - BITS, at, run, from, len);
        return copy;
    }

    /** An empty node for the level at {@code shift}: a leaf ({@code Instance[]}) at 0. */
    private static Object[] empty(int shift) {
        return shift == 0 ? NO_INSTANCES : NONE;
    }

    /** This trie without its last position. */
    RoutableTrie removeLast() {
        if (count == 0) {
            throw new IllegalStateException("empty");
        }
        if (count == 1) {
            return EMPTY;
        }
        Object[] r = dropLast(root, shift, count - 1);
        int s = shift;
        // One child left at the top: it becomes the root (the trie shrinks by a level).
        while (s > 0 && r.length == 1) {
            r = (Object[]) r[0];
            s -= BITS;
        }
        return new RoutableTrie(r, s, count - 1);
    }

    /** The node without position {@code last} (its last one); null when nothing is left in it. */
    private static Object[] dropLast(Object[] node, int shift, int last) {
        int k = (last >>> shift) & MASK;
        if (shift == 0) {
            return k == 0 ? null : Arrays.copyOf(node, k);
        }
        Object[] child = dropLast((Object[]) node[k], shift - BITS, last);
        if (child == null) {
            return k == 0 ? null : Arrays.copyOf(node, k);
        }
        Object[] copy = node.clone();
        copy[k] = child;
        return copy;
    }

    /**
     * This trie without position {@code i}: the last instance moves into it. The caller learns
     * which one moved from {@link #get} on the old trie at {@code count - 1}.
     */
    RoutableTrie swapRemove(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("i=" + i + ", count=" + count);
        }
        int last = count - 1;
        RoutableTrie t = i == last ? this : set(i, get(last));
        return t.removeLast();
    }

    /** Nodes reachable from the root, for tests that check what a change copies. */
    void nodes(java.util.function.Consumer<Object[]> action) {
        if (count > 0) {
            nodes(root, shift, action);
        }
    }

    private static void nodes(Object[] node, int shift, java.util.function.Consumer<Object[]> action) {
        action.accept(node);
        if (shift > 0) {
            for (Object kid : node) {
                nodes((Object[]) kid, shift - BITS, action);
            }
        }
    }
}
