package io.edgegate.log;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * The logging of both services: one line per record on standard error, in the format and at the
 * level of their configuration ({@code log.format}, {@code log.level}), with the process's fields
 * (its node and site) on every line. Called once by each service's {@code main}, before anything
 * logs.
 */
public final class Logs {
    /**
     * The loggers whose levels {@link #configure} sets. The JDK holds a logger only weakly: one that
     * nobody else holds yet may be collected, and the logger made again when its class asks for it
     * has no level of its own. So a collection between {@code configure} and the web server's start
     * would let every Helidon record through at the root's level and drop its start-up line.
     */
    private static volatile List<Logger> held = List.of();

    private Logs() {}

    /**
     * Replaces the JDK's logging configuration.
     *
     * @param options the format and level
     * @param processFields the fields of every line (for example {@code node} and {@code site})
     */
    public static void configure(LogOptions options, Map<String, String> processFields) {
        LineFormatter.Style style = options.style();
        Level root = options.level();
        // The web server would otherwise configure the JDK's logging again from its own defaults
        // when it starts (io.helidon.logging.jul.JulProvider), replacing this one.
        System.setProperty("io.helidon.logging.config.disabled", "true");
        LogManager.getLogManager().reset();
        Handler handler = new ConsoleHandler();
        handler.setLevel(Level.ALL);
        handler.setFormatter(new LineFormatter(style, processFields));
        Logger logger = Logger.getLogger("");
        logger.setLevel(root);
        logger.addHandler(handler);
        // The web server's own records are for its developers, but for its start-up line.
        Logger helidon = Logger.getLogger("io.helidon");
        helidon.setLevel(root.intValue() > Level.WARNING.intValue() ? root : Level.WARNING);
        Logger server = Logger.getLogger("io.helidon.webserver.LoomServer");
        server.setLevel(root);
        held = List.of(helidon, server);
    }

    /** Fields in the order given (name, value, name, value, ...), for {@link #configure}. */
    public static Map<String, String> fields(String... namesAndValues) {
        return LogFields.of(namesAndValues).asMap();
    }

    /** Parses {@code text} or {@code json}. */
    public static LineFormatter.Style style(String format) {
        return switch (format == null ? "" : format.trim().toLowerCase(Locale.ROOT)) {
            case "text" -> LineFormatter.Style.TEXT;
            case "json" -> LineFormatter.Style.JSON;
            default -> throw new IllegalArgumentException("log.format=" + format + " (text or json)");
        };
    }

    /** Parses a level name. */
    public static Level level(String level) {
        try {
            return Level.parse(level == null ? "" : level.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "log.level=" + level + " (SEVERE, WARNING, INFO, CONFIG, FINE, FINER, FINEST, ALL or OFF)");
        }
    }
}
