package io.edgegate.bridge.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's mosquitto as a child process on a free loopback port, with its own config. Fails with
 * a clear message when the binary is missing: install it ({@code apt-get install -y mosquitto}).
 * A broker may keep a store on disk ({@link #startPersistent()}), and be killed with SIGKILL and
 * started again on the same port, with its store or without. Not thread-safe: one test drives it.
 */
public final class MosquittoBroker implements AutoCloseable {
    private volatile Process process;
    private final int port;
    private final Path dir;
    private final Path conf;
    private final String scheme;
    private final boolean persistent;

    /** A TLS listener's files; null for a plain one. */
    private record TlsListener(Path caFile, Path certFile, Path keyFile, boolean requireCertificate) {}

    private MosquittoBroker(int port, TlsListener tls, boolean persistent) throws Exception {
        this(port, tls, persistent, null);
    }

    private MosquittoBroker(int port, TlsListener tls, boolean persistent, String acl) throws Exception {
        this.port = port;
        this.scheme = tls == null ? "tcp" : "ssl";
        this.persistent = persistent;
        this.dir = Files.createTempDirectory("mosquitto");
        String listenerOptions = "";
        if (tls != null) {
            // Started as root, mosquitto reads its TLS files after dropping to its own user: they
            // are copied where that user can read them.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            listenerOptions = "cafile " + readable(tls.caFile, "ca.pem") + "\ncertfile "
                    + readable(tls.certFile, "cert.pem") + "\nkeyfile " + readable(tls.keyFile, "key.pem")
                    + "\nrequire_certificate " + tls.requireCertificate + "\n";
        }
        String persistence = "persistence false\n";
        if (persistent) {
            // Started as root, mosquitto writes its store as its own user: the directory is open to it.
            Path store = Files.createDirectories(dir.resolve("store"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwxrwxrwx"));
            // Saved every second (when something changed): a SIGKILL loses at most the last second.
            persistence = "persistence true\npersistence_location " + store + "/\nautosave_interval 1\n";
        }
        if (acl != null) {
            // Started as root, mosquitto reads its ACL file after dropping to its own user.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path aclFile = dir.resolve("acl");
            Files.writeString(aclFile, acl);
            Files.setPosixFilePermissions(aclFile, PosixFilePermissions.fromString("rw-r--r--"));
            listenerOptions += "acl_file " + aclFile + "\n";
        }
        this.conf = dir.resolve("mosquitto.conf");
        Files.writeString(
                conf,
                "listener " + port + " 127.0.0.1\n" + listenerOptions
                        + "allow_anonymous true\n" + persistence + "log_dest stderr\n"
                        + "log_type error\nmax_inflight_messages 0\nmax_queued_messages 100000\n");
        launch();
    }

    private void launch() throws Exception {
        this.process = new ProcessBuilder(binary(), "-c", conf.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("mosquitto.log").toFile()))
                .start();
        if (Ports.awaitListening(port, process, Duration.ofSeconds(10))) {
            return;
        }
        process.destroyForcibly();
        throw new IllegalStateException(
                "mosquitto did not listen on port " + port + ": " + Files.readString(dir.resolve("mosquitto.log")));
    }

    /** SIGKILL, as a crash or the OOM killer would: no last save of the store, no wills sent. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * Starts the broker again on the same port after {@link #kill()}: with what its store last
     * saved when {@code keepStore} (a broker with persistence), or empty (one without, or whose
     * disk was lost).
     */
    public void restart(boolean keepStore) throws Exception {
        if (process.isAlive()) {
            throw new IllegalStateException("mosquitto is still running: kill() it first");
        }
        if (!keepStore && persistent) {
            try (var files = Files.list(dir.resolve("store"))) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.delete(f);
                }
            }
        }
        launch();
    }

    /** Whether the process runs. */
    public boolean alive() {
        return process.isAlive();
    }

    private static String binary() {
        for (String candidate :
                new String[] {"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"}) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        throw new IllegalStateException(
                "mosquitto binary not found (looked in /usr/sbin, /usr/bin, /usr/local/sbin): install it with"
                        + " `apt-get update && apt-get install -y mosquitto`");
    }

    public static MosquittoBroker start() throws Exception {
        return new MosquittoBroker(Ports.free(), null, false);
    }

    /**
     * A broker that lets anonymous clients do only what {@code acl} (mosquitto's {@code acl_file}
     * format: {@code topic read|write|readwrite FILTER} lines) grants; a publish it does not grant
     * is answered with reason 0x87 (not authorized) under MQTT 5.
     */
    public static MosquittoBroker startWithAcl(String acl) throws Exception {
        return new MosquittoBroker(Ports.free(), null, false, acl);
    }

    /** A broker that keeps its retained messages in a store, saved every second. */
    public static MosquittoBroker startPersistent() throws Exception {
        return new MosquittoBroker(Ports.free(), null, true);
    }

    /**
     * A broker with a TLS listener ({@code ssl://}) serving {@code certFile} and {@code keyFile}.
     *
     * @param caFile the authorities client certificates must chain to
     * @param requireCertificate whether a client without a certificate is refused (mTLS)
     */
    public static MosquittoBroker startTls(Path caFile, Path certFile, Path keyFile, boolean requireCertificate)
            throws Exception {
        return new MosquittoBroker(Ports.free(), new TlsListener(caFile, certFile, keyFile, requireCertificate), false);
    }

    private Path readable(Path file, String name) throws IOException {
        Path copy = dir.resolve(name);
        Files.copy(file, copy);
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
        return copy;
    }

    public int port() {
        return port;
    }

    public String url() {
        return scheme + "://127.0.0.1:" + port;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(3, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
