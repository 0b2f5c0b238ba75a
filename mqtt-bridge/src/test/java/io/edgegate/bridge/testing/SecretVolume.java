package io.edgegate.bridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A directory laid out as the kubelet mounts a Secret, and updated as it does (its
 * {@code AtomicWriter}): the files live in a timestamped directory, {@code ..data} is a symbolic
 * link to it, and each visible name ({@code tls.crt}) is a symbolic link to {@code ..data/tls.crt}.
 * An update writes a new directory, points {@code ..data_tmp} at it and renames that over
 * {@code ..data} in one step, then removes the old directory.
 */
public final class SecretVolume {
    private final Path dir;
    private final AtomicInteger version = new AtomicInteger();
    private Path current;

    public SecretVolume(Path dir) {
        this.dir = dir;
    }

    /** The visible path of a key of the Secret ({@code tls.crt}). */
    public Path file(String name) {
        return dir.resolve(name);
    }

    /** Publishes a new version of the Secret: every file of it, in one atomic swap. */
    public void publish(Map<String, String> files) {
        try {
            Files.createDirectories(dir);
            String name = "..2026_01_01_00_00_00." + version.incrementAndGet();
            Path next = dir.resolve(name);
            Files.createDirectory(next);
            for (Map.Entry<String, String> e : files.entrySet()) {
                Files.writeString(next.resolve(e.getKey()), e.getValue(), StandardCharsets.US_ASCII);
            }
            Path tmp = dir.resolve("..data_tmp");
            Files.deleteIfExists(tmp);
            Files.createSymbolicLink(tmp, Path.of(name));
            Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
            for (String key : files.keySet()) {
                Path visible = dir.resolve(key);
                if (!Files.isSymbolicLink(visible)) {
                    Files.createSymbolicLink(visible, Path.of("..data", key));
                }
            }
            if (current != null) {
                for (Path old : Files.list(current).toList()) {
                    Files.delete(old);
                }
                Files.delete(current);
            }
            current = next;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Publishes {@code tls.crt} and {@code tls.key} of a certificate. */
    public void publish(TestCertificates.Issued issued, TestCertificates.KeyFormat format) {
        publish(Map.of(
                "tls.crt",
                TestCertificates.pem(issued.certificate())
                        + TestCertificates.pem(issued.issuer().certificate()),
                "tls.key",
                issued.keyPem(format)));
    }
}
