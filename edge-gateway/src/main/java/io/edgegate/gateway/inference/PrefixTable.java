package io.edgegate.gateway.inference;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which instance last served each prompt prefix: a direct-mapped table of {@link #SIZE} entries
 * from a prefix hash to an instance's slot ({@link SignalBoard}). An entry is one long, the hash's
 * upper 48 bits (its tag) and the slot in the lower 16; the entry's index is the hash's lower bits.
 * A newer prefix that maps to the same index replaces the older one: the table forgets the least
 * recently written of two colliding prefixes, as an engine's cache forgets its least recently used
 * blocks.
 *
 * <p>Read and written by request threads with opaque accesses, no lock and no allocation: a long
 * is written whole, and a reader that misses a concurrent write sees the previous owner, a hint
 * as good as any for one request. 512 KiB.
 */
final class PrefixTable {
    static final int SIZE = 1 << 16;
    private static final int MASK = SIZE - 1;
    private static final long SLOT_BITS = 0xFFFFL;

    private final AtomicLongArray entries = new AtomicLongArray(SIZE);

    /** The slot that last served {@code hash}, or 0 when none (or it was forgotten). */
    int owner(long hash) {
        long e = entries.getOpaque((int) (hash & MASK));
        return e != 0 && (e & ~SLOT_BITS) == (hash & ~SLOT_BITS) ? (int) (e & SLOT_BITS) : 0;
    }

    /** Records that {@code slot} served {@code hash}. */
    void put(long hash, int slot) {
        if (slot == 0) {
            return;
        }
        entries.setOpaque((int) (hash & MASK), (hash & ~SLOT_BITS) | slot);
    }
}
