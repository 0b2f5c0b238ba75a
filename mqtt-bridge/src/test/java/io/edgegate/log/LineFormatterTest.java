package io.edgegate.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** Both log formats carry the same fields. */
class LineFormatterTest {
    private static final Map<String, String> PROCESS = Map.of("node", "n1");

    private static LogRecord record(Level level, String message, Object... parameters) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("io.edgegate.gateway.health.HealthChecker");
        r.setInstant(Instant.ofEpochMilli(1_765_000_000_123L));
        r.setParameters(parameters);
        return r;
    }

    @Test
    void textLineHasTimeLevelLoggerMessageAndFields() {
        String line = new LineFormatter(LineFormatter.Style.TEXT, PROCESS)
                .format(record(
                        Level.WARNING, "check went critical", LogFields.of("service", "llm", "instance", "llm 1")));
        assertEquals(
                "2025-12-06T05:46:40.123Z WARNING io.edgegate.gateway.health.HealthChecker: check went critical"
                        + " node=n1 service=llm instance=\"llm 1\"" + System.lineSeparator(),
                line);
    }

    @Test
    void jsonLineHasTheSameFieldsAndTheStackTrace() throws Exception {
        LogRecord r = record(Level.SEVERE, "probe failed", LogFields.of("route", "r1"));
        r.setThrown(new IllegalStateException("boom"));
        String line = new LineFormatter(LineFormatter.Style.JSON, PROCESS).format(r);
        assertTrue(line.endsWith(System.lineSeparator()) && line.indexOf('\n') == line.length() - 1, "one line");
        JsonNode json = new ObjectMapper().readTree(line);
        assertEquals("2025-12-06T05:46:40.123Z", json.get("time").asText());
        assertEquals("SEVERE", json.get("level").asText());
        assertEquals("probe failed", json.get("message").asText());
        assertEquals("n1", json.get("node").asText());
        assertEquals("r1", json.get("route").asText());
        assertTrue(json.get("error").asText().startsWith("java.lang.IllegalStateException: boom"));
    }

    @Test
    void badSettingsAreNamed() {
        assertThrows(IllegalArgumentException.class, () -> LogOptions.parse("xml", "INFO"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> LogOptions.parse("json", "LOUD"));
        assertTrue(e.getMessage().startsWith("log.level=LOUD"), e.getMessage());
    }
}
