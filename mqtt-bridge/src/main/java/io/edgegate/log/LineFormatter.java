package io.edgegate.log;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One line per record, the same fields in both services: time (UTC, milliseconds), level, logger,
 * message, the process's own fields ({@code node}, {@code site}) and the record's
 * {@link LogFields} ({@code service}, {@code instance}, {@code route}, ...), then the stack trace
 * of a thrown exception.
 *
 * <ul>
 *   <li>{@link Style#TEXT}: {@code 2026-12-02T10:15:30.123Z WARNING io.edgegate.x: message
 *       node=n1 site=plant-a service=llm}; values with spaces are quoted; the stack trace follows
 *       on its own lines.
 *   <li>{@link Style#JSON}: one JSON object per line ({@code time}, {@code level}, {@code logger},
 *       {@code message}, the fields, {@code error} with the stack trace), for log collectors.
 * </ul>
 *
 * Thread-safe.
 */
public final class LineFormatter extends Formatter {
    /** The two formats. */
    public enum Style {
        TEXT,
        JSON
    }

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final JsonFactory JSON = new JsonFactory();

    private final Style style;
    private final Map<String, String> processFields;

    public LineFormatter(Style style, Map<String, String> processFields) {
        this.style = style;
        this.processFields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(processFields));
    }

    @Override
    public String format(LogRecord record) {
        Map<String, String> fields = new LinkedHashMap<>(processFields);
        Object[] parameters = record.getParameters();
        if (parameters != null) {
            for (Object p : parameters) {
                if (p instanceof LogFields f) {
                    fields.putAll(f.asMap());
                }
            }
        }
        String message = record.getMessage();
        if (message != null && parameters != null && message.indexOf('{') >= 0) {
            message = formatMessage(record);
        }
        String time = TIME.format(Instant.ofEpochMilli(record.getMillis()));
        String error = record.getThrown() == null ? null : stackTrace(record.getThrown());
        return style == Style.JSON
                ? json(time, record, message, fields, error)
                : text(time, record, message, fields, error);
    }

    private static String text(
            String time, LogRecord record, String message, Map<String, String> fields, String error) {
        StringBuilder out = new StringBuilder(128)
                .append(time)
                .append(' ')
                .append(record.getLevel().getName())
                .append(' ')
                .append(record.getLoggerName())
                .append(": ")
                .append(message == null ? "" : message);
        fields.forEach((name, value) -> {
            out.append(' ').append(name).append('=');
            if (value.isEmpty() || value.indexOf(' ') >= 0 || value.indexOf('"') >= 0) {
                out.append('"')
                        .append(value.replace("\\", "\\\\").replace("\"", "\\\""))
                        .append('"');
            } else {
                out.append(value);
            }
        });
        out.append(System.lineSeparator());
        if (error != null) {
            out.append(error);
        }
        return out.toString();
    }

    private static String json(
            String time, LogRecord record, String message, Map<String, String> fields, String error) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", time);
            g.writeStringField("level", record.getLevel().getName());
            g.writeStringField("logger", record.getLoggerName());
            g.writeStringField("message", message == null ? "" : message);
            for (Map.Entry<String, String> f : fields.entrySet()) {
                g.writeStringField(f.getKey(), f.getValue());
            }
            if (error != null) {
                g.writeStringField("error", error);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.append(System.lineSeparator()).toString();
    }

    private static String stackTrace(Throwable thrown) {
        StringWriter trace = new StringWriter();
        try (PrintWriter w = new PrintWriter(trace)) {
            thrown.printStackTrace(w);
        }
        return trace.toString();
    }
}
