package io.edgegate.cloud;

/** Durations as Consul and the config write them: {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}. */
final class Durations {
    private Durations() {}

    /** Milliseconds, or -1 when {@code text} is not a duration. A bare number is seconds. */
    static long parseMillis(String text) {
        if (text == null || text.isEmpty()) {
            return -1;
        }
        String t = text.trim();
        long unit;
        String digits;
        if (t.endsWith("ms")) {
            unit = 1;
            digits = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) {
            unit = 1_000;
            digits = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            unit = 60_000;
            digits = t.substring(0, t.length() - 1);
        } else if (t.endsWith("h")) {
            unit = 3_600_000;
            digits = t.substring(0, t.length() - 1);
        } else {
            unit = 1_000;
            digits = t;
        }
        try {
            long n = Long.parseLong(digits);
            return n < 0 || n > Long.MAX_VALUE / unit ? -1 : n * unit;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
