package io.edgegate.gateway.inference;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which instances last served each prompt prefix: a direct-mapped table of {@link #SIZE} entries
 * from a prefix hash to the slots ({@link SignalBoard}) of the last {@value #OWNERS} instances that
 * served it, most recent first. A popular prefix that its instance's load spills over to others is
 * then cached on each of them, and stays found on all of them.
 *
 * <p>An entry is one long: a 16-bit tag (hash bits 16-31; bits 0-15 are the entry's index) and
 * three 16-bit slots (0: none). A newer prefix that maps to the same index with another tag
 * replaces the older one: the table forgets the least recently written of two colliding prefixes,
 * as an engine's cache forgets its least recently used blocks. Two prefixes that share index and
 * tag (one in 2^32) share an entry: a wrong hint, never an error.
 *
 * <p>Read and written by request threads without locks or allocation: reads are opaque, a write is
 * a compare-and-set loop on its entry (a long is written whole). A reader that misses a concurrent
 * write sees the owners before it, a hint as good as any for one request. 512 KiB.
 */
final class PrefixTable {
    static final int SIZE = 1 << 16;
    static final int OWNERS = 3;
    private static final int MASK = SIZE - 1;
    private static final long SLOT = 0xFFFFL;

    private final AtomicLongArray entries = new AtomicLongArray(SIZE);

    /** The owners of {@code hash} (slots, most recent first, 0 for none) packed in a long; 0 when none. */
    long owners(long hash) {
        long e = entries.getOpaque(index(hash));
        return e != 0 && tag(e) == tagOf(hash) ? e & 0xFFFF_FFFF_FFFFL : 0;
    }

    /** Whether {@code slot} is among {@code owners} (as {@link #owners} answered). */
    static boolean owns(long owners, int slot) {
        for (int i = 0; i < OWNERS; i++) {
            if ((owners >>> (16 * i) & SLOT) == slot) {
                return true;
            }
        }
        return false;
    }

    /** Records that {@code slot} served {@code hash}: it becomes the first owner, the others move down. */
    void put(long hash, int slot) {
        if (slot == 0) {
            return;
        }
        int i = index(hash);
        long tag = tagOf(hash);
        while (true) {
            long e = entries.getOpaque(i);
            long owners = e != 0 && tag(e) == tag ? e & 0xFFFF_FFFF_FFFFL : 0;
            if ((owners & SLOT) == slot) {
                return; // already the most recent owner: nothing to write
            }
            long kept = 0;
            int n = 1;
            for (int k = 0; k < OWNERS && n < OWNERS; k++) {
                long s = owners >>> (16 * k) & SLOT;
                if (s != 0 && s != slot) {
                    kept |= s << (16 * n++);
                }
            }
            long next = tag << 48 | kept | slot;
            if (entries.compareAndSet(i, e, next)) {
                return;
            }
        }
    }

    private static int index(long hash) {
        return (int) (hash & MASK);
    }

    private static long tagOf(long hash) {
        return hash >>> 16 & SLOT;
    }

    private static long tag(long entry) {
        return entry >>> 48;
    }
}
