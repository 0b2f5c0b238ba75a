package io.edgegate.gateway.api;

import io.edgegate.config.GoDuration;

/** Durations at the APIs' boundary: {@link GoDuration}'s grammar, refusals as 400s naming the field. Stateless. */
public final class Durations {
    /** Most digits of a duration {@link #wholeMillis} reads; see there why its result is exact. */
    private static final int MAX_WHOLE_DIGITS = 6;

    private Durations() {}

    /**
     * Parses to milliseconds ({@link GoDuration#parseMillis}).
     *
     * @throws ApiException 400 naming {@code field} when the text is not a duration or is negative
     */
    public static long parseMillis(String field, String text) {
        return parseMillis(field, null, text);
    }

    /**
     * {@link #parseMillis(String, String)} of the field {@code path + "." + name} ({@code path}
     * when {@code name} is null), named only when refused: a registration's checks parse several
     * durations each, and almost never fail.
     */
    static long parseMillis(String path, String name, String text) {
        long millis = wholeMillis(text);
        if (millis >= 0) {
            return millis;
        }
        try {
            return GoDuration.parseMillis(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.bad(name == null ? path : path + "." + name, "duration", e.getMessage());
        }
    }

    /**
     * The spelling registrations nearly always use, a whole number of at most six digits and one
     * unit of {@code ms}, {@code s}, {@code m} or {@code h} ({@code 10s}, {@code 500ms}), in
     * milliseconds without substrings or floating point; -1 for any other text, left to
     * {@link GoDuration}. The result is {@link GoDuration#parseMillis}'s: below 10^6 of any of
     * these units, the number, its product with the unit in nanoseconds ({@code n * c * 10^9} is
     * {@code n * c * 5^9 * 2^9}, and {@code n * c * 5^9 < 2^53}) and the quotient by 10^6 are all
     * integers a double holds exactly, so its arithmetic rounds nothing.
     */
    static long wholeMillis(String text) {
        if (text == null) {
            return -1;
        }
        int digits = 0;
        long number = 0;
        while (digits < text.length() && digits <= MAX_WHOLE_DIGITS) {
            char c = text.charAt(digits);
            if (c < '0' || c > '9') {
                break;
            }
            number = number * 10 + (c - '0');
            digits++;
        }
        if (digits == 0 || digits > MAX_WHOLE_DIGITS) {
            return -1;
        }
        int unit = text.length() - digits;
        if (unit == 1) {
            return switch (text.charAt(digits)) {
                case 's' -> number * 1_000;
                case 'm' -> number * 60_000;
                case 'h' -> number * 3_600_000;
                default -> -1;
            };
        }
        return unit == 2 && text.charAt(digits) == 'm' && text.charAt(digits + 1) == 's' ? number : -1;
    }
}
