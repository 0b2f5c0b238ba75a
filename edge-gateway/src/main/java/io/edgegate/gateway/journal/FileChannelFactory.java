package io.edgegate.gateway.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;

/**
 * Opens every channel the journal reads, writes or syncs through: the lock file, the log, the
 * snapshot and, for directory syncs, the data directory itself (opened with {@code READ} only).
 * Production uses {@link #DEFAULT}; tests inject channels that fail like a full disk after a
 * number of bytes. Called from the journal's writer thread and from the thread that runs a
 * {@link Compaction}, possibly at once: implementations must be thread-safe.
 */
@FunctionalInterface
public interface FileChannelFactory {

    /** {@link FileChannel#open(Path, Set, java.nio.file.attribute.FileAttribute[])}. */
    FileChannelFactory DEFAULT = FileChannel::open;

    /**
     * Opens a channel on {@code path}.
     *
     * @param path the file or directory to open
     * @param options how to open it, as for {@link FileChannel#open(Path, Set,
     *     java.nio.file.attribute.FileAttribute[])}
     * @return an open channel, owned by the caller
     * @throws IOException if the file cannot be opened
     */
    FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;
}
