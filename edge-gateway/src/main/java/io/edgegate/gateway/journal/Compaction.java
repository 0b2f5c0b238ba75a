package io.edgegate.gateway.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One compaction, begun by {@link Journal#beginCompaction(long)} on the writer thread: the log
 * has been rolled over to a fresh segment, and what is left is to write the snapshot as of
 * {@link #index()} and delete the sealed segments it makes redundant. {@link #write} does that
 * on any <em>one</em> thread while the writer keeps appending and forcing; nothing it does waits
 * for the writer or makes the writer wait.
 *
 * <p>What {@link #write} touches, and why none of it races with the writer thread:
 * <ul>
 *   <li>files: {@code journal.snapshot.tmp} and {@code journal.snapshot} (the journal touches
 *       them only through a compaction or at recovery, before any compaction exists, and at most
 *       one compaction exists at a time), the data directory (through its own channel, for
 *       {@code fsync}), and the sealed segments it deletes: the writer closed them at the
 *       rollover and never opens them again;</li>
 *   <li>memory: the journal's final fields (paths, channel factory), this object's own state
 *       (an immutable list of paths, a staging buffer it allocates), {@link Journal}'s volatile
 *       {@code closing} flag, and the three counters it shares with the writer
 *       ({@code bytesWritten}, {@code compactions}, {@code failedCompactions}), which are
 *       atomic;</li>
 *   <li>completion is published by one atomic state, written last; the writer reads it in
 *       {@link Journal#compacting()}, {@link Journal#logBytes()} and
 *       {@link Journal#beginCompaction(long)}, and only then drops the covered segments from its
 *       own bookkeeping. The writer's channel, buffer, lengths and indices are never read here.</li>
 * </ul>
 * Hand the object to the other thread through anything that orders memory (an executor, a
 * concurrent queue, {@code Thread.start}). Interrupting that thread during {@code write} closes
 * the snapshot's channel under it: the compaction then fails cleanly, like any I/O error.
 */
public final class Compaction {

    private static final int BEGUN = 0;
    private static final int WRITING = 1;
    private static final int SUCCEEDED = 2;
    private static final int FAILED = 3;
    private static final int ABANDONED = 4;

    private static final int STAGING_CAPACITY = 64 * 1024;

    private final Journal journal;
    private final long index;
    /** Segment files the snapshot makes redundant, oldest first; deleted once it is durable. */
    private final List<Path> covered;
    /** How many of the journal's sealed segments, the oldest, {@link #covered} includes. */
    private final int sealedCount;

    private final AtomicInteger state = new AtomicInteger(BEGUN);
    private final CountDownLatch finished = new CountDownLatch(1);
    /** Covered files that could not be deleted; written before the final state is. */
    private volatile List<Path> undeleted = List.of();

    Compaction(Journal journal, long index, List<Path> covered, int sealedCount) {
        this.journal = journal;
        this.index = index;
        this.covered = List.copyOf(covered);
        this.sealedCount = sealedCount;
    }

    /** The index the snapshot is taken at, as given to {@link Journal#beginCompaction(long)}. */
    public long index() {
        return index;
    }

    /**
     * Writes the snapshot atomically (temporary file, {@code fsync}, rename, {@code fsync} of the
     * directory), then deletes the sealed segments it covers. Call once, from any one thread,
     * concurrently with {@link Journal#append} and {@link Journal#force()} on the writer thread.
     * Crash-safe at every step (see {@link Journal}).
     *
     * @param entries the state as of {@link #index()}, iterated once, each entry at most 64 MiB;
     *     must not change while it is written (pass a copy, not the live state)
     * @throws JournalException on I/O failure, or if the journal is closed before or while the
     *     snapshot is written ({@link JournalException#usable() not usable} then): the previous
     *     snapshot and every segment stay in force and the next compaction covers them again; or,
     *     usable, when the snapshot is in force but some covered segments could not be deleted
     *     (counted as a compaction: recovery skips them, the next compaction deletes them)
     * @throws NullPointerException if an entry is null, and any exception the iterator throws:
     *     the compaction fails as above and the exception propagates
     * @throws IllegalStateException if {@code write} was called before, or the compaction was
     *     {@link #abandon() abandoned}
     */
    public void write(Iterable<byte[]> entries) {
        Objects.requireNonNull(entries, "compaction: entries");
        if (!state.compareAndSet(BEGUN, WRITING)) {
            if (journal.closing()) {
                throw new JournalException(
                        "compact: the journal was closed before the snapshot was written: index=" + index + ", dir="
                                + journal.directory(),
                        false,
                        null);
            }
            throw new IllegalStateException("compaction: write runs once and not after abandon(): state="
                    + describe(state.get()) + ", index=" + index);
        }
        int outcome = FAILED;
        try {
            writeSnapshot(entries);
            outcome = SUCCEEDED;
            deleteCovered();
        } finally {
            state.set(outcome);
            finished.countDown();
        }
    }

    /**
     * Gives the compaction up before {@link #write} starts, e.g. when the snapshot could not be
     * encoded or no thread took the task; counted as a failed compaction. Nothing on disk
     * changes: the segments sealed for it are covered by the next compaction. Any thread.
     *
     * @return whether it was abandoned; {@code false} if {@code write} already started, or it
     *     was abandoned before
     */
    public boolean abandon() {
        if (!state.compareAndSet(BEGUN, ABANDONED)) {
            return false;
        }
        journal.compactionFailed();
        finished.countDown();
        return true;
    }

    @Override
    public String toString() {
        return "Compaction[index=" + index + ", state=" + describe(state.get()) + ", coveredSegments=" + covered.size()
                + "]";
    }

    private void writeSnapshot(Iterable<byte[]> entries) {
        Path temp = journal.snapshotTempPath();
        Path target = journal.snapshotPath();
        long bytes;
        try {
            if (journal.closing()) {
                throw new IOException("journal closed before the snapshot was written");
            }
            Files.deleteIfExists(temp);
            bytes = SnapshotFile.write(
                    journal.channels(), temp, index, entries, new WriteBuffer(STAGING_CAPACITY), journal::closing);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException | Error e) {
            journal.compactionFailed();
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            if (e instanceof IOException io) {
                throw new JournalException(
                        "compact: snapshot not written, the previous snapshot and every log segment stay in use: "
                                + "file=" + target + ", index=" + index + ", cause=" + io,
                        !journal.closing(),
                        io);
            }
            if (e instanceof RuntimeException unchecked) {
                throw unchecked; // a bad entry from the caller, or its iterator failed: nothing changed on disk
            }
            throw (Error) e;
        }
        try {
            // The snapshot must be durably in place before the segments it replaces go.
            journal.syncDirectory();
        } catch (IOException e) {
            journal.compactionFailed();
            throw new JournalException(
                    "compact: snapshot renamed but the directory sync failed, every log segment is kept: file=" + target
                            + ", index=" + index + ", cause=" + e,
                    !journal.closing(),
                    e);
        }
        journal.compactionSucceeded(bytes);
    }

    /**
     * Deletes the covered segments, oldest first. No directory sync: a deletion lost in a crash
     * is redone by recovery, which deletes every segment that ends at or below the snapshot.
     */
    private void deleteCovered() {
        List<Path> left = new ArrayList<>();
        IOException failure = null;
        for (Path path : covered) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                left.add(path);
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            undeleted = List.copyOf(left);
            throw new JournalException(
                    "compact: snapshot written, but covered log segments could not be deleted; recovery skips "
                            + "them and the next compaction deletes them: index=" + index + ", files=" + left
                            + ", cause=" + failure,
                    true,
                    failure);
        }
    }

    /** Whether {@link #write} returned or the compaction was abandoned. */
    boolean finished() {
        return state.get() >= SUCCEEDED;
    }

    /** Whether the snapshot is in force (segment deletion may still have failed). */
    boolean succeeded() {
        return state.get() == SUCCEEDED;
    }

    int sealedCount() {
        return sealedCount;
    }

    /** Covered files still on disk; read after {@link #finished()} answered {@code true}. */
    List<Path> undeleted() {
        return undeleted;
    }

    /**
     * For {@link Journal#close()}: abandons the compaction if {@code write} has not started, else
     * waits for {@code write} to return. The journal is closing by then, so a write still
     * framing entries stops at the next one; one past its rename only finishes deleting.
     */
    void abandonOrAwait() {
        if (abandon()) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                finished.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static String describe(int state) {
        return switch (state) {
            case BEGUN -> "begun";
            case WRITING -> "writing";
            case SUCCEEDED -> "succeeded";
            case FAILED -> "failed";
            case ABANDONED -> "abandoned";
            default -> "unknown " + state;
        };
    }
}
