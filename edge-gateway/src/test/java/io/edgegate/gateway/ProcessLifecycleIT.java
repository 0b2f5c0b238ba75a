package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged gateway as an operator runs it: its log lines, and a stop that is not a crash. */
class ProcessLifecycleIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    @Test
    void sigtermIsLoggedAndEndsWithExitCodeZero() throws Exception {
        GatewayProcess gateway = GatewayProcess.start(dataDir, Map.of());
        int code = gateway.terminate();
        List<String> lines = gateway.output();
        assertEquals(0, code, "a stop asked for is not a failure: " + lines);
        assertTrue(lines.stream().anyMatch(l -> l.contains("Edgegate stopping (SIGTERM)")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.matches(".*Edgegate stopped in \\d+ ms.*")), lines.toString());
    }

    @Test
    void jsonLogLinesCarryTheSameFieldsAsText() throws Exception {
        GatewayProcess gateway = GatewayProcess.start(
                dataDir, Map.of("EDGEGATE_LOG_FORMAT", "json", "EDGEGATE_NODE", "n-7", "EDGEGATE_SITE", "plant-x"));
        gateway.terminate();
        int parsed = 0;
        for (String line : gateway.output()) {
            if (!line.startsWith("{")) {
                continue; // the JVM's own warnings before logging starts
            }
            JsonNode record = JSON.readTree(line);
            for (String field : List.of("time", "level", "logger", "message")) {
                assertTrue(record.hasNonNull(field), field + " in " + line);
            }
            assertEquals("n-7", record.get("node").asText(), line);
            assertEquals("plant-x", record.get("site").asText(), line);
            parsed++;
        }
        assertTrue(parsed >= 3, "start, stopping, stopped at least: " + gateway.output());
    }
}
