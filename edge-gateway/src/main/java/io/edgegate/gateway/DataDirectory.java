package io.edgegate.gateway;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * The start-up check of the data directory ({@code edgegate.data-dir}): before the journal opens
 * it, the directory must exist (or be creatable), be a directory, and let this process create
 * files in it and write the files already there. Otherwise the start stops with one message that
 * names the directory, its owner and mode, the user the gateway runs as and what to do, instead of
 * the journal's access-denied stack trace. The usual cause is a bind mount of a host directory
 * owned by root into the image, which runs as uid 65532.
 *
 * <p>Runs once, on the thread that starts the gateway; holds no state.
 */
final class DataDirectory {
    private static final String PROBE_PREFIX = ".edgegate-write-check-";

    private DataDirectory() {}

    /** The data directory cannot be used: the message says why and what to do. */
    static final class DataDirectoryException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DataDirectoryException(String message) {
            super(message);
        }
    }

    /**
     * Creates {@code dir} if it is missing and checks that this process can write in it and write
     * every file it holds.
     *
     * @throws DataDirectoryException naming the directory, its owner and mode and the remedy
     */
    static void requireWritable(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(abs)) {
            throw new DataDirectoryException("data-dir is not a directory: dir=" + abs + " (" + describe(abs)
                    + "); set edgegate.data-dir (EDGEGATE_DATA_DIR) to a directory, or move the file away");
        }
        if (!Files.isDirectory(abs)) {
            create(abs);
        }
        Path probe = null;
        try {
            probe = Files.createTempFile(abs, PROBE_PREFIX, ".tmp");
        } catch (IOException e) {
            throw notWritable(abs, abs, reason(e));
        } finally {
            deleteQuietly(probe);
        }
        List<String> locked = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(abs)) {
            for (Path f : files) {
                if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) && !Files.isWritable(f)) {
                    locked.add(f.getFileName() + " (" + describe(f) + ")");
                }
            }
        } catch (IOException e) {
            throw notWritable(abs, abs, "cannot list it: " + reason(e));
        }
        if (!locked.isEmpty()) {
            throw new DataDirectoryException("data-dir holds files the gateway cannot write: dir=" + abs + ", files="
                    + locked + ", gateway runs as " + self() + "; " + remedy(abs));
        }
    }

    /** Creates the missing directory (and its parents), or says which existing parent refused it. */
    private static void create(Path abs) {
        Path existing = abs.getParent();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing != null && !Files.isDirectory(existing)) {
            throw new DataDirectoryException("data-dir cannot be created: dir=" + abs + ", its parent " + existing
                    + " is not a directory (" + describe(existing) + "); set edgegate.data-dir (EDGEGATE_DATA_DIR)"
                    + " to a directory");
        }
        try {
            Files.createDirectories(abs);
        } catch (IOException e) {
            throw notWritable(abs, existing == null ? abs : existing, reason(e));
        }
    }

    private static DataDirectoryException notWritable(Path dir, Path refused, String reason) {
        String where = refused.equals(dir) ? "" : ", in its parent " + refused;
        return new DataDirectoryException("data-dir is not writable: dir=" + dir + where + " (" + describe(refused)
                + "), gateway runs as " + self() + ", cause=" + reason + "; " + remedy(dir));
    }

    /** What to do, with this process's own uid and gid (65532:65532 in the image). */
    private static String remedy(Path dir) {
        String ids = uid() + ":" + gid();
        String make = Files.isDirectory(dir) ? "" : "mkdir -p " + dir + " && ";
        return "give it to the gateway's user: " + make + "chown -R " + ids + " " + dir
                + " (for a bind mount: the host directory mounted there; podman: -v HOST_DIR:" + dir
                + ":U, or rootless --userns=keep-id:uid=" + uid() + ",gid=" + gid()
                + "; Kubernetes: the DaemonSet's data-dir-owner init container)";
    }

    /** Owner, group and mode of a path, as ls shows them. */
    static String describe(Path p) {
        try {
            Object uid = Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            Object gid = Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
            String type = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                    ? "d"
                    : Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? "-" : "?";
            String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
            return "owner " + uid + ":" + gid + ", mode " + type + mode;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "owner and mode unknown: " + e.getMessage();
        }
    }

    private static String self() {
        return "uid " + uid() + " gid " + gid();
    }

    /** This process's user id: the owner of /proc/self (Linux); else the user name. */
    static String uid() {
        return processId("unix:uid");
    }

    static String gid() {
        return processId("unix:gid");
    }

    private static String processId(String attribute) {
        try {
            return String.valueOf(Files.getAttribute(Path.of("/proc/self"), attribute));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return System.getProperty("user.name", "?");
        }
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException fse) { // its message is the file's name, its reason the errno text
            return fse.getClass().getSimpleName() + (fse.getReason() == null ? "" : ": " + fse.getReason());
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover probe file is harmless: the next start makes its own
        }
    }
}
