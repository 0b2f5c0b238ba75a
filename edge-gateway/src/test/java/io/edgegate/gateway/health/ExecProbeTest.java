package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** Exec checks running real programs ({@code /bin/sh} scripts); exec enabled unless the test says otherwise. */
@DisabledOnOs(OS.WINDOWS)
class ExecProbeTest {
    private static final long TIMEOUT_MILLIS = 5_000;

    @TempDir
    Path dir;

    private final Probers probers =
            new Probers(Probers.Options.builder().execEnabled(true).build());

    @AfterEach
    void stop() {
        probers.close();
    }

    @Test
    void execExitZeroIsPassing() {
        ProbeResult result =
                probers.probe(Checks.exec(TIMEOUT_MILLIS, "/bin/sh", "-c", "echo all good"), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("all good\n", result.output());
    }

    @Test
    void execExitOneIsWarning() {
        ProbeResult result = probers.probe(
                Checks.exec(TIMEOUT_MILLIS, "/bin/sh", "-c", "echo degraded >&2; exit 1"), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.WARNING, result.status(), result.output());
        assertEquals("degraded\n", result.output(), "stderr is part of the output");
    }

    @Test
    void execExitTwoIsCritical() {
        ProbeResult result =
                probers.probe(Checks.exec(TIMEOUT_MILLIS, "/bin/sh", "-c", "exit 2"), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertEquals("exit status 2", result.output());
    }

    @Test
    void execArgsAreNotInterpretedByAShell() {
        ProbeResult result = probers.probe(
                Checks.exec(TIMEOUT_MILLIS, "/bin/echo", "$HOME", ";", "exit", "2"), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("$HOME ; exit 2\n", result.output());
    }

    @Test
    void execTimeoutKillsTheProcessTree() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        long start = System.nanoTime();

        ProbeResult result = probers.probe(
                Checks.exec(300, "/bin/sh", "-c", "sleep 30 & echo $! > " + pidFile + "; echo started; wait"),
                Checks.INSTANCE_ADDRESS);

        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().startsWith("Timed out (300ms) running check /bin/sh"), result.output());
        assertTrue(result.output().endsWith("started\n"), "keeps the output so far: " + result.output());
        assertTrue(tookMillis < 1_500, "took " + tookMillis + "ms for a 300ms timeout");
        long childPid = Long.parseLong(Files.readString(pidFile).trim());
        assertFalse(aliveAfterASecond(childPid), "the script's child (sleep 30, pid " + childPid + ") still runs");
    }

    @Test
    void execOutputKeepsFirstBytesOnly() {
        try (Probers small = new Probers(
                Probers.Options.builder().execEnabled(true).maxOutputBytes(10).build())) {
            ProbeResult result = small.probe(
                    Checks.exec(
                            TIMEOUT_MILLIS,
                            "/bin/sh",
                            "-c",
                            "i=0; while [ $i -lt 5000 ]; do echo 0123456789; i=$((i+1)); done"),
                    Checks.INSTANCE_ADDRESS);

            assertEquals(Health.PASSING, result.status(), result.output());
            assertEquals("0123456789", result.output());
        }
    }

    @Test
    void execMissingProgramIsCritical() {
        ProbeResult result = probers.probe(
                Checks.exec(TIMEOUT_MILLIS, dir.resolve("no-such-program").toString()), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().contains("cannot run"), result.output());
    }

    @Test
    void execDisabledIsCriticalWithoutRunning() {
        Path marker = dir.resolve("ran");
        try (Probers disabled = new Probers(Probers.Options.defaults())) {
            ProbeResult result = disabled.probe(
                    Checks.exec(TIMEOUT_MILLIS, "/usr/bin/touch", marker.toString()), Checks.INSTANCE_ADDRESS);

            assertEquals(Health.CRITICAL, result.status(), result.output());
            assertTrue(result.output().contains("edgegate.health.enable-exec-checks"), result.output());
            assertFalse(Files.exists(marker), "the program ran although exec checks are disabled");
        }
    }

    /**
     * Whether the process still runs after up to a second (killing is asynchronous). A killed
     * process that nobody reaped yet (a zombie, re-parented to init) does not run.
     */
    private static boolean aliveAfterASecond(long pid) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (!running(pid)) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    private static boolean running(long pid) throws IOException {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (Files.isDirectory(Path.of("/proc", "self"))) {
            if (!Files.exists(stat)) {
                return false;
            }
            String text;
            try {
                text = Files.readString(stat);
            } catch (NoSuchFileException e) {
                return false;
            }
            // pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'.
            char state = text.charAt(text.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        }
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        return handle.isPresent() && handle.get().isAlive();
    }
}
