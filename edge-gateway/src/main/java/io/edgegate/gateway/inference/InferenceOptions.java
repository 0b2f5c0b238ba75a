package io.edgegate.gateway.inference;

import io.edgegate.config.GoDuration;
import io.helidon.config.Config;
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
     * Reads {@code edgegate.inference}.
     *
     * @throws IllegalArgumentException naming every bad key and its value
     */
    public static InferenceOptions from(Config inference) {
        List<String> problems = new ArrayList<>();
        String enabledText = text(inference, "enabled", "true").trim();
        if (!enabledText.equals("true") && !enabledText.equals("false")) {
            problems.add("edgegate.inference.enabled=" + enabledText + " (true or false)");
        }
        long interval = millis(problems, inference, "scrape-interval", DEFAULT.scrapeIntervalMillis);
        long timeout = millis(problems, inference, "scrape-timeout", DEFAULT.scrapeTimeoutMillis);
        long maxAge = millis(problems, inference, "signal-max-age", DEFAULT.signalMaxAgeMillis);
        long models = millis(problems, inference, "models-interval", DEFAULT.modelsIntervalMillis);
        int maxBytes = DEFAULT.maxScrapeBytes;
        String bytesText =
                text(inference, "max-scrape-bytes", String.valueOf(maxBytes)).trim();
        try {
            maxBytes = Integer.parseInt(bytesText);
        } catch (NumberFormatException e) {
            problems.add("edgegate.inference.max-scrape-bytes=" + bytesText + " (not an integer)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join(", ", problems));
        }
        return new InferenceOptions(Boolean.parseBoolean(enabledText), interval, timeout, maxAge, models, maxBytes);
    }

    private static String text(Config node, String key, String fallback) {
        return node.get(key).asString().orElse(fallback);
    }

    private static long millis(List<String> problems, Config node, String key, long fallback) {
        String text = text(node, key, "").trim();
        if (text.isEmpty()) {
            return fallback;
        }
        try {
            return GoDuration.parseMillis(text);
        } catch (IllegalArgumentException e) {
            problems.add("edgegate.inference." + key + "=" + text + " (not a duration such as 500ms, 2s)");
            return fallback;
        }
    }

    private static void range(List<String> problems, String key, long value, long min, long max, String unit) {
        if (value < min || value > max) {
            problems.add("edgegate.inference." + key + "=" + value + unit + " (" + min + unit + "-" + max + unit + ")");
        }
    }
}
