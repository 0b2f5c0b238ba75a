package io.edgegate.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged gateway ({@code edge-gateway.jar}) as a real child process on ephemeral ports,
 * for tests that kill it. The ports are read from its start-up log line.
 */
final class GatewayProcess implements AutoCloseable {
    private static final Pattern STARTED =
            Pattern.compile("Edgegate started: .*api=http://[^:]+:(\\d+), consul=http://[^:]+:(\\d+)");

    private final Process process;
    /** Reads the process's output until it ends. */
    private final Thread reader;
    /** Every line the process wrote so far (standard output and error), still growing while it runs. */
    private final List<String> output;

    private final int port;
    private final int consulPort;

    private GatewayProcess(Process process, Thread reader, List<String> output, int port, int consulPort) {
        this.process = process;
        this.reader = reader;
        this.output = output;
        this.port = port;
        this.consulPort = consulPort;
    }

    static GatewayProcess start(Path dataDir, Map<String, String> env) throws IOException, InterruptedException {
        String jar = System.getProperty("edgegate.jar", "target/edge-gateway.jar");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx128m", "-XX:+UseSerialGC", "-jar", jar));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("EDGEGATE_PORT", "0");
        builder.environment().put("EDGEGATE_CONSUL_PORT", "0");
        builder.environment().put("EDGEGATE_HOST", "127.0.0.1");
        builder.environment().put("EDGEGATE_DATA_DIR", dataDir.toString());
        builder.environment().putAll(env);
        Process process = builder.start();
        List<String> lines = new CopyOnWriteArrayList<>();
        CompletableFuture<int[]> ports = new CompletableFuture<>();
        Thread outputReader = Thread.ofPlatform()
                .daemon()
                .name("gateway-output")
                .start(() -> {
                    try (BufferedReader reader = new BufferedReader(
                            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = reader.readLine()) != null) {
                            lines.add(line);
                            Matcher m = STARTED.matcher(line);
                            if (m.find()) {
                                ports.complete(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
                            }
                        }
                    } catch (IOException e) {
                        // process gone
                    }
                    ports.completeExceptionally(
                            new IllegalStateException("gateway exited before start: " + String.join("\n", lines)));
                });
        try {
            int[] p = ports.get(60, TimeUnit.SECONDS);
            GatewayProcess gateway = new GatewayProcess(process, outputReader, lines, p[0], p[1]);
            // The management token the gateway made in its data directory: TestGateway.send uses it.
            Path token = dataDir.resolve(GatewayConfig.MANAGEMENT_TOKEN_FILE);
            if (Files.exists(token)) {
                TestGateway.rememberToken(p[0], Files.readString(token).strip());
                TestGateway.rememberToken(p[1], Files.readString(token).strip());
            }
            return gateway;
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException(
                    "gateway did not start: " + e.getMessage() + "\n" + String.join("\n", lines), e);
        }
    }

    /** How a gateway that stops by itself ended: its exit code and every line it wrote. */
    record Exit(int code, List<String> output) {}

    /**
     * Runs the packaged gateway until it exits by itself (within 60 s), for a start that must fail.
     * {@code launcher} goes before the java command (e.g. {@code setpriv} to run it as another user).
     */
    static Exit runUntilExit(Path dataDir, Map<String, String> env, List<String> launcher)
            throws IOException, InterruptedException {
        String jar = Path.of(System.getProperty("edgegate.jar", "target/edge-gateway.jar"))
                .toAbsolutePath()
                .toString();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(launcher);
        command.addAll(List.of(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-jar", jar));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("EDGEGATE_PORT", "0");
        builder.environment().put("EDGEGATE_CONSUL_PORT", "0");
        builder.environment().put("EDGEGATE_HOST", "127.0.0.1");
        builder.environment().put("EDGEGATE_DATA_DIR", dataDir.toString());
        builder.environment().putAll(env);
        Process process = builder.start();
        CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                        .lines()
                        .toList();
            } catch (IOException e) {
                return List.of("reading its output failed: " + e);
            }
        });
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("the gateway did not exit within 60 s: " + lines.getNow(List.of()));
        }
        return new Exit(process.exitValue(), lines.join());
    }

    int port() {
        return port;
    }

    int consulPort() {
        return consulPort;
    }

    List<String> output() {
        return output;
    }

    /** SIGTERM, as Kubernetes stops a pod; the exit code once the process ended (within 20 s). */
    int terminate() throws InterruptedException {
        // Through the handle: Process.destroy() would also close the pipes, losing the last lines.
        process.toHandle().destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("the gateway did not stop within 20 s of SIGTERM: " + output);
        }
        reader.join(10_000); // its last lines may still be in the pipe
        return process.exitValue();
    }

    /** SIGKILL: no shutdown hook, no flush, as a power cut or the OOM killer would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, the orderly stop, then SIGKILL if it does not stop in time. */
    @Override
    public void close() {
        TestGateway.forgetToken(port);
        TestGateway.forgetToken(consulPort);
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
