package io.edgegate.log;

import java.util.logging.Level;

/**
 * A service's logging settings ({@code log.format}, {@code log.level}). Immutable.
 *
 * @param style text or JSON lines
 * @param level the least severe level written
 */
public record LogOptions(LineFormatter.Style style, Level level) {
    /**
     * Parses the two settings.
     *
     * @throws IllegalArgumentException naming the bad key and value
     */
    public static LogOptions parse(String format, String level) {
        return new LogOptions(Logs.style(format), Logs.level(level));
    }
}
