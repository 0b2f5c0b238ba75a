package io.edgegate.config;

/**
 * The one duration grammar of both services, for configuration and every API: Go's, as Consul and
 * its clients write durations. A sequence of decimal numbers, each with a unit ({@code ns us µs ms
 * s m h}), such as {@code 10s}, {@code 1m30s}, {@code 120000ms}, {@code 1.5h}; {@code 0} alone is
 * zero; a leading {@code +} is allowed, a negative duration is not (no setting or query here can
 * use one). Stateless.
 */
public final class GoDuration {
    private GoDuration() {}

    /**
     * Parses to milliseconds, rounding sub-millisecond parts up so that a positive duration stays
     * positive.
     *
     * @throws IllegalArgumentException saying what is wrong with {@code text} (the caller names the
     *     field)
     */
    public static long parseMillis(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty duration, expected e.g. 10s, 1m30s, 500ms");
        }
        if (text.equals("0")) {
            return 0;
        }
        if (text.charAt(0) == '-') {
            throw new IllegalArgumentException("negative duration (value=" + shorten(text) + ")");
        }
        int i = text.charAt(0) == '+' ? 1 : 0;
        if (i == text.length()) {
            throw invalid(text);
        }
        double nanos = 0;
        while (i < text.length()) {
            int start = i;
            while (i < text.length() && (Character.isDigit(text.charAt(i)) || text.charAt(i) == '.')) {
                i++;
            }
            if (start == i) {
                throw invalid(text);
            }
            double number;
            try {
                number = Double.parseDouble(text.substring(start, i));
            } catch (NumberFormatException e) {
                throw invalid(text);
            }
            int unitStart = i;
            while (i < text.length() && !Character.isDigit(text.charAt(i)) && text.charAt(i) != '.') {
                i++;
            }
            double scale =
                    switch (text.substring(unitStart, i)) {
                        case "ns" -> 1;
                        case "us", "µs", "μs" -> 1e3;
                        case "ms" -> 1e6;
                        case "s" -> 1e9;
                        case "m" -> 60e9;
                        case "h" -> 3600e9;
                        default -> throw invalid(text);
                    };
            nanos += number * scale;
        }
        if (nanos > Long.MAX_VALUE / 2.0) {
            throw new IllegalArgumentException("duration too long (value=" + shorten(text) + ")");
        }
        return (long) Math.ceil(nanos / 1e6);
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "not a duration (value=" + shorten(text) + "), expected e.g. 10s, 1m30s, 500ms");
    }

    private static String shorten(String text) {
        return text.length() <= 64 ? text : text.substring(0, 64) + "...";
    }
}
