package io.edgegate.config;

import io.helidon.config.Config;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Reads typed values from a service's loaded configuration ({@link ConfigLoader#reader}), keys
 * relative to its root ({@code port}, {@code mqtt.url}). A bad value is not thrown at once: its
 * problem ({@code root.key=value (why)}) is collected, a harmless stand-in is returned, and
 * {@link #done()} reports every problem in one message, so an operator fixes all of them in one
 * round. Not thread-safe: used by the thread that loads the configuration, once.
 */
public final class ConfigReader {
    private final String root;
    private final Config config;
    private final Function<String, RuntimeException> failure;
    private final List<String> problems = new ArrayList<>();

    ConfigReader(String root, Config config, Function<String, RuntimeException> failure) {
        this.root = root;
        this.config = config;
        this.failure = failure;
    }

    /** The full name of a key: {@code root.key}. */
    public String key(String key) {
        return root + "." + key;
    }

    /** The value as given, trimmed; empty when unset. */
    public String text(String key) {
        return config.get(key).asString().orElse("").trim();
    }

    /** The configuration node under {@code key}, for a section with a schema of its own (routes). */
    public Config node(String key) {
        return config.get(key);
    }

    /** A file path; null when empty. */
    public Path path(String key) {
        String text = text(key);
        if (text.isEmpty()) {
            return null;
        }
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            problem(key, "not a path: " + e.getReason());
            return null;
        }
    }

    /** A listener port, 0 picking a free one. */
    public int port(String key) {
        return integer(key, 0, 65_535, "0-65535, 0 picks a free port");
    }

    /** A positive {@code int}. */
    public int positive(String key) {
        return integer(key, 1, Integer.MAX_VALUE, "must be a positive integer");
    }

    /** An {@code int} from {@code min} to {@code max}. */
    public int integer(String key, int min, int max) {
        return integer(key, min, max, min + "-" + max);
    }

    private int integer(String key, int min, int max, String range) {
        String text = text(key);
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            problem(key, "not an integer");
            return Math.max(min, 1);
        }
        if (value < min || value > max) {
            problem(key, range);
            return Math.max(min, 1);
        }
        return (int) value;
    }

    /** A positive duration ({@link GoDuration}'s grammar) in milliseconds. */
    public long duration(String key) {
        try {
            long millis = GoDuration.parseMillis(text(key));
            if (millis > 0) {
                return millis;
            }
            problem(key, "must be positive");
        } catch (IllegalArgumentException e) {
            problem(key, e.getMessage());
        }
        return 1;
    }

    /** A duration in milliseconds; {@code 0} allowed (for none). */
    public long durationOrZero(String key) {
        try {
            return GoDuration.parseMillis(text(key));
        } catch (IllegalArgumentException e) {
            problem(key, e.getMessage());
            return 0;
        }
    }

    /** {@code true} or {@code false}. */
    public boolean bool(String key) {
        String text = text(key);
        if (!text.equals("true") && !text.equals("false")) {
            problem(key, "true or false");
        }
        return text.equals("true");
    }

    /** One of {@code allowed}; the first when the value is none of them. */
    public String oneOf(String key, String... allowed) {
        String text = text(key);
        if (!List.of(allowed).contains(text)) {
            problem(key, String.join(" or ", allowed));
            return allowed[0];
        }
        return text;
    }

    /**
     * The value made by {@code parser}, whose {@link IllegalArgumentException} says what is wrong
     * with it; null after such a problem.
     */
    public <T> T parse(String key, Function<String, T> parser) {
        try {
            return parser.apply(text(key));
        } catch (IllegalArgumentException e) {
            problem(key, e.getMessage());
            return null;
        }
    }

    /**
     * A section made from several keys by {@code maker}, whose {@link IllegalArgumentException}
     * names its keys and values itself; its message is collected after {@code context}. Null after
     * such a problem.
     */
    public <T> T section(String context, Supplier<T> maker) {
        try {
            return maker.get();
        } catch (IllegalArgumentException e) {
            problems.add(context + e.getMessage());
            return null;
        }
    }

    /** Collects a problem with the key's value: {@code root.key=value (why)}. */
    public void problem(String key, String why) {
        problems.add(key(key) + "=" + text(key) + " (" + why + ")");
    }

    /** Collects a problem in words of its own (naming the keys and values). */
    public void problem(String message) {
        problems.add(message);
    }

    /** How many problems were collected so far (a section built from values read with none new is sound). */
    public int problems() {
        return problems.size();
    }

    /**
     * Ends the reading.
     *
     * @throws RuntimeException the service's own configuration exception, naming every problem
     */
    public void done() {
        if (!problems.isEmpty()) {
            throw failure.apply("invalid configuration: " + String.join(", ", problems));
        }
    }
}
