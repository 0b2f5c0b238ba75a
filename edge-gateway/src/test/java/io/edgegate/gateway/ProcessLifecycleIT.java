package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged gateway as an operator runs it: its log lines, a stop that is not a crash, and a
 * data directory it may not write. Run as root, the gateway of the data directory tests runs as
 * uid 65532 (the image's user, through util-linux's {@code setpriv}), so that the directory's
 * permissions bind it; run as another user, it runs as that user on a directory without write
 * permission.
 */
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

    @Test
    void anUnwritableDataDirectoryStopsTheStartSayingWhoOwnsItAndWhatToDo() throws Exception {
        Path data = Files.createDirectory(dataDir.resolve("data"));
        if (root()) {
            Files.setPosixFilePermissions(
                    data, PosixFilePermissions.fromString("rwxr-xr-x")); // root's, as a bind mount
        } else {
            Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("r-xr-xr-x"));
        }
        GatewayProcess.Exit exit = GatewayProcess.runUntilExit(data, Map.of(), asImageUser());
        String message = failure(exit);
        assertTrue(
                message.startsWith(
                        "edgegate: data-dir is not writable: dir=" + data + " (owner " + owner(data) + ", mode "
                                + (root() ? "drwxr-xr-x" : "dr-xr-xr-x") + "), gateway runs as uid "
                                + user().replace(":", " gid ") + ", cause="),
                message);
        assertTrue(message.contains("AccessDeniedException"), message);
        assertTrue(message.contains("chown -R " + user() + " " + data), message);
        assertTrue(message.contains("-v HOST_DIR:" + data + ":U"), message);
        assertEquals(List.of(), names(data), "nothing written");
    }

    @Test
    void filesAnotherUserLeftInTheDataDirectoryStopTheStartNamingThem() throws Exception {
        Path data = Files.createDirectory(dataDir.resolve("data"));
        Path log = Files.writeString(data.resolve("journal-0000000000000001.log"), "");
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("r--r--r--"));
        if (root()) { // the directory is the gateway's, the file root's, as after a first start as root
            Files.setAttribute(data, "unix:uid", 65532);
            Files.setAttribute(data, "unix:gid", 65532);
        }
        GatewayProcess.Exit exit = GatewayProcess.runUntilExit(data, Map.of(), asImageUser());
        String message = failure(exit);
        assertTrue(
                message.startsWith("edgegate: data-dir holds files the gateway cannot write: dir=" + data
                        + ", files=[journal-0000000000000001.log (owner " + owner(log) + ", mode -r--r--r--)]"),
                message);
        assertTrue(message.contains("chown -R " + user() + " " + data), message);
    }

    @Test
    void aPortInUseStopsTheStartNamingTheListenerAndExitsWithTwo() throws Exception {
        try (java.net.ServerSocket taken =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            GatewayProcess.Exit exit =
                    GatewayProcess.runUntilExit(dataDir, Map.of("EDGEGATE_PORT", String.valueOf(port)), List.of());
            assertEquals(2, exit.code(), "a start that cannot listen exits with 2: " + exit.output());
            assertTrue(
                    exit.output().stream()
                            .anyMatch(l -> l.startsWith("edgegate: cannot listen: api listener on 127.0.0.1:" + port
                                    + " (edgegate.port=" + port + "): ")),
                    exit.output().toString());
            assertTrue(
                    exit.output().stream().noneMatch(l -> l.contains("Edgegate started")),
                    "not started: " + exit.output());
        }
    }

    /** The one line the failed start wrote, after its exit code 2 was checked. */
    private static String failure(GatewayProcess.Exit exit) {
        assertEquals(2, exit.code(), "a start that cannot work exits with 2: " + exit.output());
        List<String> ours =
                exit.output().stream().filter(l -> l.startsWith("edgegate: ")).toList();
        assertEquals(1, ours.size(), exit.output().toString());
        assertTrue(exit.output().stream().noneMatch(l -> l.contains("\tat ")), "no stack trace: " + exit.output());
        return ours.get(0);
    }

    private static boolean root() throws Exception {
        return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    }

    /** As root: run as the image's user. Otherwise as ourselves. */
    private static List<String> asImageUser() throws Exception {
        return root() ? List.of("setpriv", "--reuid=65532", "--regid=65532", "--clear-groups") : List.of();
    }

    /** uid:gid the gateway runs as. */
    private static String user() throws Exception {
        return root()
                ? "65532:65532"
                : Files.getAttribute(Path.of("/proc/self"), "unix:uid") + ":"
                        + Files.getAttribute(Path.of("/proc/self"), "unix:gid");
    }

    private static String owner(Path p) throws Exception {
        return Files.getAttribute(p, "unix:uid") + ":" + Files.getAttribute(p, "unix:gid");
    }

    private static List<String> names(Path dir) throws Exception {
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @org.junit.jupiter.api.BeforeEach
    void letTheImageUserReachTheDataDirectory() throws Exception {
        // @TempDir is 0700: the gateway run as another user must be able to reach its data directory
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
