package io.edgegate.gateway.inference;

import io.edgegate.gateway.health.HealthChecker;
import io.edgegate.gateway.health.Probers;
import io.edgegate.gateway.proxy.InstanceScorer;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Registry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

/**
 * Inference-aware routing, as the gateway wires it: the {@link SignalBoard} of engine signals, the
 * {@link PrefixTable}, the scorer the proxy's {@code score} balancer calls, and the
 * {@link EngineScraper} that keeps them fresh. Made before the proxy (which takes the
 * {@link #scorer}), started after it (the scraper reads the proxy's requests in flight).
 * Thread-safe.
 */
public final class InferenceRouting implements AutoCloseable {
    /** Instances listed one by one in {@link #status}; past this, counts only. */
    static final int MAX_LISTED = 100;

    private final InferenceOptions options;
    private final SignalBoard board = new SignalBoard();
    private final PrefixTable prefixes = new PrefixTable();
    private final InferenceScorer scorer;
    private volatile EngineScraper scraper;

    public InferenceRouting(InferenceOptions options) {
        this.options = options;
        this.scorer = options.enabled()
                ? new InferenceScorer(board, prefixes, TimeUnit.MILLISECONDS.toNanos(options.signalMaxAgeMillis()))
                : null;
    }

    /** The scorer for the proxy, or null when inference routing is off (the proxy then uses least-request). */
    public InstanceScorer scorer() {
        return scorer;
    }

    /**
     * Starts scraping (nothing when off).
     *
     * @param inFlight the proxy's requests in flight to an instance, by id
     */
    public InferenceRouting start(
            Registry registry,
            Probers probers,
            HealthChecker checker,
            ToIntFunction<String> inFlight,
            ErrorLog errors) {
        if (options.enabled() && scraper == null) {
            scraper = new EngineScraper(registry, probers, checker, board, options, inFlight, errors).start();
        }
        return this;
    }

    /**
     * The status section {@code inference}: counters since start, and each instance's signals as
     * last read (engine, running, waiting, KV-cache use, loaded adapters, age), at most
     * {@value #MAX_LISTED} of them.
     */
    public Map<String, Object> status() {
        Map<String, Object> out = new LinkedHashMap<>();
        EngineScraper s = scraper;
        out.put("enabled", options.enabled());
        out.put("instances", board.size());
        out.put("scrapes", s == null ? 0 : s.scraped.sum());
        out.put("scrape-failures", s == null ? 0 : s.failed.sum());
        out.put("scrapes-refused", s == null ? 0 : s.refused.sum());
        out.put("models-written", s == null ? 0 : s.annotated.sum());
        Map<String, Object> signals = new TreeMap<>();
        long now = System.nanoTime();
        for (EngineState state : board.all()) {
            if (signals.size() >= MAX_LISTED) {
                break;
            }
            Signals sig = state.signals;
            Map<String, Object> one = new LinkedHashMap<>();
            if (sig != null) {
                one.put(
                        "engine",
                        sig.engine() == null ? "unknown" : sig.engine().wireName());
                one.put("running", sig.running());
                one.put("waiting", sig.waiting());
                one.put("kv-cache", sig.kvCacheUsage());
                one.put("adapters", new java.util.TreeSet<>(sig.adapters()));
                one.put("age-ms", TimeUnit.NANOSECONDS.toMillis(now - sig.atNanos()));
                one.put("fresh", sig.fresh(now, TimeUnit.MILLISECONDS.toNanos(options.signalMaxAgeMillis())));
            }
            String error = state.lastError;
            if (error != null) {
                one.put("error", error);
            }
            if (!one.isEmpty()) {
                signals.put(state.instanceId, one);
            }
        }
        out.put("signals", signals);
        return out;
    }

    @Override
    public void close() {
        EngineScraper s = scraper;
        if (s != null) {
            s.close();
        }
    }
}
