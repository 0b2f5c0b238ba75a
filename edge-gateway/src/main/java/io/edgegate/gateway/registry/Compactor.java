package io.edgegate.gateway.registry;

import io.edgegate.gateway.journal.Compaction;
import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * Compaction of the registry's journal: once the log has grown past {@code compact-after-bytes},
 * and past the size of the last snapshot, the writer rolls it over and hands the live state (immutable instances and entries, copied by
 * reference) to a background thread, which encodes it and writes the snapshot while the writer
 * keeps forcing new batches. A failed snapshot backs off until the log has grown by as much again.
 *
 * <p>Why the snapshot's size too: a snapshot encodes and writes every instance, so with a fixed
 * threshold a registry of a million instances would write several bytes of snapshot per byte of
 * log, a cost per registration that grows with the registry. Waiting until the log is at least as
 * large as the last snapshot keeps it at most one byte per byte logged, whatever the size; the log
 * replayed at a restart stays within the larger of the two.
 *
 * <p>{@link #maybeCompact} and every field but {@link #failed} are owned by the registry thread;
 * the snapshot is encoded and written on the {@code edgegate-compactor} thread, which shares no
 * mutable object with the writer and reports a failure through the volatile {@link #failed}.
 */
final class Compactor {
    private final Journal journal;
    private final WriterState state;
    private final ErrorLog errors;
    private final long compactAfterBytes;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("edgegate-compactor").daemon(true).factory());
    /** Its own codec: the compactor thread shares no mutable object with the writer. */
    private final InstanceCodec codec = new InstanceCodec();
    /** Set by the compactor when a snapshot failed, read by the writer to back off. */
    private volatile boolean failed;

    /** Bytes of the entries of the last snapshot written (compactor thread), read by the writer. */
    private volatile long lastSnapshotBytes;

    private long nextCompactionBytes;

    Compactor(Journal journal, WriterState state, ErrorLog errors, long compactAfterBytes) {
        this.journal = journal;
        this.state = state;
        this.errors = errors;
        this.compactAfterBytes = compactAfterBytes;
    }

    /**
     * Starts a snapshot when the log has grown past its threshold. The writer only rolls the log
     * over; a background thread encodes the live state (immutable objects, copied by reference as
     * of the current index) and writes the snapshot while this thread keeps forcing new batches.
     */
    void maybeCompact() {
        if (failed) {
            failed = false;
            // Do not start a full snapshot after every commit on a failing disk: wait until the
            // log has grown by as much again.
            nextCompactionBytes = 2 * journal.logBytes();
        }
        long logBytes = journal.logBytes();
        if (state.journalBroken()
                || journal.compacting()
                || logBytes < Math.max(Math.max(compactAfterBytes, nextCompactionBytes), lastSnapshotBytes)) {
            return;
        }
        Compaction compaction;
        try {
            compaction = journal.beginCompaction(Math.max(state.index(), journal.lastIndex()));
        } catch (JournalException e) {
            errors.record(e);
            state.journalBroken(!e.usable());
            nextCompactionBytes = 2 * logBytes;
            return;
        }
        nextCompactionBytes = 0;
        List<Instance> live = new ArrayList<>(state.instances());
        List<InstanceCodec.ConfigEntry> settings = state.configEntries();
        try {
            executor.execute(() -> writeSnapshot(compaction, live, settings));
        } catch (RejectedExecutionException e) {
            compaction.abandon();
        }
    }

    /** The registry is closing; a snapshot still being written is waited for by {@link Journal#close}. */
    void shutdown() {
        executor.shutdown();
    }

    /** On the compactor thread: encodes the state handed over and writes it as the snapshot. */
    private void writeSnapshot(Compaction compaction, List<Instance> live, List<InstanceCodec.ConfigEntry> settings) {
        List<byte[]> entries = new ArrayList<>(live.size() + settings.size());
        try {
            for (Instance instance : live) {
                entries.add(codec.put(instance));
            }
            for (InstanceCodec.ConfigEntry entry : settings) {
                entries.add(codec.config(entry));
            }
        } catch (RuntimeException e) {
            compaction.abandon();
            errors.record(e);
            failed = true;
            return;
        }
        try {
            compaction.write(entries);
            long bytes = 0;
            for (byte[] entry : entries) {
                bytes += entry.length;
            }
            lastSnapshotBytes = bytes;
        } catch (RuntimeException e) {
            errors.record(e);
            failed = true;
        }
    }
}
