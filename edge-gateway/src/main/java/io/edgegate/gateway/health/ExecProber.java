package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Exec checks (Consul's script checks): runs the check's {@code args} without a shell, with the
 * node's environment, stdin closed and stderr merged into stdout. Exit 0 is passing, 1 warning,
 * anything else critical; the output is the first bytes the program wrote. A program still
 * running at the timeout is killed with its whole process tree. When exec checks are disabled
 * nothing runs and the check is critical. Stateless: thread-safe.
 */
final class ExecProber implements Prober {
    /**
     * How long to wait for the output pipe to close after the program exits: a child it left
     * running may hold the pipe open; the output so far is used and the pipe closed.
     */
    private static final Duration OUTPUT_GRACE = Duration.ofMillis(100);

    private final int maxOutputBytes;
    private final boolean enabled;

    ExecProber(int maxOutputBytes, boolean enabled) {
        this.maxOutputBytes = maxOutputBytes;
        this.enabled = enabled;
    }

    @Override
    public ProbeResult probe(CheckSpec check, String instanceAddress) {
        List<String> args = check.args();
        if (args.isEmpty()) {
            return Probers.critical("exec check " + check.id() + ": no program to run (args is empty)");
        }
        String program = args.getFirst();
        if (!enabled) {
            return Probers.critical("exec check " + check.id() + ": not run (" + program
                    + "), exec checks are disabled on this node (edgegate.health.enable-exec-checks=false)");
        }
        Process process;
        try {
            process = new ProcessBuilder(args).redirectErrorStream(true).start();
        } catch (IOException | RuntimeException e) {
            return Probers.critical("exec check " + check.id() + ": cannot run " + program + ": " + Probers.reason(e));
        }
        BoundedOutput output = new BoundedOutput(maxOutputBytes);
        InputStream stdout = process.getInputStream();
        Thread reader = Thread.ofVirtual().name("exec-output-" + process.pid()).start(() -> drain(stdout, output));
        try {
            process.getOutputStream().close();
            if (!process.waitFor(check.timeoutMillis(), TimeUnit.MILLISECONDS)) {
                killTree(process);
                return Probers.critical("Timed out (" + check.timeoutMillis() + "ms) running check " + program
                        + outputSoFar(reader, stdout, output));
            }
            reader.join(OUTPUT_GRACE);
            int exit = process.exitValue();
            Health status = exit == 0 ? Health.PASSING : exit == 1 ? Health.WARNING : Health.CRITICAL;
            String text = output.text();
            return new ProbeResult(status, text.isEmpty() ? "exit status " + exit : text);
        } catch (InterruptedException e) {
            killTree(process);
            Thread.currentThread().interrupt();
            return Probers.critical("exec check " + check.id() + ": interrupted running " + program);
        } catch (IOException e) {
            killTree(process);
            return Probers.critical("exec check " + check.id() + ": " + Probers.reason(e));
        } finally {
            closeQuietly(stdout);
        }
    }

    /** Reads the merged output to its end, keeping the first bytes: the program never blocks on a full pipe. */
    private static void drain(InputStream in, BoundedOutput output) {
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                output.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // The pipe was closed under us (timeout, or a child still holding it): keep what was read.
        }
    }

    private static String outputSoFar(Thread reader, InputStream stdout, BoundedOutput output)
            throws InterruptedException {
        reader.join(OUTPUT_GRACE);
        closeQuietly(stdout);
        String text = output.text();
        return text.isEmpty() ? "" : "\n" + text;
    }

    /**
     * Kills the program and everything it started. The descendants are listed first: once the
     * program is gone they are re-parented and no longer found from it.
     */
    private static void killTree(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        process.destroyForcibly();
        for (ProcessHandle child : descendants) {
            child.destroyForcibly();
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // Nothing left to read from it.
        }
    }
}
