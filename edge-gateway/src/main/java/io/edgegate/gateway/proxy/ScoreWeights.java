package io.edgegate.gateway.proxy;

/**
 * The weights of the {@code score} balancer, a route's {@code policy.scoring}. A candidate's cost
 * is counted in requests: its load (the requests its engine runs and queues, else those this
 * gateway has in flight to it, per unit of weight) plus {@code queue} per request waiting in its
 * engine's queue plus {@code kvCache} times its KV-cache use (0 to 1), less {@code prefix} times
 * the share of the prompt's leading chunks it served last, less {@code adapter} when it has the
 * request's LoRA adapter (or model) loaded. So {@code prefix: 4} keeps a prompt on the instance
 * that has its prefix cached until that instance carries more than four requests more than
 * another: affinity bounded by load. Immutable.
 *
 * @param queue cost of one request waiting in the engine's queue, on top of its load (0-1000)
 * @param kvCache cost of a full KV cache (0-1000)
 * @param prefix bonus for a prompt whose leading chunks the instance served (0-1000)
 * @param adapter bonus for an instance with the requested adapter loaded (0-1000)
 */
public record ScoreWeights(double queue, double kvCache, double prefix, double adapter) {
    /** The defaults documented in the gateway's README. */
    public static final ScoreWeights DEFAULT = new ScoreWeights(2, 4, 4, 3);

    /** Largest weight a route may give. */
    public static final double MAX = 1000;

    public ScoreWeights {
        check("queue", queue);
        check("kv-cache", kvCache);
        check("prefix", prefix);
        check("adapter", adapter);
    }

    private static void check(String name, double value) {
        if (!(value >= 0 && value <= MAX)) {
            throw new IllegalArgumentException("scoring weight out of range: " + name + "=" + value + ", range=0-1000");
        }
    }
}
