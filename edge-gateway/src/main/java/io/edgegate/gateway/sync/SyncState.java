package io.edgegate.gateway.sync;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * What the sync keeps on disk beside the journal: the node's epoch and the index up to which the
 * broker acknowledged every change. Written whole to a temporary file, forced and renamed, so a
 * crash leaves the old or the new value, never a torn one. A lost update only means some changes
 * are published again after a restart, which the cloud ignores as duplicates.
 *
 * <p>The epoch is created with the file; it changes only when the node's index could restart
 * (a new data directory, or a journal found behind the acknowledged index).
 */
final class SyncState {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private volatile long epoch;
    private volatile long acknowledgedIndex;

    private SyncState(Path file, long epoch, long acknowledgedIndex) {
        this.file = file;
        this.epoch = epoch;
        this.acknowledgedIndex = acknowledgedIndex;
    }

    /** Reads the state, or starts a new epoch when there is none (or it is unreadable). */
    static SyncState load(Path file) {
        if (Files.exists(file)) {
            try {
                JsonNode node = JSON.readTree(file.toFile());
                long epoch = node.path("epoch").asLong(0);
                long acked = node.path("acknowledgedIndex").asLong(0);
                if (epoch > 0 && acked >= 0) {
                    return new SyncState(file, epoch, acked);
                }
            } catch (IOException e) {
                // unreadable: a new epoch makes the cloud take everything again, which is safe
            }
        }
        SyncState fresh = new SyncState(file, System.currentTimeMillis(), 0);
        fresh.write();
        return fresh;
    }

    long epoch() {
        return epoch;
    }

    long acknowledgedIndex() {
        return acknowledgedIndex;
    }

    /** Starts a new epoch: the node's index restarted below what the cloud already has. */
    void newEpoch() {
        epoch = Math.max(epoch + 1, System.currentTimeMillis());
        acknowledgedIndex = 0;
        write();
    }

    void saveAcknowledged(long index) {
        acknowledgedIndex = index;
        write();
    }

    private synchronized void write() {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            byte[] body = JSON.writeValueAsBytes(
                    JSON.createObjectNode().put("epoch", epoch).put("acknowledgedIndex", acknowledgedIndex));
            Files.write(tmp, body);
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write sync state: path=" + file, e);
        }
    }
}
