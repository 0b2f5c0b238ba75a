package io.edgegate.bridge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A summary of a node's registrations, published on {@code .../digest}, retained, once everything
 * up to {@code index} has been acknowledged by the broker: after each burst of changes the node
 * has drained, on every connect, and at least every digest interval. A consumer that holds the
 * same instances computes the same {@code count}, {@code hash} and {@code buckets}; a difference
 * means it diverged, and the buckets that differ say where (a resync of those buckets repairs it).
 *
 * <p>The hash is order-independent and incremental: the sum, modulo 2<sup>64</sup>, of
 * {@link #pairHash(String, long)} over every instance's {@code (id, index)}, written as 16
 * lower-case hex digits. Adding or removing one instance adds or subtracts one term
 * ({@link Accumulator}). The same sums taken over the instances of each of {@link #BUCKETS}
 * buckets ({@link #bucketOf(String)}, by id) are {@code buckets}; their sum is {@code hash}.
 *
 * @param epoch the node's epoch
 * @param index the node's index the digest was taken at
 * @param count number of instances
 * @param hash 16 lower-case hex digits
 * @param timestamp epoch milliseconds
 * @param buckets the hash sum of each bucket ({@link #BUCKETS} of them); empty when the producer
 *     sent none (an older node): then only the whole can be compared
 */
public record Digest(long epoch, long index, long count, String hash, long timestamp, List<Long> buckets)
        implements SyncMessage {
    /** Buckets a node's instances are divided into by id, for digests, resyncs and manifests. */
    public static final int BUCKETS = 64;

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    public Digest {
        Objects.requireNonNull(hash, "hash");
        buckets = buckets == null ? List.of() : List.copyOf(buckets);
        if (!buckets.isEmpty() && buckets.size() != BUCKETS) {
            throw new IllegalArgumentException("a digest has " + BUCKETS + " buckets or none: " + buckets.size());
        }
    }

    /** A digest without buckets (the form older nodes send). */
    public Digest(long epoch, long index, long count, String hash, long timestamp) {
        this(epoch, index, count, hash, timestamp, List.of());
    }

    /**
     * The bucket of an instance id: the top six bits of FNV-1a 64 over its UTF-8 bytes, then the
     * SplitMix64 finalizer (0 to {@link #BUCKETS} - 1).
     */
    public static int bucketOf(String id) {
        return (int) (mix(fnv(id)) >>> 58);
    }

    /**
     * FNV-1a 64 over the UTF-8 bytes of {@code s}; an ASCII string (ids nearly always are) is its
     * own UTF-8, so it is hashed char by char without encoding it first (nothing allocated).
     */
    private static long fnv(String s) {
        long h = FNV_OFFSET;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                return fnvBytes(s);
            }
            h = (h ^ c) * FNV_PRIME;
        }
        return h;
    }

    private static long fnvBytes(String s) {
        long h = FNV_OFFSET;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * FNV_PRIME;
        }
        return h;
    }

    private static long mix(long h) {
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }

    /**
     * One instance's term: FNV-1a 64 over the UTF-8 bytes of {@code id}, a 0 byte, and the
     * decimal digits of {@code index}, then the SplitMix64 finalizer.
     */
    public static long pairHash(String id, long index) {
        long h = fnv(id);
        h *= FNV_PRIME; // the 0 separator: h ^ 0 == h
        if (index < 0) {
            String digits = Long.toString(index);
            for (int i = 0; i < digits.length(); i++) {
                h = (h ^ digits.charAt(i)) * FNV_PRIME;
            }
            return mix(h);
        }
        // the decimal digits, most significant first, without making the string
        long power = 1;
        while (power <= index / 10) {
            power *= 10;
        }
        for (; power > 0; power /= 10) {
            h = (h ^ ('0' + (index / power) % 10)) * FNV_PRIME;
        }
        return mix(h);
    }

    /** The wire form of a hash sum. */
    public static String hex(long sum) {
        String s = Long.toHexString(sum);
        return "0".repeat(16 - s.length()) + s;
    }

    /** A running count, hash and bucket sums. Not thread-safe: owned by the thread that applies changes. */
    public static final class Accumulator {
        private long count;
        private long sum;
        private final long[] buckets = new long[BUCKETS];

        public void add(String id, long index) {
            long term = pairHash(id, index);
            count++;
            sum += term;
            buckets[bucketOf(id)] += term;
        }

        public void remove(String id, long index) {
            long term = pairHash(id, index);
            count--;
            sum -= term;
            buckets[bucketOf(id)] -= term;
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

        /**
         * The buckets whose sums differ from {@code digest}'s, in ascending order; every bucket when
         * the digest has none but the whole differs; none when the sets are the same.
         */
        public List<Integer> differingBuckets(Digest digest) {
            if (matches(digest)) {
                return List.of();
            }
            List<Integer> out = new ArrayList<>();
            for (int b = 0; b < BUCKETS; b++) {
                if (digest.buckets.isEmpty() || digest.buckets.get(b) != buckets[b]) {
                    out.add(b);
                }
            }
            // Equal bucket sums with a different count (terms that cancel out): ask for all.
            return out.isEmpty() ? allBuckets() : out;
        }

        /** A digest of the current set. */
        public Digest digest(long epoch, long index, long timestamp) {
            List<Long> sums = new ArrayList<>(BUCKETS);
            for (long b : buckets) {
                sums.add(b);
            }
            return new Digest(epoch, index, count, hash(), timestamp, sums);
        }
    }

    /** Every bucket, 0 to {@link #BUCKETS} - 1. */
    public static List<Integer> allBuckets() {
        List<Integer> all = new ArrayList<>(BUCKETS);
        for (int b = 0; b < BUCKETS; b++) {
            all.add(b);
        }
        return List.copyOf(all);
    }
}
