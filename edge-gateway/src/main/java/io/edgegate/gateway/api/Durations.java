package io.edgegate.gateway.api;

/**
 * Go duration strings as Consul and its clients write them: a sequence of decimal numbers, each
 * with a unit ({@code ns us µs ms s m h}), such as {@code 10s}, {@code 1m30s}, {@code 120000ms},
 * {@code 1.5h}; {@code 0} alone is zero. Stateless.
 */
public final class Durations {
    private Durations() {}

    /**
     * Parses to milliseconds, rounding sub-millisecond parts up so a positive duration stays
     * positive.
     *
     * @throws ApiException 400 naming {@code field} when the text is not a duration or is negative
     */
    public static long parseMillis(String field, String text) {
        if (text == null || text.isEmpty()) {
            throw ApiException.bad(field, "duration", "empty duration, expected e.g. 10s, 1m30s, 500ms");
        }
        if (text.equals("0")) {
            return 0;
        }
        if (text.charAt(0) == '-') {
            throw ApiException.bad(field, "non-negative", "negative duration (value=" + text + ")");
        }
        int i = text.charAt(0) == '+' ? 1 : 0;
        if (i == text.length()) {
            throw invalid(field, text);
        }
        double nanos = 0;
        while (i < text.length()) {
            int start = i;
            while (i < text.length() && (Character.isDigit(text.charAt(i)) || text.charAt(i) == '.')) {
                i++;
            }
            if (start == i) {
                throw invalid(field, text);
            }
            double number;
            try {
                number = Double.parseDouble(text.substring(start, i));
            } catch (NumberFormatException e) {
                throw invalid(field, text);
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
                        default -> throw invalid(field, text);
                    };
            nanos += number * scale;
        }
        if (nanos > Long.MAX_VALUE / 2.0) {
            throw ApiException.bad(field, "duration", "duration too long (value=" + text + ")");
        }
        return (long) Math.ceil(nanos / 1e6);
    }

    private static ApiException invalid(String field, String text) {
        return ApiException.bad(
                field, "duration", "not a duration (value=" + text + "), expected e.g. 10s, 1m30s, 500ms");
    }
}
