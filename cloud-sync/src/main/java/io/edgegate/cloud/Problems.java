package io.edgegate.cloud;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Messages the fleet could not apply, counted by reason and logged: the first of each reason with
 * its detail (and stack trace, if any), then at powers of two, so a node that sends garbage a
 * thousand times a second writes a handful of lines, not a thousand. At most {@value #MAX_REASONS}
 * reasons are told apart; further ones count as {@code (other)}. Thread-safe.
 */
final class Problems {
    private static final Logger LOGGER = Logger.getLogger("io.edgegate.cloud.fleet");
    private static final int MAX_REASONS = 256;

    private final String what;
    private final ConcurrentHashMap<String, AtomicLong> counts = new ConcurrentHashMap<>();

    /** @param what the log line's subject, e.g. {@code "message rejected"} */
    Problems(String what) {
        this.what = what;
    }

    void record(String reason, String detail, Throwable error) {
        AtomicLong count = counts.get(reason);
        if (count == null) {
            count = counts.computeIfAbsent(counts.size() >= MAX_REASONS ? "(other)" : reason, k -> new AtomicLong());
        }
        long seen = count.incrementAndGet();
        if (seen == 1 || Long.bitCount(seen) == 1) {
            String line = what + ": reason=" + reason + (seen > 1 ? " (seen " + seen + " times)" : "") + ", " + detail;
            LOGGER.log(Level.WARNING, line, seen == 1 ? error : null);
        }
    }

    /** Counts by reason. */
    Map<String, Long> counts() {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    long total() {
        long n = 0;
        for (AtomicLong a : counts.values()) {
            n += a.get();
        }
        return n;
    }
}
