package io.edgegate.gateway.inference;

import io.edgegate.config.ConfigReader;
import java.util.ArrayList;
import java.util.List;

/**
 * How the gateway reads inference engines ({@code edgegate.inference.*}). Immutable; validated
 * once at start-up.
 *
 * @param enabled whether engines are scraped and the {@code score} balancer scores (off: it is
 *     least-request)
 * @param scrapeIntervalMillis time between two scrapes of one instance's signals
 * @param scrapeTimeoutMillis longest a scrape may take (connect, answer)
 * @param signalMaxAgeMillis signals older than this are stale: the scorer falls back
 * @param modelsIntervalMillis time between two reads of an engine's {@code /v1/models}
 * @param maxScrapeBytes largest answer read; a longer one is cut (its signals may be missing)
 */
public record InferenceOptions(
        boolean enabled,
        long scrapeIntervalMillis,
        long scrapeTimeoutMillis,
        long signalMaxAgeMillis,
        long modelsIntervalMillis,
        int maxScrapeBytes) {

    /** The defaults of {@code edgegate.yaml}. */
    public static final InferenceOptions DEFAULT = new InferenceOptions(true, 500, 1000, 2000, 15_000, 1 << 20);

    public InferenceOptions {
        List<String> problems = new ArrayList<>();
        range(problems, "scrape-interval", scrapeIntervalMillis, 10, 3_600_000, "ms");
        range(problems, "scrape-timeout", scrapeTimeoutMillis, 10, 60_000, "ms");
        range(problems, "signal-max-age", signalMaxAgeMillis, 10, 3_600_000, "ms");
        range(problems, "models-interval", modelsIntervalMillis, 100, 86_400_000, "ms");
        range(problems, "max-scrape-bytes", maxScrapeBytes, 1024, 16 << 20, "");
        if (problems.isEmpty() && signalMaxAgeMillis < scrapeIntervalMillis) {
            problems.add("edgegate.inference.signal-max-age=" + signalMaxAgeMillis + "ms (at least scrape-interval="
                    + scrapeIntervalMillis + "ms, else every signal is stale)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", problems));
        }
    }

    /**
     * Reads {@code edgegate.inference.*}; each problem is collected by {@code r}, naming the key and
     * its value. {@link #DEFAULT} after a problem (the start is refused then).
     */
    public static InferenceOptions from(ConfigReader r) {
        int problems = r.problems();
        boolean enabled = r.bool("inference.enabled");
        long interval = r.duration("inference.scrape-interval");
        long timeout = r.duration("inference.scrape-timeout");
        long maxAge = r.duration("inference.signal-max-age");
        long models = r.duration("inference.models-interval");
        int maxBytes = r.positive("inference.max-scrape-bytes");
        if (r.problems() > problems) {
            return DEFAULT;
        }
        InferenceOptions options =
                r.section("", () -> new InferenceOptions(enabled, interval, timeout, maxAge, models, maxBytes));
        return options == null ? DEFAULT : options;
    }

    private static void range(List<String> problems, String key, long value, long min, long max, String unit) {
        if (value < min || value > max) {
            problems.add("edgegate.inference." + key + "=" + value + unit + " (" + min + unit + "-" + max + unit + ")");
        }
    }
}
