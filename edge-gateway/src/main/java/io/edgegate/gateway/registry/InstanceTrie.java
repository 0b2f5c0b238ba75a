package io.edgegate.gateway.registry;

import java.util.AbstractList;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Every instance of one service in registration order, as an immutable, persistent radix trie
 * keyed by slot: the registry thread gives each instance the next slot of its service when it
 * first registers and keeps it while the instance lives, so slot order is registration order.
 *
 * <p>Layout: leaves are {@code Instance[]} chunks of up to {@value #WIDTH} slots (null where an
 * instance left), branches are {@link Branch}es of up to {@value #WIDTH} children with the number
 * of instances below them. Arrays are only as long as their highest used index. A change copies
 * one leaf and the branches above it (at most {@code log32(slots)}, 4 levels for a million
 * slots) and shares everything else with the trie it came from: publishing a batch costs in
 * proportion to the instances it changed, not to the size of their service. Two tries of the same
 * {@link #lineage} can be compared in the same proportion ({@link #diff}), because unchanged
 * subtrees are the same objects.
 *
 * <p>Slots of removed instances are not reused. When more than half of the slot range is holes
 * the registry thread renumbers the service ({@link #of}), which starts a new lineage.
 *
 * <p>Immutable and safe to share between threads once published (every field final).
 */
final class InstanceTrie {
    static final int BITS = 5;
    static final int WIDTH = 1 << BITS;
    static final int MASK = WIDTH - 1;

    private static final Instance[] NO_INSTANCES = new Instance[0];

    /** The empty trie of lineage 0. */
    static final InstanceTrie EMPTY = new InstanceTrie(null, 0, 0, 0);

    /** Leaf ({@code Instance[]}), {@link Branch}, or null when empty. */
    private final Object root;
    /** Bits of the slot number below the root: 0 when the root is a leaf. */
    private final int shift;

    private final int size;
    /** Numbering of the slots; tries of different lineages share no slot meaning. */
    final int lineage;

    /** An inner node: its children (leaves or branches, null where empty) and the instances below it. */
    static final class Branch {
        final Object[] kids;
        final int size;

        Branch(Object[] kids, int size) {
            this.kids = kids;
            this.size = size;
        }
    }

    private InstanceTrie(Object root, int shift, int size, int lineage) {
        this.root = root;
        this.shift = shift;
        this.size = size;
        this.lineage = lineage;
    }

    /** A trie of these instances in slots 0 to n - 1, in a new lineage. */
    static InstanceTrie of(List<Instance> instances, int lineage) {
        int n = instances.size();
        if (n == 0) {
            return new InstanceTrie(null, 0, 0, lineage);
        }
        Object[] level = new Object[(n + MASK) >>> BITS];
        for (int i = 0; i < level.length; i++) {
            int from = i << BITS;
            int to = Math.min(n, from + WIDTH);
            Instance[] leaf = new Instance[to - from];
            for (int k = from; k < to; k++) {
                leaf[k - from] = instances.get(k);
            }
            level[i] = leaf;
        }
        int shift = 0;
        while (level.length > 1) {
            Object[] up = new Object[(level.length + MASK) >>> BITS];
            for (int i = 0; i < up.length; i++) {
                int from = i << BITS;
                int to = Math.min(level.length, from + WIDTH);
                Object[] kids = new Object[to - from];
                int count = 0;
                for (int k = from; k < to; k++) {
                    kids[k - from] = level[k];
                    count += count(level[k]);
                }
                up[i] = new Branch(kids, count);
            }
            level = up;
            shift += BITS;
        }
        return new InstanceTrie(level[0], shift, n, lineage);
    }

    /** The empty trie of a lineage. */
    static InstanceTrie empty(int lineage) {
        return lineage == 0 ? EMPTY : new InstanceTrie(null, 0, 0, lineage);
    }

    int size() {
        return size;
    }

    /** Slots the trie can address without growing a level. */
    private static long capacity(int shift) {
        return 1L << (shift + BITS);
    }

    /** The instance in {@code slot}, or null. */
    Instance get(int slot) {
        if (slot < 0 || slot >= capacity(shift) || root == null) {
            return null;
        }
        Object node = root;
        for (int s = shift; s > 0; s -= BITS) {
            Object[] kids = ((Branch) node).kids;
            int k = (slot >>> s) & MASK;
            if (k >= kids.length || kids[k] == null) {
                return null;
            }
            node = kids[k];
        }
        Instance[] leaf = (Instance[]) node;
        int k = slot & MASK;
        return k < leaf.length ? leaf[k] : null;
    }

    /**
     * This trie with {@code slot} holding {@code instance} (null empties it). Copies the leaf and
     * the branches on the slot's path; shares the rest.
     */
    InstanceTrie with(int slot, Instance instance) {
        if (slot < 0) {
            throw new IllegalArgumentException("slot must not be negative: slot=" + slot);
        }
        Object r = root;
        int s = shift;
        if (instance == null && (slot >= capacity(s) || r == null)) {
            return this;
        }
        if (r == null) {
            s = 0;
        }
        while (slot >= capacity(s)) {
            // Grow a level: the old root becomes child 0, so the old trie is a subtree of the new one.
            r = new Branch(new Object[] {r}, count(r));
            s += BITS;
        }
        Instance before = get(slot);
        int delta = (instance != null ? 1 : 0) - (before != null ? 1 : 0);
        Object updated = with(r, s, slot, instance, delta);
        return new InstanceTrie(updated, updated == null ? 0 : s, size + delta, lineage);
    }

    private static Object with(Object node, int shift, int slot, Instance instance, int delta) {
        return with(node, shift, slot, null, instance, 0, 1, delta);
    }

    /**
     * The node with slots {@code slot} to {@code slot + len - 1} (in one leaf) set to
     * {@code run[from...]}, or to {@code one} when {@code run} is null.
     */
    private static Object with(
            Object node, int shift, int slot, Instance[] run, Instance one, int from, int len, int delta) {
        int k = (slot >>> shift) & MASK;
        if (shift == 0) {
            Instance[] leaf = node == null ? NO_INSTANCES : (Instance[]) node;
            Instance[] copy = Arrays.copyOf(leaf, Math.max(leaf.length, k + len));
            if (run == null) {
                copy[k] = one;
            } else {
                System.arraycopy(run, from, copy, k, len);
            }
            return trim(copy);
        }
        Branch branch = (Branch) node;
        Object[] kids = branch == null ? new Object[0] : branch.kids;
        Object child = k < kids.length ? kids[k] : null;
        Object updated = with(child, shift - BITS, slot, run, one, from, len, delta);
        Object[] copy = trim(set(kids, k, updated));
        return copy == null ? null : new Branch(copy, (branch == null ? 0 : branch.size) + delta);
    }

    /**
     * This trie with {@code run[0..n-1]} (none null) in the empty slots {@code first} to
     * {@code first + n - 1}: one path copy per leaf reached instead of one per instance, so a
     * batch of new registrations costs about one leaf copy per 32 of them.
     */
    InstanceTrie withRun(int first, Instance[] run, int n) {
        if (n == 0) {
            return this;
        }
        Object r = root;
        int s = r == null ? 0 : shift;
        long last = (long) first + n - 1;
        while (last >= capacity(s)) {
            r = new Branch(new Object[] {r}, count(r));
            s += BITS;
        }
        for (int i = 0; i < n; ) {
            int slot = first + i;
            int len = Math.min(n - i, WIDTH - (slot & MASK));
            r = with(r, s, slot, run, null, i, len, len);
            i += len;
        }
        return new InstanceTrie(r, s, size + n, lineage);
    }

    /** A copy of {@code array} with {@code value} at {@code k}, grown to reach it when needed. */
    private static <T> T[] set(T[] array, int k, T value) {
        T[] copy = Arrays.copyOf(array, Math.max(array.length, k + 1));
        copy[k] = value;
        return copy;
    }

    /** The array without trailing nulls, or null when nothing is left. */
    private static <T> T[] trim(T[] array) {
        int end = array.length;
        while (end > 0 && array[end - 1] == null) {
            end--;
        }
        return end == 0 ? null : end == array.length ? array : Arrays.copyOf(array, end);
    }

    private static int count(Object node) {
        if (node == null) {
            return 0;
        }
        if (node instanceof Branch b) {
            return b.size;
        }
        int count = 0;
        for (Instance instance : (Instance[]) node) {
            if (instance != null) {
                count++;
            }
        }
        return count;
    }

    /** The {@code rank}-th instance in slot order (0-based). */
    Instance at(int rank) {
        if (rank < 0 || rank >= size) {
            throw new IndexOutOfBoundsException("rank=" + rank + ", size=" + size);
        }
        Object node = root;
        for (int s = shift; s > 0; s -= BITS) {
            for (Object kid : ((Branch) node).kids) {
                int below = count(kid);
                if (rank < below) {
                    node = kid;
                    break;
                }
                rank -= below;
            }
        }
        for (Instance instance : (Instance[]) node) {
            if (instance != null && rank-- == 0) {
                return instance;
            }
        }
        throw new IllegalStateException("trie counts disagree with its leaves");
    }

    /** Calls {@code action} for every instance in slot order. */
    void forEach(Consumer<? super Instance> action) {
        forEach(root, shift, action);
    }

    private static void forEach(Object node, int shift, Consumer<? super Instance> action) {
        if (node == null) {
            return;
        }
        if (shift == 0) {
            for (Instance instance : (Instance[]) node) {
                if (instance != null) {
                    action.accept(instance);
                }
            }
            return;
        }
        for (Object kid : ((Branch) node).kids) {
            forEach(kid, shift - BITS, action);
        }
    }

    /** The instances in slot order, as an unmodifiable list view. */
    List<Instance> asList() {
        return new InstanceList(this);
    }

    /**
     * Calls {@code visitor(before, after)} for every slot whose instance differs between
     * {@code older} and this trie (null for an absent instance), in slot order; unchanged subtrees
     * are skipped by identity, so the cost is in proportion to what changed.
     *
     * @return false, and visits nothing, when the tries are of different lineages
     */
    boolean diff(InstanceTrie older, BiConsumer<Instance, Instance> visitor) {
        if (older.lineage != lineage) {
            return false;
        }
        Object a = older.root;
        int as = a == null ? shift : older.shift;
        Object b = root;
        int bs = b == null ? as : shift;
        diff(a, as, b, bs, visitor);
        return true;
    }

    /** Diffs two subtrees over one slot range; the taller one's child 0 covers the shorter one. */
    private static void diff(Object a, int as, Object b, int bs, BiConsumer<Instance, Instance> visitor) {
        if (as == bs) {
            diff(a, b, as, visitor);
            return;
        }
        Object taller = as > bs ? a : b;
        int shift = Math.max(as, bs);
        Object[] kids = taller == null ? new Object[0] : ((Branch) taller).kids;
        Object first = kids.length == 0 ? null : kids[0];
        if (as > bs) {
            diff(first, as - BITS, b, bs, visitor);
        } else {
            diff(a, as, first, bs - BITS, visitor);
        }
        for (int k = 1; k < kids.length; k++) {
            visitAll(kids[k], shift - BITS, as > bs, visitor);
        }
    }

    private static void diff(Object a, Object b, int shift, BiConsumer<Instance, Instance> visitor) {
        if (a == b) {
            return;
        }
        if (a == null || b == null) {
            visitAll(a == null ? b : a, shift, a != null, visitor);
            return;
        }
        if (shift == 0) {
            Instance[] x = (Instance[]) a;
            Instance[] y = (Instance[]) b;
            int n = Math.max(x.length, y.length);
            for (int k = 0; k < n; k++) {
                Instance before = k < x.length ? x[k] : null;
                Instance after = k < y.length ? y[k] : null;
                if (before != after) {
                    visitor.accept(before, after);
                }
            }
            return;
        }
        Object[] x = ((Branch) a).kids;
        Object[] y = ((Branch) b).kids;
        int n = Math.max(x.length, y.length);
        for (int k = 0; k < n; k++) {
            diff(k < x.length ? x[k] : null, k < y.length ? y[k] : null, shift - BITS, visitor);
        }
    }

    /** Visits every instance below {@code node} as removed ({@code before}) or added. */
    private static void visitAll(Object node, int shift, boolean before, BiConsumer<Instance, Instance> visitor) {
        forEach(node, shift, instance -> {
            if (before) {
                visitor.accept(instance, null);
            } else {
                visitor.accept(null, instance);
            }
        });
    }

    /**
     * Nodes reachable from this trie's root (branches and leaves), for tests that check what a
     * change copies.
     */
    void nodes(Consumer<Object> action) {
        ArrayDeque<Object> todo = new ArrayDeque<>();
        if (root != null) {
            todo.add(root);
        }
        while (!todo.isEmpty()) {
            Object node = todo.poll();
            action.accept(node);
            if (node instanceof Branch b) {
                for (Object kid : b.kids) {
                    if (kid != null) {
                        todo.add(kid);
                    }
                }
            }
        }
    }

    /** The trie as a read-only list: iteration walks the trie, {@code get} descends by counts. */
    private static final class InstanceList extends AbstractList<Instance> {
        private final InstanceTrie trie;

        InstanceList(InstanceTrie trie) {
            this.trie = trie;
        }

        @Override
        public Instance get(int index) {
            return trie.at(index);
        }

        @Override
        public int size() {
            return trie.size;
        }

        @Override
        public boolean isEmpty() {
            return trie.size == 0;
        }

        @Override
        public void forEach(Consumer<? super Instance> action) {
            trie.forEach(action);
        }

        @Override
        public Iterator<Instance> iterator() {
            return new Walk(trie);
        }
    }

    /** Depth-first walk over the leaves, skipping holes; a stack of (node, next child) per level. */
    private static final class Walk implements Iterator<Instance> {
        private final Object[] nodes = new Object[8];
        private final int[] next = new int[8];
        private int depth = -1;
        private Instance[] leaf = NO_INSTANCES;
        private int at;
        private Instance ahead;

        Walk(InstanceTrie trie) {
            if (trie.root != null) {
                if (trie.shift == 0) {
                    leaf = (Instance[]) trie.root;
                } else {
                    depth = 0;
                    nodes[0] = trie.root;
                }
            }
            ahead = advance();
        }

        private Instance advance() {
            while (true) {
                while (at < leaf.length) {
                    Instance instance = leaf[at++];
                    if (instance != null) {
                        return instance;
                    }
                }
                // Next leaf: climb until a branch has a child left, then descend to its first leaf.
                while (depth >= 0) {
                    Object[] kids = ((Branch) nodes[depth]).kids;
                    if (next[depth] >= kids.length) {
                        depth--;
                        continue;
                    }
                    Object kid = kids[next[depth]++];
                    if (kid == null) {
                        continue;
                    }
                    if (kid instanceof Branch) {
                        depth++;
                        nodes[depth] = kid;
                        next[depth] = 0;
                        continue;
                    }
                    leaf = (Instance[]) kid;
                    at = 0;
                    break;
                }
                if (depth < 0 && at >= leaf.length) {
                    return null;
                }
            }
        }

        @Override
        public boolean hasNext() {
            return ahead != null;
        }

        @Override
        public Instance next() {
            Instance current = ahead;
            if (current == null) {
                throw new NoSuchElementException();
            }
            ahead = advance();
            return current;
        }
    }
}
