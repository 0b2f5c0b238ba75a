package io.edgegate.log;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named values a log record is about ({@code service}, {@code instance}, {@code route}, ...),
 * passed as the record's parameter so that both log formats show them as fields rather than
 * buried in the message:
 *
 * <pre>{@code LOGGER.log(Level.WARNING, "check went critical", LogFields.of("service", s, "instance", id));}</pre>
 *
 * Immutable.
 */
public final class LogFields {
    private final Map<String, String> fields;

    private LogFields(Map<String, String> fields) {
        this.fields = Collections.unmodifiableMap(fields);
    }

    /** Fields from name, value pairs; a null value is left out. */
    public static LogFields of(String... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("fields come in name, value pairs: " + namesAndValues.length);
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            if (namesAndValues[i + 1] != null) {
                map.put(namesAndValues[i], namesAndValues[i + 1]);
            }
        }
        return new LogFields(map);
    }

    public Map<String, String> asMap() {
        return fields;
    }

    @Override
    public String toString() {
        return fields.toString();
    }
}
