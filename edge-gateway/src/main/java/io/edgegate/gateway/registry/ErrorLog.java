package io.edgegate.gateway.registry;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Where background agents hand their errors: counts them by kind, logs the first of each kind with
 * its stack trace and then only at powers of two, so a failing disk or a dead backend does not
 * write the same trace a thousand times a second. Thread-safe.
 */
public final class ErrorLog {
    private static final Logger LOGGER = Logger.getLogger(ErrorLog.class.getName());
    private static final int MAX_DISTINCT = 1_024;

    private final ConcurrentHashMap<String, AtomicLong> counts = new ConcurrentHashMap<>();
    private final AtomicLong total = new AtomicLong();

    public void record(Throwable error) {
        total.incrementAndGet();
        String key = key(error);
        AtomicLong count = counts.get(key);
        if (count == null) {
            if (counts.size() >= MAX_DISTINCT) {
                key = "(other)";
            }
            count = counts.computeIfAbsent(key, k -> new AtomicLong());
        }
        long seen = count.incrementAndGet();
        if (seen == 1) {
            LOGGER.log(Level.WARNING, key, error);
        } else if (Long.bitCount(seen) == 1) {
            LOGGER.warning(key + " (seen " + seen + " times)");
        }
    }

    /** Errors recorded since start. */
    public long total() {
        return total.get();
    }

    /** Count of each distinct error, by class and message. */
    public Map<String, Long> distinct() {
        Map<String, Long> copy = new TreeMap<>();
        counts.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    private static String key(Throwable error) {
        String message = String.valueOf(error.getMessage());
        if (message.length() > 200) {
            message = message.substring(0, 200);
        }
        return error.getClass().getName() + ": " + message;
    }
}
