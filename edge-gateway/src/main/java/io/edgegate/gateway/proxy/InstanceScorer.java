package io.edgegate.gateway.proxy;

/**
 * The balancer plug-in point for routes whose balancer is {@code score}: picks an instance by
 * costs the proxy does not compute itself (an inference engine's queue and KV-cache use, prefix
 * and adapter affinity). Plugged in when the proxy is made ({@link ProxyService}); without one,
 * {@code score} routes use least-request.
 *
 * <p>Per request, on the request's thread: {@link #describe} once, from the body the proxy has
 * buffered (it may allocate: it runs with the body's parsing); then, for each attempt, the pool
 * calls {@link Scored#prepare}, {@link Scored#cost} for every usable candidate and
 * {@link Scored#picked} for the chosen one. Those three must not block, lock or allocate: they
 * read snapshots through volatile fields. Implementations are thread-safe; a {@link Scored} is
 * owned by its request's thread.
 */
public interface InstanceScorer {
    /**
     * What the scorer needs of one request.
     *
     * @param model the body's {@code model}, or null (no body, or none named)
     * @param body the buffered request body, or null when it was not read
     * @param weights the route's scoring weights
     * @return the request's scoring state (never null)
     */
    Scored describe(String model, byte[] body, ScoreWeights weights);

    /** The candidates of one pick: a pool's instances, index-aligned. Read-only view. */
    interface Candidates {
        int size();

        /** The instance id of candidate {@code i}. */
        String instanceId(int i);

        /** Requests in flight through this gateway to candidate {@code i}, now. */
        int inFlight(int i);

        /** Candidate {@code i}'s balancing weight (registration weight for its health), at least 0. */
        int weight(int i);
    }

    /** One request's scoring: see {@link InstanceScorer}. */
    interface Scored {
        /**
         * Takes what holds for the whole pool (which candidates have fresh signals, the largest
         * weight) before the candidates are costed.
         *
         * @return false when there is nothing to score by: the pool then picks by least-request
         */
        boolean prepare(Candidates candidates, long nowNanos);

        /** The cost of sending the request to candidate {@code i}, lower is better (after {@link #prepare}). */
        double cost(Candidates candidates, int i, long nowNanos);

        /** The request goes to candidate {@code i} (it may remember that, for affinity). */
        void picked(Candidates candidates, int i);
    }
}
