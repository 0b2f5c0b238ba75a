package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The instances one request may be sent to, with the tables of its balancer, precomputed when the
 * service's snapshot changes: the smooth weighted round robin sequence and the consistent-hash
 * ring. Immutable apart from its cursor, an {@link AtomicLong} owned by the route and kept across
 * rebuilds so that round robin continues where it was.
 *
 * <p>{@link #pick} allocates nothing and takes no lock: it reads arrays, the cursor, the upstreams'
 * in-flight counters, ejection deadlines and liveness. Ejected instances are skipped while any
 * other is left; when every candidate is ejected it picks among them anyway (panic mode), since
 * the ejection cap normally prevents that and a guess beats a certain 503. An upstream that is no
 * longer {@link Upstream#live} (its instance left, or stopped being routable, after the pool was
 * built) is never picked.
 */
final class Pool implements InstanceScorer.Candidates {
    /** Virtual nodes per instance on the hash ring. */
    static final int RING_POINTS = 64;
    /** Longest smooth weighted sequence; larger weight sums are scaled down to it. */
    static final int MAX_SEQUENCE = 4_096;
    /** Most instances a ring can hold (the owner index lives in the low 16 bits of a point). */
    static final int MAX_RING_MEMBERS = 1 << 16;

    private static final long OWNER_MASK = 0xFFFFL;

    final Upstream[] upstreams;
    /** Balancing weight of each upstream (registration weight for its health), at least 0. */
    final int[] weights;

    private final AtomicLong cursor;
    private final int[] sequence;
    private final long[] ring;
    private final Map<String, Pool> byModel;
    /**
     * Whether every instance is reached by plain HTTP at an IP literal: what an {@link EventLoop}
     * forwards (no TLS handshake, no name lookup on its thread).
     */
    final boolean plainLiterals;

    private Pool(
            Upstream[] upstreams,
            int[] weights,
            AtomicLong cursor,
            int[] sequence,
            long[] ring,
            Map<String, Pool> byModel) {
        this.upstreams = upstreams;
        this.weights = weights;
        this.cursor = cursor;
        this.sequence = sequence;
        this.ring = ring;
        this.byModel = byModel;
        boolean plain = true;
        for (Upstream u : upstreams) {
            plain &= !u.https && u.literalAddress;
        }
        this.plainLiterals = plain;
    }

    /**
     * Builds a pool of these instances.
     *
     * @param upstreams their upstreams
     * @param instances the instances, index-aligned with {@code upstreams}
     * @param balancer the route's balancer: decides which tables are built
     * @param cursor the route's cursor for this pool
     * @param modelCursor the route's cursor for the pool of one model, or null to build no model
     *     pools
     */
    static Pool build(
            List<Upstream> upstreams,
            List<Instance> instances,
            Balancer balancer,
            AtomicLong cursor,
            Function<String, AtomicLong> modelCursor) {
        Upstream[] ups = upstreams.toArray(new Upstream[0]);
        int[] weights = new int[ups.length];
        for (int i = 0; i < ups.length; i++) {
            weights[i] = weight(instances.get(i));
        }
        int[] sequence = balancer.needsSequence() ? sequence(weights) : null;
        long[] ring = balancer.needsRing() ? ring(ups) : null;
        Map<String, Pool> byModel = Map.of();
        if (modelCursor != null) {
            Map<String, List<Integer>> members = new HashMap<>();
            for (int i = 0; i < ups.length; i++) {
                for (String model : models(instances.get(i))) {
                    members.computeIfAbsent(model, m -> new ArrayList<>()).add(i);
                }
            }
            if (!members.isEmpty()) {
                Map<String, Pool> pools = new HashMap<>();
                for (Map.Entry<String, List<Integer>> e : members.entrySet()) {
                    List<Upstream> mu = new ArrayList<>();
                    List<Instance> mi = new ArrayList<>();
                    for (int i : e.getValue()) {
                        mu.add(ups[i]);
                        mi.add(instances.get(i));
                    }
                    pools.put(e.getKey(), build(mu, mi, balancer, modelCursor.apply(e.getKey()), null));
                }
                byModel = Map.copyOf(pools);
            }
        }
        return new Pool(ups, weights, cursor, sequence, ring, byModel);
    }

    @Override
    public int size() {
        return upstreams.length;
    }

    @Override
    public String instanceId(int i) {
        return upstreams[i].id;
    }

    @Override
    public int inFlight(int i) {
        return upstreams[i].inFlight();
    }

    @Override
    public int weight(int i) {
        return weights[i];
    }

    /** The pool of the instances that serve {@code model}, or null. */
    Pool model(String model) {
        return byModel.get(model);
    }

    /** Whether any instance of the pool advertises a model. */
    boolean advertisesModels() {
        return !byModel.isEmpty();
    }

    /** The models its instances advertise. */
    Set<String> models() {
        return byModel.keySet();
    }

    // ---------------------------------------------------------------- the pick

    /**
     * Picks an instance, skipping those already tried by this request and, while possible, the
     * ejected ones. No allocation, no lock.
     *
     * @param balancer the effective balancer (not {@link Balancer#DEFAULT})
     * @param hash the request's key hash for {@link Balancer#CONSISTENT_HASH}
     * @param hashed whether the request has a key; without one a hash route uses round robin
     * @param tried upstreams already tried by this request (may be null when {@code triedCount} is 0)
     * @param triedCount how many of {@code tried} are set
     * @param nowNanos the current {@link System#nanoTime()}
     * @return the instance, or null when every instance was tried
     */
    Upstream pick(Balancer balancer, long hash, boolean hashed, Upstream[] tried, int triedCount, long nowNanos) {
        return pick(balancer, hash, hashed, null, tried, triedCount, nowNanos);
    }

    /**
     * {@link #pick(Balancer, long, boolean, Upstream[], int, long)} with the request's scoring state
     * for {@link Balancer#SCORE} (null: least-request).
     */
    Upstream pick(
            Balancer balancer,
            long hash,
            boolean hashed,
            InstanceScorer.Scored scored,
            Upstream[] tried,
            int triedCount,
            long nowNanos) {
        int n = upstreams.length;
        if (n == 0) {
            return null;
        }
        int start =
                switch (balancer) {
                    case LEAST_REQUEST -> leastRequest(tried, triedCount, nowNanos);
                    case SCORE ->
                        scored != null && scored.prepare(this, nowNanos)
                                ? lowestCost(scored, tried, triedCount, nowNanos)
                                : leastRequest(tried, triedCount, nowNanos);
                    case WEIGHTED ->
                        sequence == null ? next(n) : sequence[index(cursor.getAndIncrement(), sequence.length)];
                    case CONSISTENT_HASH ->
                        hashed && ring != null ? hashOwner(hash, tried, triedCount, nowNanos) : next(n);
                    default -> next(n);
                };
        Upstream u = upstreams[start];
        if (usable(u, tried, triedCount, nowNanos)) {
            return u;
        }
        return scan(start, tried, triedCount, nowNanos);
    }

    /** The first usable instance from {@code start} on, else the first live untried one (panic mode). */
    private Upstream scan(int start, Upstream[] tried, int triedCount, long nowNanos) {
        int n = upstreams.length;
        for (int k = 1; k < n; k++) {
            Upstream u = upstreams[(start + k) % n];
            if (usable(u, tried, triedCount, nowNanos)) {
                return u;
            }
        }
        for (int k = 0; k < n; k++) {
            Upstream u = upstreams[(start + k) % n];
            if (u.live && !wasTried(u, tried, triedCount)) {
                return u;
            }
        }
        return null;
    }

    private int next(int n) {
        return index(cursor.getAndIncrement(), n);
    }

    private static int index(long counter, int n) {
        return (int) Long.remainderUnsigned(counter, n);
    }

    /**
     * Power of two choices: two distinct instances at random, the one with fewer requests in flight
     * relative to its weight wins. Returns an index; the caller checks usability.
     */
    private int leastRequest(Upstream[] tried, int triedCount, long nowNanos) {
        int n = upstreams.length;
        if (n == 1) {
            return 0;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int a = random.nextInt(n);
        int b = random.nextInt(n - 1);
        if (b >= a) {
            b++;
        }
        boolean okA = usable(upstreams[a], tried, triedCount, nowNanos);
        boolean okB = usable(upstreams[b], tried, triedCount, nowNanos);
        if (okA && okB) {
            // load / weight compared without division: inFlight(a) * w(b) vs inFlight(b) * w(a)
            long wa = Math.max(1, weights[a]);
            long wb = Math.max(1, weights[b]);
            long la = upstreams[a].inFlight() * wb;
            long lb = upstreams[b].inFlight() * wa;
            return la <= lb ? a : b;
        }
        return okA || !okB ? a : b;
    }

    /**
     * The usable instance of lowest cost, scanned from a random start so that equal costs spread;
     * the scorer is told which one it was. Without a usable instance, least-request's index (the
     * caller then scans, down to panic mode).
     */
    private int lowestCost(InstanceScorer.Scored scored, Upstream[] tried, int triedCount, long nowNanos) {
        int n = upstreams.length;
        int start = n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
        int best = -1;
        double bestCost = Double.POSITIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            int i = start + k < n ? start + k : start + k - n;
            if (!usable(upstreams[i], tried, triedCount, nowNanos)) {
                continue;
            }
            double cost = scored.cost(this, i, nowNanos);
            if (best < 0 || cost < bestCost) {
                best = i;
                bestCost = cost;
            }
        }
        if (best < 0) {
            return leastRequest(tried, triedCount, nowNanos);
        }
        scored.picked(this, best);
        return best;
    }

    /** The owner of the first ring point at or after {@code hash}, walking on past unusable owners. */
    private int hashOwner(long hash, Upstream[] tried, int triedCount, long nowNanos) {
        long key = hash & ~OWNER_MASK;
        int i = Arrays.binarySearch(ring, key);
        if (i < 0) {
            i = -i - 1;
        }
        int len = ring.length;
        for (int k = 0; k < len; k++) {
            int owner = (int) (ring[(i + k) % len] & OWNER_MASK);
            if (usable(upstreams[owner], tried, triedCount, nowNanos)) {
                return owner;
            }
        }
        return (int) (ring[i % len] & OWNER_MASK);
    }

    private static boolean usable(Upstream u, Upstream[] tried, int triedCount, long nowNanos) {
        return u.live && !u.ejected(nowNanos) && !wasTried(u, tried, triedCount);
    }

    private static boolean wasTried(Upstream u, Upstream[] tried, int triedCount) {
        for (int i = 0; i < triedCount; i++) {
            if (tried[i] == u) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- tables

    /** The registration weight for the instance's health; Consul's passing or warning weight. */
    static int weight(Instance instance) {
        int w = instance.health() == Health.WARNING
                ? instance.spec().weightWarning()
                : instance.spec().weightPassing();
        return Math.max(0, w);
    }

    /**
     * nginx's smooth weighted round robin, run once over a whole cycle: each step adds every
     * weight to its instance's current value, picks the largest and takes the sum from it. The
     * sequence spreads each instance's turns evenly (5,1,1 gives a a b a c a a, not a a a a a b c).
     */
    static int[] sequence(int[] rawWeights) {
        int n = rawWeights.length;
        if (n == 0) {
            return new int[0];
        }
        long[] w = new long[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            w[i] = rawWeights[i];
            sum += w[i];
        }
        if (sum == 0) {
            Arrays.fill(w, 1);
            sum = n;
        }
        long g = 0;
        for (long x : w) {
            g = gcd(g, x);
        }
        sum = 0;
        for (int i = 0; i < n; i++) {
            w[i] /= g;
            sum += w[i];
        }
        if (sum > MAX_SEQUENCE) {
            // Keep the proportions within a bounded table; a positive weight stays positive.
            long scaled = 0;
            for (int i = 0; i < n; i++) {
                w[i] = w[i] == 0 ? 0 : Math.max(1, w[i] * MAX_SEQUENCE / sum);
                scaled += w[i];
            }
            sum = scaled;
        }
        int[] sequence = new int[(int) sum];
        long[] current = new long[n];
        for (int k = 0; k < sequence.length; k++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                current[i] += w[i];
                if (w[i] > 0 && (best < 0 || current[i] > current[best])) {
                    best = i;
                }
            }
            current[best] -= sum;
            sequence[k] = best;
        }
        return sequence;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /**
     * A sorted ring of {@link #RING_POINTS} points per instance, placed by the hash of its id, so
     * that adding or removing one instance moves only the keys of that instance. Each point
     * carries its owner's index in its low 16 bits.
     */
    static long[] ring(Upstream[] upstreams) {
        int n = Math.min(upstreams.length, MAX_RING_MEMBERS);
        long[] ring = new long[n * RING_POINTS];
        for (int i = 0; i < n; i++) {
            long base = hash(upstreams[i].id);
            for (int p = 0; p < RING_POINTS; p++) {
                long point = mix(base + p * 0x9E3779B97F4A7C15L);
                ring[i * RING_POINTS + p] = (point & ~OWNER_MASK) | i;
            }
        }
        Arrays.sort(ring);
        return ring;
    }

    /** 64-bit FNV-1a of the characters, then a finalizer mix; no allocation. */
    static long hash(CharSequence s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return mix(h);
    }

    /** MurmurHash3's fmix64. */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /**
     * The metadata keys that list the models an instance serves: what it registered ({@code model},
     * comma-separated {@code models}) and what the gateway read from its engine's
     * {@code /v1/models} ({@code engine-models}, and {@code engine-adapters}: LoRA adapters are
     * asked for by name as models are).
     */
    static final List<String> MODEL_KEYS = List.of("model", "models", "engine-models", "engine-adapters");

    /** The models an instance serves ({@link #MODEL_KEYS}), trimmed, without duplicates. */
    static Set<String> models(Instance instance) {
        Map<String, String> meta = instance.spec().meta();
        String one = meta.get("model");
        if (meta.get("models") == null && meta.get("engine-models") == null && meta.get("engine-adapters") == null) {
            // The usual case, one model: no set to build (tables of large services list every instance).
            return one == null || one.isBlank() ? Set.of() : Set.of(one.trim());
        }
        Set<String> out = null;
        for (String key : MODEL_KEYS) {
            String value = meta.get(key);
            if (value == null) {
                continue;
            }
            // "model" names one model whole; the others are comma-separated lists.
            for (String m : key.equals("model") ? new String[] {value} : value.split(",")) {
                if (!m.isBlank()) {
                    if (out == null) {
                        out = new LinkedHashSet<>();
                    }
                    out.add(m.trim());
                }
            }
        }
        return out == null ? Set.of() : out;
    }
}
