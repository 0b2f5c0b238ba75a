package io.edgegate.cloud;

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
 * A packaged Edgegate jar (the edge gateway or cloud-sync) as a real child process on ephemeral
 * ports, which the test can stop cleanly or kill with SIGKILL. Its two ports are read from its
 * start-up line; its output is kept for failure messages.
 */
final class JarProcess implements AutoCloseable {
    /** The gateway's start-up line: {@code Edgegate started: ... api=http://h:P, consul=http://h:P}. */
    static final Pattern GATEWAY_STARTED =
            Pattern.compile("Edgegate started: .*api=http://[^:]+:(\\d+), consul=http://[^:]+:(\\d+)");
    /** Cloud-sync's start-up line: {@code cloud-sync started: api=http://h:P, consul=http://h:P}. */
    static final Pattern CLOUD_STARTED =
            Pattern.compile("cloud-sync started: api=http://[^:]+:(\\d+), consul=http://[^:]+:(\\d+)");

    private final String name;
    private final Process process;
    private final List<String> output;
    private final int port;
    private final int consulPort;

    private JarProcess(String name, Process process, List<String> output, int port, int consulPort) {
        this.name = name;
        this.process = process;
        this.output = output;
        this.port = port;
        this.consulPort = consulPort;
    }

    /**
     * The jar named by a system property (set by the failsafe configuration); fails with what to
     * build when it is missing.
     */
    static Path jar(String property) {
        String path = System.getProperty(property);
        if (path == null || !Files.isRegularFile(Path.of(path))) {
            throw new IllegalStateException("jar not found: " + property + "=" + path
                    + " (build it first: mvn -pl mqtt-bridge,edge-gateway,cloud-sync -am verify)");
        }
        return Path.of(path);
    }

    static JarProcess start(String name, Path jar, Map<String, String> env, Pattern started) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command =
                new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar"));
        command.add(jar.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        List<String> lines = new CopyOnWriteArrayList<>();
        CompletableFuture<int[]> ports = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name(name + "-output").start(() -> {
            try (BufferedReader reader =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    if (lines.size() < 2_000) {
                        lines.add(line);
                    }
                    Matcher m = started.matcher(line);
                    if (m.find()) {
                        ports.complete(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
                    }
                }
            } catch (IOException e) {
                // process gone
            }
            ports.completeExceptionally(new IllegalStateException(name + " exited before start"));
        });
        try {
            // generous: a JVM starting on a loaded machine (shared CI runners) may take a while
            int[] p = ports.get(90, TimeUnit.SECONDS);
            return new JarProcess(name, process, lines, p[0], p[1]);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException(
                    name + " did not start: " + e.getMessage() + "\n" + String.join("\n", lines), e);
        }
    }

    int port() {
        return port;
    }

    int consulPort() {
        return consulPort;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** The last lines it wrote, for a failure message. */
    String tail() {
        int from = Math.max(0, output.size() - 30);
        return name + " output:\n" + String.join("\n", output.subList(from, output.size()));
    }

    /** SIGKILL: no shutdown hook, no flush, as a power cut or the OOM killer would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, the orderly stop, then SIGKILL if it does not stop in time. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
