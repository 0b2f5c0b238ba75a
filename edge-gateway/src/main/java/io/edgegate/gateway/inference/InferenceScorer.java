package io.edgegate.gateway.inference;

import io.edgegate.gateway.proxy.InstanceScorer;
import io.edgegate.gateway.proxy.ScoreWeights;

/**
 * The {@code score} balancer: the cost of sending a request to an instance, in requests (see
 * {@link ScoreWeights}), from the engine signals on the {@link SignalBoard}, the gateway's own
 * requests in flight and the {@link PrefixTable}:
 *
 * <pre>
 * cost = load / relative weight + queue * waiting + kv-cache * KV use
 *        - prefix * (leading prompt chunks it served lately / prompt chunks) - adapter * (adapter loaded ? 1 : 0)
 * </pre>
 *
 * where an adapter is "loaded" on an instance whose engine lists it as loaded, or that this
 * gateway sent it to last (remembered in the prefix table under the adapter's name); an instance
 * whose running batch already uses {@code max_lora} other adapters costs {@code adapter} more, and, with fresh signals ({@code signal-max-age}), {@code load} is what the engine runs and
 * queues plus the requests this gateway sent it since the scrape ({@code in flight now - in flight
 * then}), never less than this gateway's own in flight, and {@code waiting} the engine's queue
 * plus those sent since when it was queueing. Signals count only when every candidate has fresh
 * ones (comparing an engine's truth with another's guess misleads); otherwise the load is the
 * gateway's in-flight count, the KV term and the engines' own lists of loaded adapters are off, and a request without a prompt to
 * match is left to least-request: a stale or missing signal falls back, never fails.
 *
 * <p>Ollama has no metrics (nor has an instance whose metrics endpoint is missing): its load is
 * the gateway's in flight, its queue what passes its parallelism ({@code parallel} metadata,
 * default 1), its "adapters" the models it has loaded.
 *
 * <p>Thread-safe: reads the board and the table without locks; the per-request state
 * ({@link Request}) belongs to the request's thread. {@link Request#prepare}, {@link Request#cost}
 * and {@link Request#picked} allocate nothing once an instance has its state.
 */
final class InferenceScorer implements InstanceScorer {
    private final SignalBoard board;
    private final PrefixTable prefixes;
    private final long maxAgeNanos;

    InferenceScorer(SignalBoard board, PrefixTable prefixes, long maxAgeNanos) {
        this.board = board;
        this.prefixes = prefixes;
        this.maxAgeNanos = maxAgeNanos;
    }

    @Override
    public Request describe(String model, byte[] body, ScoreWeights weights) {
        return new Request(model, PromptPrefix.hashes(model, body), weights == null ? ScoreWeights.DEFAULT : weights);
    }

    /** The prefix table's key for "this model or adapter was sent here": a hash no prompt chunk has. */
    static long modelKey(String model) {
        long h = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < model.length(); i++) {
            h ^= model.charAt(i);
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /** One request's scoring state; owned by its thread. */
    final class Request implements Scored {
        private final String model;
        private final long[] hashes;
        private final ScoreWeights weights;
        /** The slots that served each prefix hash (packed, see {@link PrefixTable#owners}), as read by {@link #prepare}. */
        private final long[] owners;

        private final long modelKey;

        private boolean engineSignals;
        private double maxWeight;
        /** Whether the model is an adapter some candidate loads on demand (see {@link EngineState#loadable}). */
        private boolean adapter;
        /** The instances this gateway sent the adapter to lately (packed slots). */
        private long adapterOwners;

        Request(String model, long[] hashes, ScoreWeights weights) {
            this.model = model;
            this.hashes = hashes;
            this.weights = weights;
            this.owners = new long[hashes.length];
            this.modelKey = model == null ? 0 : modelKey(model);
        }

        @Override
        public boolean prepare(Candidates candidates, long nowNanos) {
            boolean allFresh = true;
            int maxW = 1;
            boolean isAdapter = false;
            for (int i = 0; i < candidates.size(); i++) {
                EngineState s = board.lookup(candidates.instanceId(i));
                allFresh &= s != null && signals(s, nowNanos) != null;
                isAdapter |= model != null && s != null && s.loadable.contains(model);
                maxW = Math.max(maxW, candidates.weight(i));
            }
            adapter = isAdapter;
            adapterOwners = isAdapter ? prefixes.owners(modelKey) : 0;
            engineSignals = allFresh;
            maxWeight = maxW;
            boolean anyOwner = false;
            for (int k = 0; k < hashes.length; k++) {
                owners[k] = prefixes.owners(hashes[k]);
                anyOwner |= owners[k] != 0;
            }
            // Nothing to score by: no engine signals, no prompt and no adapter this gateway saw before.
            return engineSignals || anyOwner || adapterOwners != 0;
        }

        @Override
        public double cost(Candidates candidates, int i, long nowNanos) {
            EngineState s = board.lookup(candidates.instanceId(i));
            int inFlight = candidates.inFlight(i);
            double load = inFlight;
            double waiting = 0;
            double kv = 0;
            boolean adapterLoaded = false;
            Signals sig = engineSignals && s != null ? signals(s, nowNanos) : null;
            if (sig != null) {
                if (sig.counted()) {
                    waiting = Math.max(0, inFlight - sig.running());
                } else {
                    int sent = inFlight - sig.inFlightAtScrape();
                    load = Math.max(inFlight, sig.running() + sig.waiting() + sent);
                    waiting = sig.waiting() > 0 ? Math.max(0, sig.waiting() + sent) : 0;
                    kv = sig.kvCacheUsage();
                }
                adapterLoaded = model != null && sig.adapters().contains(model);
            }
            // Sent there last: loaded by now, or loading (the engine's list lags a scrape behind).
            adapterLoaded |= adapter && s != null && s.slot != 0 && (adapterOwners & 0xFFFF) == s.slot;
            double relativeWeight = Math.max(1, candidates.weight(i)) / maxWeight;
            double cost = load / relativeWeight + weights.queue() * waiting + weights.kvCache() * kv;
            if (adapter && !adapterLoaded && sig != null && sig.adapterSlotsFull()) {
                // Every adapter slot is busy with others: it would wait for one to drain.
                cost += weights.adapter();
            }
            if (s != null && s.slot != 0 && hashes.length > 0) {
                for (int k = hashes.length - 1; k >= 0; k--) {
                    if (PrefixTable.owns(owners[k], s.slot)) {
                        cost -= weights.prefix() * (k + 1) / hashes.length;
                        break;
                    }
                }
            }
            if (adapterLoaded) {
                cost -= weights.adapter();
            }
            return cost;
        }

        @Override
        public void picked(Candidates candidates, int i) {
            if (hashes.length == 0 && !adapter) {
                return;
            }
            int slot = board.state(candidates.instanceId(i)).slot;
            for (long hash : hashes) {
                prefixes.put(hash, slot);
            }
            if (adapter) {
                prefixes.put(modelKey, slot);
            }
        }

        /** The prefix hashes (tests). */
        long[] hashes() {
            return hashes;
        }
    }

    /**
     * The instance's signals if fresh (scraped within {@code signal-max-age}), else those that hold
     * without a scrape (Ollama's parallelism, without its loaded models), else null.
     */
    private Signals signals(EngineState s, long nowNanos) {
        Signals sig = s.signals;
        return sig != null && sig.fresh(nowNanos, maxAgeNanos) ? sig : s.baseline;
    }
}
