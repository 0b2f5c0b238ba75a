package io.edgegate.bridge;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A summary of a node's registrations, published periodically on {@code .../digest} (not
 * retained) once everything up to {@code index} has been acknowledged by the broker. A consumer
 * that holds the same instances computes the same {@code count} and {@code hash}; a difference
 * means it diverged and should ask for a resync.
 *
 * <p>The hash is order-independent and incremental: the sum, modulo 2<sup>64</sup>, of
 * {@link #pairHash(String, long)} over every instance's {@code (id, index)}, written as 16
 * lower-case hex digits. Adding or removing one instance adds or subtracts one term
 * ({@link Accumulator}).
 *
 * @param epoch the node's epoch
 * @param index the node's index the digest was taken at
 * @param count number of instances
 * @param hash 16 lower-case hex digits
 * @param timestamp epoch milliseconds
 */
public record Digest(long epoch, long index, long count, String hash, long timestamp) implements SyncMessage {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    public Digest {
        Objects.requireNonNull(hash, "hash");
    }

    /**
     * One instance's term: FNV-1a 64 over the UTF-8 bytes of {@code id}, a 0 byte, and the
     * decimal digits of {@code index}, then the SplitMix64 finalizer.
     */
    public static long pairHash(String id, long index) {
        long h = FNV_OFFSET;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * FNV_PRIME;
        }
        h *= FNV_PRIME; // the 0 separator: h ^ 0 == h
        String digits = Long.toString(index);
        for (int i = 0; i < digits.length(); i++) {
            h = (h ^ digits.charAt(i)) * FNV_PRIME;
        }
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }

    /** The wire form of a hash sum. */
    public static String hex(long sum) {
        String s = Long.toHexString(sum);
        return "0".repeat(16 - s.length()) + s;
    }

    /** A running count and hash. Not thread-safe: owned by the thread that applies changes. */
    public static final class Accumulator {
        private long count;
        private long sum;

        public void add(String id, long index) {
            count++;
            sum += pairHash(id, index);
        }

        public void remove(String id, long index) {
            count--;
            sum -= pairHash(id, index);
        }

        public long count() {
            return count;
        }

        public String hash() {
            return hex(sum);
        }

        /** Whether {@code digest} describes the same set. */
        public boolean matches(Digest digest) {
            return digest.count == count && digest.hash.equals(hash());
        }

        /** A digest of the current set. */
        public Digest digest(long epoch, long index, long timestamp) {
            return new Digest(epoch, index, count, hash(), timestamp);
        }
    }
}
