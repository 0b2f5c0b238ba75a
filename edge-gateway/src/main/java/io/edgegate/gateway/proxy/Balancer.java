package io.edgegate.gateway.proxy;

/** How a route picks one instance of a pool; the algorithms live in {@link Pool#pick}. */
enum Balancer {
    /** Scoring (least-request without a scorer) for inference requests, round robin for the rest. */
    DEFAULT("default"),
    /** Each instance in turn. */
    ROUND_ROBIN("round-robin"),
    /** Smooth weighted round robin over the registration weights (nginx's sequence, precomputed). */
    WEIGHTED("weighted-round-robin"),
    /** Fewer requests in flight of two instances drawn at random (power of two choices). */
    LEAST_REQUEST("least-request"),
    /** A ring of the instances hashed by a request header: one key stays on one instance. */
    CONSISTENT_HASH("consistent-hash"),
    /**
     * Lowest cost by the plugged-in {@link InstanceScorer} (engine load, KV cache, prefix and
     * adapter affinity); least-request without a scorer or anything to score by.
     */
    SCORE("score");

    private final String wireName;

    Balancer(String wireName) {
        this.wireName = wireName;
    }

    String wireName() {
        return wireName;
    }

    /** The balancer of this wire name ({@code weighted} is accepted for weighted round robin), or null. */
    static Balancer parse(String text) {
        if ("weighted".equals(text)) {
            return WEIGHTED;
        }
        for (Balancer balancer : values()) {
            if (balancer.wireName.equals(text)) {
                return balancer;
            }
        }
        return null;
    }

    /** Whether the pools of a route with this balancer need the smooth weighted sequence. */
    boolean needsSequence() {
        return this == WEIGHTED;
    }

    /** Whether the pools of a route with this balancer need the hash ring. */
    boolean needsRing() {
        return this == CONSISTENT_HASH;
    }
}
