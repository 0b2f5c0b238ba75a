package io.edgegate.bridge.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.log.LineFormatter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The lines one logger writes, formatted as the services write them in JSON
 * ({@link LineFormatter}, {@code log.format: json}) and parsed back: tests check the fields a
 * line carries. Closing detaches it.
 */
public final class JsonLogCapture implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Logger logger;
    private final Level levelBefore;
    private final List<JsonNode> lines = new CopyOnWriteArrayList<>();
    private final Handler handler;

    private JsonLogCapture(String loggerName, Map<String, String> processFields) {
        this.logger = Logger.getLogger(loggerName);
        this.levelBefore = logger.getLevel();
        LineFormatter formatter = new LineFormatter(LineFormatter.Style.JSON, processFields);
        this.handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                String line = formatter.format(record);
                try {
                    lines.add(JSON.readTree(line));
                } catch (IOException e) {
                    throw new UncheckedIOException("not one JSON object: " + line, e);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        handler.setLevel(Level.ALL);
        logger.addHandler(handler);
        if (levelBefore == null || levelBefore.intValue() > Level.INFO.intValue()) {
            logger.setLevel(Level.INFO);
        }
    }

    /** Captures what the logger named {@code loggerName} (and its children) writes from now on. */
    public static JsonLogCapture of(String loggerName, Map<String, String> processFields) {
        return new JsonLogCapture(loggerName, processFields);
    }

    public List<JsonNode> lines() {
        return List.copyOf(lines);
    }

    /** The first line whose message contains {@code text}, waiting up to 20 s for it. */
    public JsonNode await(String text) throws InterruptedException {
        return await(text, line -> true);
    }

    /** The first line whose message contains {@code text} and that {@code also} accepts, waiting up to 20 s. */
    public JsonNode await(String text, Predicate<JsonNode> also) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            for (JsonNode line : lines) {
                if (line.path("message").asText().contains(text) && also.test(line)) {
                    return line;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no log line containing \"" + text + "\" within 20 s; lines: " + lines);
            }
            Thread.sleep(20);
        }
    }

    /** Lines whose message contains {@code text}. */
    public long count(String text) {
        return lines.stream()
                .filter(l -> l.path("message").asText().contains(text))
                .count();
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
        logger.setLevel(levelBefore);
    }
}
