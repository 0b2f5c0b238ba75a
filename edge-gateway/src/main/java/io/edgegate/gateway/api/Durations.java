package io.edgegate.gateway.api;

import io.edgegate.config.GoDuration;

/** Durations at the APIs' boundary: {@link GoDuration}'s grammar, refusals as 400s naming the field. */
public final class Durations {
    private Durations() {}

    /**
     * Parses to milliseconds ({@link GoDuration#parseMillis}).
     *
     * @throws ApiException 400 naming {@code field} when the text is not a duration or is negative
     */
    public static long parseMillis(String field, String text) {
        try {
            return GoDuration.parseMillis(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.bad(field, "duration", e.getMessage());
        }
    }

    /**
     * {@link #parseMillis(String, String)} of the field {@code path + "." + name}, named only when
     * refused: a registration's checks parse several durations each, and almost never fail.
     */
    static long parseMillis(String path, String name, String text) {
        try {
            return GoDuration.parseMillis(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.bad(path + "." + name, "duration", e.getMessage());
        }
    }
}
