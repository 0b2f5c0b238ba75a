package io.edgegate.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Material parsed from a few files, parsed again when they change: the core of
 * {@link ReloadingKeyManager} and {@link ReloadingTrustManager}.
 *
 * <p>A change is seen by polling, at most once per check interval, on the thread that asks for
 * the material (a handshake): each file is stat'ed through its symbolic links, and its identity
 * (device and inode), size and modification time form its stamp. Kubernetes updates a mounted
 * Secret by writing a new directory and swapping the {@code ..data} symbolic link to it in one
 * rename: the files' paths stay, their identities change, and the next check reads the new ones.
 * A file replaced in place (or by a rename over it) changes its stamp too.
 *
 * <p>When the stamps differ from those of the material in force, the files are read and parsed.
 * Success replaces the material, with the next generation number. Failure
 * (a file missing, half written, not PEM, a key that does not match its certificate) keeps the
 * material in force and is reported once: logged at WARNING, counted, kept as {@link #lastError};
 * the same stamps are not read again, so a bad file costs one parse, not one per handshake, and
 * the next change of any file is read again.
 *
 * <p>Thread-safe. Readers take the material through one volatile read; a check runs under a lock
 * taken with {@code tryLock}, so a handshake never waits for another thread's check: it goes on
 * with the material in force.
 */
final class WatchedFiles<T> {
    /** Default time between two looks at the files. */
    static final long DEFAULT_CHECK_INTERVAL_MILLIS = 1_000;

    private static final Logger LOGGER = Logger.getLogger("io.edgegate.tls");

    /** Parses the files' contents, in the order of {@link #files}; throws {@link TlsMaterialException}. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(List<byte[]> contents);
    }

    /** Material in force, the stamps it was read with, and its generation (1, 2, ...). */
    record Loaded<T>(T value, List<Stamp> stamps, long generation) {}

    /** What identifies one file's content without reading it. */
    private record Stamp(Object identity, long size, FileTime modified, String missing) {}

    private final String what;
    private final List<Path> files;
    private final Parser<T> parser;
    private final long checkIntervalNanos;
    private final ReentrantLock checking = new ReentrantLock();
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile Loaded<T> current;
    private volatile long nextCheckNanos;
    private volatile String lastError = "";
    /** Stamps whose reading failed, not read again; guarded by {@link #checking}. */
    private List<Stamp> failedStamps;

    private long generations;

    /**
     * Reads the files once now.
     *
     * @param what what the files hold, for messages ("certificate and key")
     * @param required whether a failure of this first read is thrown; if not, it is reported as a
     *     failure and {@link #current} stays null until a later check succeeds
     * @throws TlsMaterialException when {@code required} and the files cannot be used
     */
    WatchedFiles(String what, List<Path> files, Parser<T> parser, long checkIntervalMillis, boolean required) {
        if (checkIntervalMillis < 0) {
            throw new IllegalArgumentException("check interval: checkIntervalMillis=" + checkIntervalMillis);
        }
        this.what = what;
        this.files = List.copyOf(files);
        this.parser = parser;
        this.checkIntervalNanos = TimeUnit.MILLISECONDS.toNanos(checkIntervalMillis);
        checking.lock();
        try {
            List<Stamp> stamps = stamps();
            try {
                install(read(stamps), stamps, false);
            } catch (TlsMaterialException e) {
                if (required) {
                    throw e;
                }
                fail(stamps, e);
            }
            nextCheckNanos = System.nanoTime() + checkIntervalNanos;
        } finally {
            checking.unlock();
        }
    }

    /** The material in force, after looking at the files if the check interval has passed; null if none ever loaded. */
    Loaded<T> current() {
        long now = System.nanoTime();
        if (now - nextCheckNanos >= 0 && checking.tryLock()) {
            try {
                if (now - nextCheckNanos >= 0) {
                    check();
                    nextCheckNanos = System.nanoTime() + checkIntervalNanos;
                }
            } finally {
                checking.unlock();
            }
        }
        return current;
    }

    /** The material in force, without looking at the files. */
    Loaded<T> peek() {
        return current;
    }

    long reloads() {
        return reloads.get();
    }

    long failures() {
        return failures.get();
    }

    String lastError() {
        return lastError;
    }

    String what() {
        return what;
    }

    List<Path> files() {
        return files;
    }

    private void check() {
        List<Stamp> stamps = stamps();
        Loaded<T> loaded = current;
        if (loaded != null && loaded.stamps.equals(stamps) || stamps.equals(failedStamps)) {
            return;
        }
        try {
            install(read(stamps), stamps, true);
        } catch (TlsMaterialException e) {
            fail(stamps, e);
        }
    }

    private T read(List<Stamp> stamps) {
        for (int i = 0; i < stamps.size(); i++) {
            if (stamps.get(i).missing != null) {
                throw new TlsMaterialException(files.get(i) + ": " + stamps.get(i).missing);
            }
        }
        List<byte[]> contents = new ArrayList<>(files.size());
        for (Path file : files) {
            contents.add(PemFiles.read(file));
        }
        T value = parser.parse(contents);
        return Objects.requireNonNull(value, "parser result");
    }

    private void install(T value, List<Stamp> stamps, boolean reload) {
        Loaded<T> next = new Loaded<>(value, stamps, ++generations);
        current = next;
        failedStamps = null;
        if (reload) {
            reloads.incrementAndGet();
            LOGGER.info(() -> "TLS " + what + " reloaded from " + files + " (generation " + next.generation + ")");
        }
    }

    private void fail(List<Stamp> stamps, TlsMaterialException e) {
        failedStamps = stamps;
        failures.incrementAndGet();
        lastError = e.getMessage();
        LOGGER.log(
                Level.WARNING,
                "TLS " + what + " not loaded, "
                        + (current == null
                                ? "none in force"
                                : "keeping the previous one (generation " + current.generation + ")")
                        + ": " + e.getMessage());
    }

    private List<Stamp> stamps() {
        List<Stamp> stamps = new ArrayList<>(files.size());
        for (Path file : files) {
            try {
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                Object identity = a.fileKey() != null ? a.fileKey() : file.toRealPath();
                stamps.add(new Stamp(identity, a.size(), a.lastModifiedTime(), null));
            } catch (IOException e) {
                stamps.add(new Stamp(null, -1, null, "cannot be read (" + e + ")"));
            }
        }
        return List.copyOf(stamps);
    }
}
