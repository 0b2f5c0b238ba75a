package io.edgegate.bridge.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Edgegate's broker as k3s/mosquitto ships it, run on loopback: Debian's mosquitto started by
 * {@code run.sh} (which reloads the password and ACL files when they change) with
 * {@code mosquitto.conf}, and the password and ACL files that {@code broker-auth.sh} makes, the
 * very commands the operator runs. The only changes to the configuration are the ones running
 * outside the container needs, each found where expected or the start fails: both listeners on
 * free loopback ports, the auth and data directories under the test's directory: {@code root/auth}
 * is broker-auth.sh's directory, {@code root/broker} the broker's.
 *
 * <p>Not thread-safe: one test owns it.
 */
public final class ShippedBroker implements AutoCloseable {
    /** What one run of broker-auth.sh printed and returned. */
    public record Run(int exitCode, String stdout, String stderr) {}

    private final Process process;
    private final Path dir;
    private final int edgePort;
    private final int cloudPort;

    private ShippedBroker(Path root, int reloadSeconds) throws Exception {
        Path auth = root.resolve("auth");
        this.dir = Files.createDirectories(root.resolve("broker"));
        this.edgePort = Ports.free();
        this.cloudPort = Ports.free();
        Path data = Files.createDirectories(dir.resolve("data"));
        String conf = Files.readString(source().resolve("mosquitto.conf"));
        conf = replace(conf, "listener 1883 0.0.0.0\n", "listener " + edgePort + " 127.0.0.1\n", 1);
        conf = replace(conf, "listener 1884 0.0.0.0\n", "listener " + cloudPort + " 127.0.0.1\n", 1);
        conf = replace(conf, "/mosquitto/auth/", auth.resolve("broker") + "/", 4);
        conf = replace(conf, "/mosquitto/data/", data + "/", 1);
        if (conf.contains("/mosquitto/")) {
            throw new IllegalStateException("mosquitto.conf names a path this test does not place: " + conf);
        }
        Path confFile = dir.resolve("mosquitto.conf");
        Files.writeString(confFile, conf);
        readableByTheBroker(root);
        if ("root".equals(System.getProperty("user.name"))) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        ProcessBuilder pb = new ProcessBuilder("sh", source().resolve("run.sh").toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("broker.log").toFile());
        Map<String, String> env = pb.environment();
        env.put(
                "MOSQUITTO",
                tool("mosquitto", "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"));
        env.put("MOSQUITTO_CONF", confFile.toString());
        env.put("MOSQUITTO_AUTH_DIR", auth.resolve("broker").toString());
        env.put("MOSQUITTO_RELOAD_SECONDS", Integer.toString(reloadSeconds));
        this.process = pb.start();
        for (int port : new int[] {edgePort, cloudPort}) {
            awaitListening(port);
        }
    }

    /**
     * Starts the broker on the files {@link #auth} made under {@code root}.
     *
     * @param reloadSeconds how often run.sh looks for changed files
     */
    public static ShippedBroker start(Path root, int reloadSeconds) throws Exception {
        return new ShippedBroker(root, reloadSeconds);
    }

    /** The k3s/mosquitto directory of this source tree. */
    public static Path source() {
        Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        Path dir = module.toAbsolutePath().getParent().resolve("k3s/mosquitto");
        if (!Files.isRegularFile(dir.resolve("mosquitto.conf"))) {
            throw new IllegalStateException("no k3s/mosquitto/mosquitto.conf next to " + module);
        }
        return dir;
    }

    /** Runs {@code broker-auth.sh -d root/auth args...}, as an operator does. */
    public static Run auth(Path root, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                "sh",
                source().resolve("broker-auth.sh").toString(),
                "-d",
                root.resolve("auth").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment()
                .put(
                        "MOSQUITTO_PASSWD",
                        tool("mosquitto_passwd", "/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd"));
        Path out = Files.createTempFile("broker-auth", ".out");
        Path err = Files.createTempFile("broker-auth", ".err");
        try {
            Process p =
                    pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("broker-auth.sh " + args[0] + " did not finish within 30 s");
            }
            readableByTheBroker(root);
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Runs {@code broker-auth.sh} and returns what it printed; fails unless it succeeded. */
    public static String authOk(Path root, String... args) throws Exception {
        Run run = auth(root, args);
        if (run.exitCode() != 0) {
            throw new IllegalStateException(
                    "broker-auth.sh " + String.join(" ", args) + " failed (" + run.exitCode() + "): " + run.stderr());
        }
        return run.stdout().strip();
    }

    /** The edge listener (nodes' users; the username is the client id). */
    public String edgeUrl() {
        return "tcp://127.0.0.1:" + edgePort;
    }

    /** The cloud listener (cloud users only). */
    public String cloudUrl() {
        return "tcp://127.0.0.1:" + cloudPort;
    }

    /** What run.sh and mosquitto printed so far. */
    public String log() throws IOException {
        return Files.readString(dir.resolve("broker.log"), StandardCharsets.UTF_8);
    }

    /**
     * Makes what broker-auth.sh wrote under {@code root} (mode 0600 in 0700 directories) readable
     * by the broker: started as root, mosquitto runs as the user "mosquitto" (in the container it
     * runs as the Secret's group). Test files only.
     */
    private static void readableByTheBroker(Path root) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return;
        }
        Path broker = root.resolve("broker");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.filter(p -> !p.startsWith(broker)).toList()) {
                if (Files.isDirectory(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
    }

    /** Stops run.sh with SIGTERM, as Kubernetes does: it stops mosquitto and waits for it. */
    @Override
    public void close() {
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // what run.sh left behind, if it did not stop cleanly (its watcher's sleep)
        children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    /** Whether run.sh and mosquitto are gone (after {@link #close()}). */
    public boolean stopped() {
        return !process.isAlive() && process.descendants().noneMatch(ProcessHandle::isAlive);
    }

    private void awaitListening(int port) throws Exception {
        if (Ports.awaitListening(port, process, Duration.ofSeconds(5))) {
            return;
        }
        close();
        throw new IllegalStateException("the shipped broker did not listen on port " + port + ": " + log());
    }

    private static String replace(String text, String what, String with, int times) {
        int found = text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
        if (found != times) {
            throw new IllegalStateException(
                    "mosquitto.conf has changed: expected '" + what.strip() + "' " + times + " times, found " + found);
        }
        return text.replace(what, with);
    }

    private static String tool(String name, String... candidates) {
        for (String candidate : candidates) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        throw new IllegalStateException(name + " not found (looked in " + String.join(", ", candidates)
                + "): Debian's mosquitto package has it, `apt-get install -y mosquitto`");
    }
}
