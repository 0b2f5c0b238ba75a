package io.edgegate.bridge.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * Debian's mosquitto as a child process on a free loopback port, with its own config. Fails with
 * a clear message when the binary is missing: install it ({@code apt-get install -y mosquitto}).
 */
public final class MosquittoBroker implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path dir;
    private final String scheme;

    /** A TLS listener's files; null for a plain one. */
    private record TlsListener(Path caFile, Path certFile, Path keyFile, boolean requireCertificate) {}

    private MosquittoBroker(int port, TlsListener tls) throws Exception {
        this.port = port;
        this.scheme = tls == null ? "tcp" : "ssl";
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
        Path conf = dir.resolve("mosquitto.conf");
        Files.writeString(
                conf,
                "listener " + port + " 127.0.0.1\n" + listenerOptions
                        + "allow_anonymous true\npersistence false\nlog_dest stderr\n"
                        + "log_type error\nmax_inflight_messages 0\nmax_queued_messages 100000\n");
        String binary = binary();
        this.process = new ProcessBuilder(binary, "-c", conf.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("mosquitto.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                if (!process.isAlive()) {
                    break;
                }
                Thread.sleep(10);
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException(
                "mosquitto did not listen on port " + port + ": " + Files.readString(dir.resolve("mosquitto.log")));
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
        return new MosquittoBroker(Ports.free(), null);
    }

    /**
     * A broker with a TLS listener ({@code ssl://}) serving {@code certFile} and {@code keyFile}.
     *
     * @param caFile the authorities client certificates must chain to
     * @param requireCertificate whether a client without a certificate is refused (mTLS)
     */
    public static MosquittoBroker startTls(Path caFile, Path certFile, Path keyFile, boolean requireCertificate)
            throws Exception {
        return new MosquittoBroker(Ports.free(), new TlsListener(caFile, certFile, keyFile, requireCertificate));
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
