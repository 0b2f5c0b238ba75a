package io.edgegate.log;

import io.edgegate.config.ConfigReader;
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

    /** Reads {@code log.format} and {@code log.level}; null after a problem, collected by {@code r}. */
    public static LogOptions read(ConfigReader r) {
        return r.section(r.key(""), () -> parse(r.text("log.format"), r.text("log.level")));
    }
}
