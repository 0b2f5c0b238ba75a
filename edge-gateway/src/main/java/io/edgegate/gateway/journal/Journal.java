package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalFormat.LOCK_FILE;
import static io.edgegate.gateway.journal.JournalFormat.LOG_FILE;
import static io.edgegate.gateway.journal.JournalFormat.LOG_HEADER_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.LOG_MAGIC;
import static io.edgegate.gateway.journal.JournalFormat.MAX_PAYLOAD_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.SNAPSHOT_FILE;
import static io.edgegate.gateway.journal.JournalFormat.TEMP_SUFFIX;
import static io.edgegate.gateway.journal.JournalFormat.VERSION;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The registry's durable journal: an append-only log of opaque payloads, each tagged with the
 * registry's change index, plus a snapshot that lets the log be truncated. The journal knows
 * nothing of what the payloads mean.
 *
 * <h2>Threading</h2>
 * Not thread-safe: every method except {@link #stats()} is owned by the registry writer thread.
 * {@code stats()} may be read from any thread; each counter is exact, the set is not atomic.
 * Do not interrupt the owning thread while it is in a journal call: an interrupt closes the
 * {@link FileChannel} under it ({@link java.nio.channels.ClosedByInterruptException}) and breaks
 * the journal until it is reopened.
 *
 * <h2>Life cycle</h2>
 * {@link #open} (takes the directory lock) → {@link #recover()} once → any number of
 * {@link #append}s followed by one {@link #force()} (group commit: the batch is written with one
 * positional write and made durable with one {@code fdatasync}) → {@link #compact} now and then,
 * right after a force → {@link #close()}.
 *
 * <h2>Durability</h2>
 * A record is durable once {@code force()} returns. {@code force()} uses
 * {@link FileChannel#force(boolean) force(false)}, i.e. {@code fdatasync(2)}: it flushes the data
 * and the metadata needed to read it back, including the grown file length, but not the
 * modification time, which saves a second journal write on ext4/xfs. Files that are created or
 * renamed (the log, the snapshot) are made durable by forcing them and then forcing their
 * directory; directory syncs are skipped on Windows, where a directory cannot be opened.
 *
 * <h2>Failures</h2>
 * Every failure is an unchecked {@link JournalException} whose {@link JournalException#usable()}
 * says whether this instance still works. If a force fails (e.g. {@code ENOSPC}), the batch is
 * dropped, the log is truncated back to its last forced length and that truncation is forced, so
 * no partial record survives and a refused batch cannot come back after a crash; the journal stays
 * usable and the next batch may reuse the dropped indices. If that cleanup fails too, the journal
 * is broken: every later call throws until it is closed and reopened.
 *
 * <h2>Files</h2>
 * In the data directory: {@code journal.lock} (holds the {@link FileLock}; never deleted),
 * {@code journal.log}, {@code journal.snapshot} (absent until the first compaction), and
 * {@code *.tmp} files that exist only during a compaction and are deleted at recovery.
 *
 * <h2>Format (version 1, every number little-endian)</h2>
 * <pre>
 * record   := length:int32  crc:int32  index:int64  payload:byte[length]
 *             crc = CRC32C(index bytes, payload bytes); 0 &lt;= length &lt;= 64 MiB
 *
 * log      := header record*
 *   header := magic:int32 = bytes "EGJL"  version:int32 = 1  baseIndex:int64  crc:int32
 *             baseIndex = snapshot index the log was started after; crc = CRC32C(first 16 bytes)
 *
 * snapshot := header record* trailer
 *   header := magic:int32 = bytes "EGSN"  version:int32 = 1  index:int64  count:int64  crc:int32
 *             crc = CRC32C(first 24 bytes); each record's index field is its position 0..count-1
 *   trailer:= magic:int32 = bytes "EGSE"  crc:int32 = CRC32C(every record byte)
 * </pre>
 *
 * <h2>Recovery</h2>
 * The snapshot must be perfect: any defect is a hard error, because starting without it would
 * silently lose state. The log is read up to its first defect: a record cut short, an impossible
 * length, a checksum mismatch or an index that does not increase. A crash during a write leaves
 * exactly such a tail, so it is expected: the file is truncated there and the cut bytes are
 * reported. Records with an index at or below the snapshot's are skipped: they remain when a
 * crash fell between the snapshot's rename and the log's replacement, and recovery then finishes
 * that compaction by replacing the log. A log whose base index is above the snapshot's means the
 * snapshot was lost or replaced: hard error.
 *
 * <h2>Compaction, step by step, with the state a crash after each step recovers to</h2>
 * <ol>
 *   <li>write {@code journal.snapshot.tmp}, force it: old snapshot + old log (tmp deleted);</li>
 *   <li>rename it to {@code journal.snapshot}, force the directory: new snapshot + old log, whose
 *       records are all at or below the snapshot index and so are skipped;</li>
 *   <li>write {@code journal.log.tmp} holding only a header, force it: as before;</li>
 *   <li>rename it over {@code journal.log} (this deletes the old log), force the directory: new
 *       snapshot + empty log.</li>
 * </ol>
 */
public final class Journal implements AutoCloseable {

    private enum State {
        OPENED,
        READY,
        BROKEN,
        CLOSED
    }

    private static final int INITIAL_BATCH_CAPACITY = 64 * 1024;
    private static final boolean DIRECTORY_SYNC =
            !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

    private final Path dir;
    private final Path logPath;
    private final Path logTempPath;
    private final Path snapshotPath;
    private final Path snapshotTempPath;
    private final FileChannelFactory channels;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final WriteBuffer batch = new WriteBuffer(INITIAL_BATCH_CAPACITY);

    private State state = State.OPENED;
    private JournalException brokenBy;
    private FileChannel log;
    /** Length of the log file that is known durable; batches are written here. */
    private long forcedLength;
    /** Highest durable index. */
    private long lastIndex;
    /** Highest index appended, durable or buffered; the next append must exceed it. */
    private long lastBufferedIndex;

    private int bufferedRecords;

    // Written only by the owning thread; volatile so stats() may be read from any thread.
    private volatile long recordsAppended;
    private volatile long forces;
    private volatile long bytesWritten;
    private volatile long tornBytesCut;
    private volatile long compactions;
    private volatile long failedForces;
    private volatile long failedCompactions;

    private Journal(Path dir, JournalOptions options, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.logPath = dir.resolve(LOG_FILE);
        this.logTempPath = dir.resolve(LOG_FILE + TEMP_SUFFIX);
        this.snapshotPath = dir.resolve(SNAPSHOT_FILE);
        this.snapshotTempPath = dir.resolve(SNAPSHOT_FILE + TEMP_SUFFIX);
        this.channels = options.channels();
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens (creating if needed) the journal directory and takes an exclusive {@link FileLock}
     * on its lock file, so two gateways, or two journals in one process, cannot share a data
     * directory. Reads nothing else: call {@link #recover()} next.
     *
     * @throws JournalException (not usable) if the directory cannot be created or is locked
     */
    public static Journal open(Path dir, JournalOptions options) {
        Objects.requireNonNull(dir, "open: dir");
        Objects.requireNonNull(options, "open: options");
        FileChannel lockChannel = null;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                Path parent = dir.toAbsolutePath().getParent();
                if (parent != null) {
                    syncDirectory(options.channels(), parent); // or the new directory may vanish in a crash
                }
            }
            lockChannel = options.channels().open(dir.resolve(LOCK_FILE), Set.of(CREATE, WRITE));
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                closeQuietly(lockChannel, e);
                throw new JournalException("journal directory is already open in this process: dir=" + dir, false, e);
            }
            if (lock == null) {
                lockChannel.close();
                throw new JournalException(
                        "journal directory is locked by another process, is a second gateway running?: dir=" + dir,
                        false,
                        null);
            }
            return new Journal(dir, options, lockChannel, lock);
        } catch (IOException e) {
            closeQuietly(lockChannel, e);
            throw new JournalException("cannot open journal directory: dir=" + dir + ", cause=" + e, false, e);
        }
    }

    /**
     * Reads the snapshot, if any, and every valid log record after it, cuts a torn or corrupt
     * tail off the log (truncating the file to the end of the last valid record) and leaves the
     * journal ready for {@link #append}. Call exactly once, before the first append.
     *
     * @throws JournalException (not usable) if the snapshot or a file header is corrupt, or on
     *     I/O failure; the journal must then be closed
     * @throws IllegalStateException if called twice or after close
     */
    public Recovery recover() {
        if (state != State.OPENED) {
            throw new IllegalStateException(
                    "recover: must be called once, right after open: state=" + state + ", dir=" + dir);
        }
        try {
            Files.deleteIfExists(snapshotTempPath);
            Files.deleteIfExists(logTempPath);
            SnapshotFile.Image snapshot =
                    Files.exists(snapshotPath) ? SnapshotFile.read(channels, snapshotPath) : SnapshotFile.Image.NONE;
            List<Record> records = new ArrayList<>();
            long cut = 0;
            if (Files.exists(logPath)) {
                cut = recoverLog(snapshot.index(), records);
            } else {
                // First start, or the log was removed by hand: the snapshot alone is the state.
                replaceLog(snapshot.index());
                syncDirectory();
            }
            lastIndex = records.isEmpty()
                    ? snapshot.index()
                    : records.get(records.size() - 1).index();
            lastBufferedIndex = lastIndex;
            tornBytesCut += cut;
            state = State.READY;
            return new Recovery(snapshot.index(), snapshot.entries(), records, cut);
        } catch (JournalException e) {
            throw breakOnRecovery(e);
        } catch (IOException e) {
            throw breakOnRecovery(new JournalException(
                    "recover: I/O failure reading the journal: dir=" + dir + ", cause=" + e, false, e));
        }
    }

    /** Scans the log into {@code records}, cuts its bad tail and returns the bytes cut. */
    private long recoverLog(long snapshotIndex, List<Record> records) throws IOException {
        log = channels.open(logPath, Set.of(READ, WRITE));
        long size = log.size();
        RecordReader in = new RecordReader(log, size);
        long baseIndex = readLogHeader(in, size);
        if (baseIndex > snapshotIndex) {
            throw new JournalException(
                    "journal log starts after the snapshot, the snapshot is missing or older "
                            + "than the log: file=" + logPath + ", logBaseIndex=" + baseIndex + ", snapshotIndex="
                            + snapshotIndex,
                    false,
                    null);
        }
        long previous = baseIndex;
        while (in.next() == RecordReader.RECORD && in.index() > previous) {
            previous = in.index();
            if (previous > snapshotIndex) {
                records.add(new Record(previous, in.payload()));
            }
        }
        long validEnd = in.recordStart();
        long cut = size - validEnd;
        if (cut > 0) {
            // A torn write, corruption or an index that does not increase: nothing after it can
            // be trusted, and a crash mid-write leaves exactly this, so it is cut, not fatal.
            log.truncate(validEnd);
            log.force(false);
        }
        forcedLength = validEnd;
        if (baseIndex < snapshotIndex && records.isEmpty()) {
            // A compaction crashed after renaming its snapshot: everything here is in the snapshot.
            replaceLog(snapshotIndex);
            syncDirectory();
        }
        return cut;
    }

    private long readLogHeader(RecordReader in, long size) throws IOException {
        if (size < LOG_HEADER_LENGTH) {
            throw new JournalException(
                    "journal log header is truncated: file=" + logPath + ", length=" + size, false, null);
        }
        in.require(LOG_HEADER_LENGTH);
        int checksum = in.peekChecksum(LOG_HEADER_LENGTH - Integer.BYTES);
        ByteBuffer header = in.buffer();
        int magic = header.getInt();
        int version = header.getInt();
        long baseIndex = header.getLong();
        int stored = header.getInt();
        if (magic != LOG_MAGIC) {
            throw new JournalException(
                    "not a journal log: file=" + logPath + ", magic=0x" + Integer.toHexString(magic), false, null);
        }
        if (version != VERSION) {
            throw new JournalException(
                    "unsupported journal log version: file=" + logPath + ", version=" + version + ", supported="
                            + VERSION,
                    false,
                    null);
        }
        if (checksum != stored) {
            throw new JournalException("journal log header checksum mismatch: file=" + logPath, false, null);
        }
        return baseIndex;
    }

    /**
     * Buffers one record; nothing reaches the file before {@link #force()}. The payload is
     * copied at once, so the caller may reuse the array.
     *
     * @param index the registry's change index, above every index appended before (durable or
     *     buffered); a fresh journal's {@link #lastIndex()} is {@code 0}, so indices start at 1
     * @throws IllegalArgumentException if the index does not increase or the payload exceeds
     *     64 MiB; nothing is buffered then
     * @throws JournalException (not usable) if the journal is broken
     */
    public void append(long index, byte[] payload) {
        requireReady("append");
        if (index <= lastBufferedIndex) {
            throw new IllegalArgumentException(
                    "append: index must increase: index=" + index + ", lastIndex=" + lastBufferedIndex);
        }
        Objects.requireNonNull(payload, "append: payload");
        if (payload.length > MAX_PAYLOAD_LENGTH) {
            throw new IllegalArgumentException("append: payload too large: index=" + index + ", length="
                    + payload.length + ", max=" + MAX_PAYLOAD_LENGTH);
        }
        batch.putRecord(index, payload);
        lastBufferedIndex = index;
        bufferedRecords++;
    }

    /**
     * Writes every buffered record with one positional write and makes them durable with one
     * {@code fdatasync} (group commit). Does nothing when nothing is buffered.
     *
     * <p>On failure the batch is dropped and the log is cut back to its last forced length
     * (and that is forced), so no partial record remains and the dropped batch cannot reappear
     * after a crash; the exception is then {@link JournalException#usable() usable} and the
     * next batch may reuse the dropped indices. If the cleanup fails as well, the exception is
     * not usable and the journal is broken until reopened; the batch's outcome is then unknown,
     * like a timeout: the records of it that reached the disk whole may be recovered.
     */
    public void force() {
        requireReady("force");
        if (bufferedRecords == 0) {
            return;
        }
        int records = bufferedRecords;
        int bytes = batch.position();
        try {
            batch.writeTo(log, forcedLength);
            log.force(false);
        } catch (IOException e) {
            failedForces++;
            dropBuffered();
            try {
                log.truncate(forcedLength);
                log.force(false);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
                throw breakJournal(
                        "force: write failed and the log could not be cut back, reopen the journal: "
                                + "file=" + logPath + ", forcedLength=" + forcedLength + ", droppedRecords=" + records
                                + ", cause=" + e,
                        e);
            }
            throw new JournalException(
                    "force: write failed, batch dropped and log cut back: file=" + logPath + ", forcedLength="
                            + forcedLength + ", droppedRecords=" + records + ", cause=" + e,
                    true,
                    e);
        }
        forcedLength += bytes;
        lastIndex = lastBufferedIndex;
        bufferedRecords = 0;
        recordsAppended += records;
        bytesWritten += bytes;
        forces++;
    }

    /**
     * Drops every buffered record, e.g. when the writer abandons a batch before forcing it.
     *
     * @return the records dropped
     */
    public int dropBuffered() {
        int dropped = bufferedRecords;
        batch.clear();
        bufferedRecords = 0;
        lastBufferedIndex = lastIndex;
        return dropped;
    }

    /** Records appended but not forced yet. */
    public int bufferedRecords() {
        return bufferedRecords;
    }

    /**
     * Bytes of records in the current log, i.e. forced since the last snapshot (the file
     * header is not counted). Compare with {@link JournalOptions#compactAfterBytes()}.
     */
    public long logBytes() {
        return Math.max(0, forcedLength - LOG_HEADER_LENGTH);
    }

    /**
     * Replaces the snapshot with one holding exactly {@code entries} as of {@code index}, then
     * starts a fresh, empty log and deletes the old one; crash-safe at every step (see the
     * class comment). Must follow a {@link #force()}: nothing may be buffered.
     *
     * @param index the index the entries are current at: at least {@link #lastIndex()}, so no
     *     durable record is left out of both snapshot and log; becomes the new last index
     * @param entries the state to keep, iterated once, each entry at most 64 MiB
     * @throws IllegalStateException if records are buffered
     * @throws IllegalArgumentException if {@code index} is below {@link #lastIndex()}
     * @throws JournalException on I/O failure: usable when the old snapshot and log stay in
     *     force (or the new snapshot with the old log, which is equally valid); not usable once
     *     the new log may not be durably in place
     */
    public void compact(long index, Iterable<byte[]> entries) {
        requireReady("compact");
        if (bufferedRecords > 0) {
            throw new IllegalStateException(
                    "compact: buffered records must be forced first: buffered=" + bufferedRecords + ", dir=" + dir);
        }
        if (index < lastIndex) {
            throw new IllegalArgumentException(
                    "compact: snapshot index is behind the journal: index=" + index + ", lastIndex=" + lastIndex);
        }
        Objects.requireNonNull(entries, "compact: entries");
        long snapshotBytes;
        try {
            Files.deleteIfExists(snapshotTempPath);
            snapshotBytes = SnapshotFile.write(channels, snapshotTempPath, index, entries, batch);
            Files.move(snapshotTempPath, snapshotPath, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            failedCompactions++;
            deleteQuietly(snapshotTempPath, e);
            if (e instanceof RuntimeException unchecked) {
                throw unchecked; // a bad entry from the caller: nothing changed on disk
            }
            throw new JournalException(
                    "compact: snapshot not written, the previous snapshot and log stay in use: " + "file="
                            + snapshotPath + ", index=" + index + ", cause=" + e,
                    true,
                    e);
        }
        // From here the snapshot may be the one recovery reads: a record at or below its index
        // would be skipped, so later appends must go above it even if the rest fails.
        lastIndex = index;
        lastBufferedIndex = index;
        try {
            // The new snapshot must be durably in place before the log that still covers it goes.
            syncDirectory();
            replaceLog(index);
        } catch (IOException e) {
            failedCompactions++;
            throw new JournalException(
                    "compact: log not replaced, the new snapshot and the old log stay in use: " + "file=" + logPath
                            + ", index=" + index + ", cause=" + e,
                    true,
                    e);
        }
        try {
            syncDirectory();
        } catch (IOException e) {
            failedCompactions++;
            throw breakJournal(
                    "compact: new log may not be durable, reopen the journal: dir=" + dir + ", index=" + index
                            + ", cause=" + e,
                    e);
        }
        bytesWritten += snapshotBytes + LOG_HEADER_LENGTH;
        compactions++;
    }

    /**
     * Writes a fresh log holding only a header into the temporary file, forces it and renames it
     * over the log, then switches appends to it. The caller forces the directory. If this
     * throws, the rename did not happen and the current log stays in use.
     */
    private void replaceLog(long baseIndex) throws IOException {
        FileChannel fresh = channels.open(logTempPath, Set.of(CREATE, TRUNCATE_EXISTING, READ, WRITE));
        try {
            ByteBuffer header = batch.buffer();
            header.putInt(LOG_MAGIC).putInt(VERSION).putLong(baseIndex);
            header.putInt(batch.checksum(0, header.position()));
            batch.writeTo(fresh, 0);
            fresh.force(false);
            Files.move(logTempPath, logPath, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            batch.clear();
            closeQuietly(fresh, e);
            deleteQuietly(logTempPath, e);
            throw e;
        }
        FileChannel old = log;
        log = fresh;
        forcedLength = LOG_HEADER_LENGTH;
        if (old != null) {
            try {
                old.close();
            } catch (IOException ignored) {
                // The old log is unlinked already; failing to close its descriptor loses nothing.
            }
        }
    }

    private void syncDirectory() throws IOException {
        syncDirectory(channels, dir);
    }

    /** Makes renames, creations and deletions in {@code directory} durable. */
    private static void syncDirectory(FileChannelFactory channels, Path directory) throws IOException {
        if (DIRECTORY_SYNC) {
            try (FileChannel channel = channels.open(directory, Set.of(READ))) {
                channel.force(true);
            }
        }
    }

    /** Highest durable index: recovered, forced or compacted at; {@code 0} for an empty journal. */
    public long lastIndex() {
        return lastIndex;
    }

    /** The counters; safe to call from any thread. */
    public JournalStats stats() {
        return new JournalStats(
                recordsAppended, forces, bytesWritten, tornBytesCut, compactions, failedForces, failedCompactions);
    }

    /** The data directory. */
    public Path directory() {
        return dir;
    }

    /**
     * Closes the log and releases the directory lock. Buffered records are dropped. Idempotent.
     *
     * @throws JournalException (not usable) if a channel fails to close; the lock is released
     *     regardless when the process exits
     */
    @Override
    public void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        dropBuffered();
        IOException failure = null;
        failure = closeCollecting(log, failure);
        log = null;
        try {
            lock.release();
        } catch (IOException e) {
            failure = e;
        }
        failure = closeCollecting(lockChannel, failure);
        if (failure != null) {
            throw new JournalException(
                    "close: failed to close journal files: dir=" + dir + ", cause=" + failure, false, failure);
        }
    }

    private void requireReady(String operation) {
        switch (state) {
            case READY -> {}
            case BROKEN ->
                throw new JournalException(
                        operation + ": journal is broken by an earlier failure, " + "reopen it: dir=" + dir,
                        false,
                        brokenBy);
            case OPENED -> throw new IllegalStateException(operation + ": recover() must run first: dir=" + dir);
            case CLOSED -> throw new IllegalStateException(operation + ": journal is closed: dir=" + dir);
        }
    }

    private JournalException breakJournal(String message, IOException cause) {
        state = State.BROKEN;
        brokenBy = new JournalException(message, false, cause);
        return brokenBy;
    }

    private JournalException breakOnRecovery(JournalException e) {
        state = State.BROKEN;
        brokenBy = e;
        closeQuietly(log, e);
        log = null;
        return e;
    }

    private static IOException closeCollecting(FileChannel channel, IOException failure) {
        if (channel == null) {
            return failure;
        }
        try {
            channel.close();
        } catch (IOException e) {
            if (failure == null) {
                return e;
            }
            failure.addSuppressed(e);
        }
        return failure;
    }

    private static void closeQuietly(FileChannel channel, Throwable primary) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                primary.addSuppressed(e);
            }
        }
    }

    private static void deleteQuietly(Path path, Throwable primary) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }
}
