package io.edgegate.acl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The access rules a service enforces now: the token file, re-read when it (or a secret file it
 * names) changes, or the management token made on a first start without one.
 *
 * <p>Readers ({@link #authorize}) take the current {@link Acl} through one volatile read and never
 * block. One virtual thread polls the files every {@code reload-interval}: polling, not file-system
 * events, because a Kubernetes Secret changes by an atomic swap of a symbolic link that watch
 * services do not report on the file itself. A changed file that does not parse is refused whole
 * and logged once; the previous rules stay in force. A file that is bad at start-up stops the start.
 *
 * <p>The management token made on a first start is a random UUID (122 random bits) written with
 * mode 0600; its path is logged, never the secret.
 */
public final class AclStore implements AutoCloseable {
    private static final Logger LOGGER = Logger.getLogger(AclStore.class.getName());

    private final AclOptions options;
    private final Thread watcher;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong reloadFailures = new AtomicLong();
    private volatile Acl current;
    private byte[] fingerprint;
    private List<Path> watched;
    private String lastFailure;

    private AclStore(AclOptions options) {
        this.options = options;
        if (options.tokensFile() == null) {
            String secret = managementToken(options.managementTokenFile());
            this.current = AclFile.managementOnly(secret, options.enforced(), "Management token made on first start");
            this.watcher = null;
        } else {
            AclFile.Loaded loaded = AclFile.read(options.tokensFile(), options.enforced());
            this.current = loaded.acl();
            this.watched = loaded.files();
            this.fingerprint = fingerprint(watched);
            this.watcher = Thread.ofVirtual().name("acl-reload").start(this::watch);
            LOGGER.info(() -> "ACL: " + loaded.acl().tokens().size() + " tokens from " + options.tokensFile()
                    + (options.enforced() ? "" : " (default-policy allow: not enforced)"));
        }
        if (!options.enforced()) {
            LOGGER.warning("ACL: default-policy is allow: any client may register, deregister and change routes");
        }
    }

    /**
     * Opens the rules: reads the token file, or makes (or reads) the management token.
     *
     * @throws AclFile.AclFileException a token file that cannot be used, naming the mistake
     * @throws UncheckedIOException the management token file cannot be made or read
     */
    public static AclStore open(AclOptions options) {
        return new AclStore(options);
    }

    /** The rules in force now. */
    public Acl current() {
        return current;
    }

    /** Shorthand for {@code current().authorize(secret)}. */
    public Authorizer authorize(String secret) {
        return current.authorize(secret);
    }

    /** Token-file changes taken since start. */
    public long reloads() {
        return reloads.get();
    }

    /** Token-file changes refused since start (the previous rules stayed in force). */
    public long reloadFailures() {
        return reloadFailures.get();
    }

    /** The management token file, when this service made or uses one; null with a token file. */
    public Path managementTokenFile() {
        return options.tokensFile() == null ? options.managementTokenFile() : null;
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.interrupt();
        }
    }

    private void watch() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(options.reloadIntervalMillis());
            } catch (InterruptedException e) {
                return;
            }
            reloadIfChanged();
        }
    }

    /** Re-reads the files when their content changed; owned by the watcher thread. */
    void reloadIfChanged() {
        byte[] now = fingerprint(watched);
        if (MessageDigest.isEqual(now, fingerprint)) {
            return;
        }
        try {
            AclFile.Loaded loaded = AclFile.read(options.tokensFile(), options.enforced());
            current = loaded.acl();
            watched = loaded.files();
            fingerprint = fingerprint(watched);
            lastFailure = null;
            reloads.incrementAndGet();
            LOGGER.info(() -> "ACL: reloaded " + options.tokensFile() + ": "
                    + loaded.acl().tokens().size() + " tokens");
        } catch (RuntimeException e) {
            // Not remembered as seen: a half-written file is read again at the next poll.
            reloadFailures.incrementAndGet();
            String message = e.getMessage();
            if (!message.equals(lastFailure)) {
                lastFailure = message;
                LOGGER.warning("ACL: token file change refused, previous rules stay in force: " + message);
            }
        }
    }

    /** A digest of the files' contents (a missing file counts as a content of its own). */
    private static byte[] fingerprint(List<Path> files) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path file : files) {
                sha.update(file.toString().getBytes(StandardCharsets.UTF_8));
                try {
                    sha.update(Files.readAllBytes(file));
                } catch (IOException e) {
                    sha.update((byte) 0xff);
                }
            }
            return sha.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads the management token, making it first when the file does not exist yet. */
    private static String managementToken(Path file) {
        try {
            if (Files.notExists(file)) {
                make(file);
            }
            warnIfOpen(file);
            String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
            String problem = AclFile.secretProblem(secret);
            if (problem != null) {
                throw new AclFile.AclFileException(
                        file + ": the management token " + problem + " (delete the file to have a new one made)");
            }
            return secret;
        } catch (IOException e) {
            throw new UncheckedIOException("acl: management token file " + file + ": " + e.getMessage(), e);
        }
    }

    private static void make(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        String secret = UUID.randomUUID().toString();
        try {
            if (Files.getFileStore(parent).supportsFileAttributeView("posix")) {
                Files.createFile(
                        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                Files.createFile(file);
            }
        } catch (FileAlreadyExistsException e) {
            return; // made by another process at the same moment: use that one
        }
        Files.writeString(file, secret + "\n", StandardCharsets.UTF_8);
        LOGGER.warning("ACL: made a management token at " + file.toAbsolutePath()
                + " (mode 0600). Send it as X-Consul-Token or Authorization: Bearer; it grants every right.");
    }

    private static void warnIfOpen(Path file) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            perms.retainAll(Set.of(
                    PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ,
                    PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE));
            if (!perms.isEmpty()) {
                LOGGER.log(
                        Level.WARNING,
                        "ACL: management token file " + file.toAbsolutePath() + " can be read or written by others ("
                                + perms + "): chmod 600 it");
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to check
        }
    }
}
