package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalFormat.LEGACY_LOG_FILE;
import static io.edgegate.gateway.journal.JournalFormat.LOCK_FILE;
import static io.edgegate.gateway.journal.JournalFormat.LOG_HEADER_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.LOG_MAGIC;
import static io.edgegate.gateway.journal.JournalFormat.MAX_PAYLOAD_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.SNAPSHOT_FILE;
import static io.edgegate.gateway.journal.JournalFormat.TEMP_SUFFIX;
import static io.edgegate.gateway.journal.JournalFormat.VERSION;
import static io.edgegate.gateway.journal.JournalFormat.segmentBase;
import static io.edgegate.gateway.journal.JournalFormat.segmentName;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The registry's durable journal: an append-only log of opaque payloads, each tagged with the
 * registry's change index, kept as a sequence of segment files, plus a snapshot that makes the
 * older segments redundant. The journal knows nothing of what the payloads mean.
 *
 * <h2>Threading</h2>
 * Not thread-safe: every method is owned by the registry writer thread, except {@link #stats()},
 * which may be read from any thread (each counter is exact, the set is not atomic), and the
 * {@link Compaction} handle, whose {@link Compaction#write write} runs on any one other thread
 * while the writer goes on appending and forcing. The compaction thread touches only the snapshot
 * files, the sealed segments it deletes (closed by the writer at the rollover, never opened
 * again), the directory, the journal's final fields, the volatile {@code closing} flag and three
 * atomic counters; completion is published through the compaction's atomic state, which the
 * writer reads before it updates its own bookkeeping (details on {@link Compaction}).
 * Do not interrupt the owning thread while it is in a journal call: an interrupt closes the
 * {@link FileChannel} under it ({@link java.nio.channels.ClosedByInterruptException}) and breaks
 * the journal until it is reopened.
 *
 * <h2>Life cycle</h2>
 * {@link #open} (takes the directory lock) → {@link #recover()} once → any number of
 * {@link #append}s followed by one {@link #force()} (group commit: the batch is written with one
 * positional write and made durable with one {@code fdatasync}) → now and then, right after a
 * force, {@link #beginCompaction} (a rollover to a new segment, a few milliseconds) with the
 * snapshot written by {@link Compaction#write} on another thread, or {@link #compact} doing both
 * on the writer thread → {@link #close()}.
 *
 * <h2>Durability</h2>
 * A record is durable once {@code force()} returns. {@code force()} uses
 * {@link FileChannel#force(boolean) force(false)}, i.e. {@code fdatasync(2)}: it flushes the data
 * and the metadata needed to read it back, including the grown file length, but not the
 * modification time, which saves a second journal write on ext4/xfs. Files that are created or
 * renamed (segments, the snapshot) are made durable by forcing them and then forcing their
 * directory; directory syncs are skipped on Windows, where a directory cannot be opened.
 *
 * <h2>Failures</h2>
 * Every failure is an unchecked {@link JournalException} whose {@link JournalException#usable()}
 * says whether this instance still works. If a force fails (e.g. {@code ENOSPC}), the batch is
 * dropped, the segment is truncated back to its last forced length and that truncation is forced,
 * so no partial record survives and a refused batch cannot come back after a crash; the journal
 * stays usable and the next batch may reuse the dropped indices. If that cleanup fails too, the
 * journal is broken: every later call throws until it is closed and reopened. A failed compaction
 * leaves the journal usable: the previous snapshot and every segment stay in force.
 *
 * <h2>Files</h2>
 * In the data directory: {@code journal.lock} (holds the {@link FileLock}; never deleted), the log
 * segments {@code journal-<baseIndex as 20 decimal digits>.log}, {@code journal.snapshot} (absent
 * until the first compaction), and {@code *.tmp} files that exist only while a segment or a
 * snapshot is being created and are deleted at recovery. The last segment is the current one,
 * appended to; every earlier one is <em>sealed</em>: forced whole before the next was created and
 * never written again. A {@code journal.log} left by the first, single-file format is a segment
 * with the same header and records: recovery renames it to its segment name.
 *
 * <h2>Format (version 1, every number little-endian)</h2>
 * <pre>
 * record   := length:int32  crc:int32  index:int64  payload:byte[length]
 *             crc = CRC32C(index bytes, payload bytes); 0 &lt;= length &lt;= 64 MiB
 *
 * segment  := header record*
 *   header := magic:int32 = bytes "EGJL"  version:int32 = 1  baseIndex:int64  crc:int32
 *             crc = CRC32C(first 16 bytes); baseIndex = the file name's index = the index the
 *             segment's records follow: the previous segment's last record index, or the snapshot
 *             index (0 without one) for a segment started when there was none
 *
 * snapshot := header record* trailer
 *   header := magic:int32 = bytes "EGSN"  version:int32 = 1  index:int64  count:int64  crc:int32
 *             crc = CRC32C(first 24 bytes); each record's index field is its position 0..count-1
 *   trailer:= magic:int32 = bytes "EGSE"  crc:int32 = CRC32C(every record byte)
 * </pre>
 * Invariants: records increase strictly across all segments and exceed their segment's base; a
 * sealed segment holds at least one record and the next segment's base is its last record's
 * index, so the segments form a chain with no gap; the first segment's base is at or below the
 * snapshot index; a snapshot at index {@code I} is written only after every record at or below
 * {@code I} is in a sealed segment.
 *
 * <h2>Recovery</h2>
 * The snapshot must be perfect: any defect is a hard error, because starting without it would
 * silently lose state. Segments whose successor's base is at or below the snapshot index hold
 * only records the snapshot has: a compaction crashed before deleting them, and recovery deletes
 * them unread. The rest are read in base order, records at or below the snapshot index skipped. A
 * segment is read up to its first defect: a record cut short, an impossible length, a checksum
 * mismatch or an index that does not increase. In the last segment a crash during a write leaves
 * exactly such a tail, so it is expected: the file is truncated there and the cut bytes are
 * reported. In a sealed segment it cannot be a torn write, since the segment was forced whole
 * before the next one existed: hard error, like a header defect, a header base that differs from
 * the file name, a broken chain, or a first segment starting above the snapshot (the snapshot
 * was lost or replaced).
 *
 * <h2>Compaction, step by step, with the state a crash after each step recovers to</h2>
 * On the writer thread, {@link #beginCompaction} (skipped when the current segment holds no
 * record: it becomes the segment after the snapshot as it is):
 * <ol>
 *   <li>write {@code journal-<last index>.log.tmp} holding only a header, force it: old snapshot +
 *       every segment (the temp file is deleted);</li>
 *   <li>rename it to {@code journal-<last index>.log}, force the directory, append to it from now
 *       on: as before, plus the new segment; every record after the old snapshot, in whichever
 *       segment, is replayed.</li>
 * </ol>
 * On the compaction thread, {@link Compaction#write}:
 * <ol start="3">
 *   <li>write {@code journal.snapshot.tmp}, force it: as after step 2 (the temp file is
 *       deleted);</li>
 *   <li>rename it to {@code journal.snapshot}, force the directory: new snapshot + every segment;
 *       the sealed ones end at or below its index, so recovery deletes them unread and replays
 *       only the records after the snapshot;</li>
 *   <li>delete the sealed segments, oldest first, without a directory sync (a deletion lost in a
 *       crash is redone by the rule of step 4): new snapshot + the segments after it.</li>
 * </ol>
 */
public final class Journal implements AutoCloseable {

    private enum State {
        OPENED,
        READY,
        BROKEN,
        CLOSED
    }

    /** A segment file; {@code recordBytes} is known once it has been read or sealed. */
    private record Segment(Path path, long baseIndex, long recordBytes) {}

    /** What reading one segment found: its last record index and where its valid data ends. */
    private record Scan(long endIndex, long validEnd, long size, String defect) {}

    private static final int INITIAL_BATCH_CAPACITY = 64 * 1024;
    private static final boolean DIRECTORY_SYNC =
            !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

    // Final: read by the compaction thread too.
    private final Path dir;
    private final Path legacyLogPath;
    private final Path snapshotPath;
    private final Path snapshotTempPath;
    private final FileChannelFactory channels;
    private final FileChannel lockChannel;
    private final FileLock lock;

    // Writer thread only.
    private final WriteBuffer batch = new WriteBuffer(INITIAL_BATCH_CAPACITY);
    private State state = State.OPENED;
    private JournalException brokenBy;
    /** The current segment, appended to. */
    private FileChannel log;

    private Path logPath;
    /** Base index of the current segment. */
    private long logBase;
    /** Index of the current segment's last durable record, or {@link #logBase} if it has none. */
    private long logEnd;
    /** Length of the current segment that is known durable; batches are written here. */
    private long forcedLength;
    /** Highest durable index, or the index of the compaction begun last if higher. */
    private long lastIndex;
    /** Highest index appended, durable or buffered; the next append must exceed it. */
    private long lastBufferedIndex;

    private int bufferedRecords;
    /** Sealed segments no finished snapshot covers yet, oldest first. */
    private final ArrayDeque<Segment> sealed = new ArrayDeque<>();
    /** Record bytes of {@link #sealed}. */
    private long sealedBytes;
    /** Segments a finished snapshot covers that could not be deleted; the next compaction tries. */
    private List<Path> leftovers = List.of();
    /** The compaction begun last, until the writer sees it finished. */
    private Compaction compaction;

    /** Told of each group commit (metrics); null for none. */
    private volatile ForceObserver forceObserver;

    /** Set by {@link #close()}; a running {@link Compaction#write} polls it and stops. */
    private volatile boolean closing;

    // Written only by the owning thread; volatile so stats() may be read from any thread.
    private volatile long recordsAppended;
    private volatile long forces;
    private volatile long tornBytesCut;
    private volatile long failedForces;
    // Written by the owning thread and the compaction thread.
    private final AtomicLong bytesWritten = new AtomicLong();
    private final AtomicLong compactions = new AtomicLong();
    private final AtomicLong failedCompactions = new AtomicLong();

    private Journal(Path dir, JournalOptions options, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.legacyLogPath = dir.resolve(LEGACY_LOG_FILE);
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
     * Reads the snapshot, if any, and every valid record after it in the segments, deletes the
     * segments a snapshot already covers, cuts a torn or corrupt tail off the last segment
     * (truncating the file to the end of the last valid record) and leaves the journal ready for
     * {@link #append}. A {@code journal.log} of the first format is renamed to its segment name
     * first. Call exactly once, before the first append.
     *
     * @throws JournalException (not usable) if the snapshot, a segment header or a sealed segment
     *     is corrupt, the segments do not chain, or on I/O failure; the journal must be closed
     * @throws IllegalStateException if called twice or after close
     */
    public Recovery recover() {
        if (state != State.OPENED) {
            throw new IllegalStateException(
                    "recover: must be called once, right after open: state=" + state + ", dir=" + dir);
        }
        try {
            deleteTempFiles();
            SnapshotFile.Image snapshot =
                    Files.exists(snapshotPath) ? SnapshotFile.read(channels, snapshotPath) : SnapshotFile.Image.NONE;
            migrateLegacyLog();
            List<Segment> segments = listSegments();
            List<Record> records = new ArrayList<>();
            long cut = 0;
            if (segments.isEmpty()) {
                // First start, or the log was removed by hand: the snapshot alone is the state.
                Path path = dir.resolve(segmentName(snapshot.index()));
                log = createSegment(path, snapshot.index());
                syncDirectory();
                logPath = path;
                logBase = snapshot.index();
                logEnd = logBase;
                forcedLength = LOG_HEADER_LENGTH;
            } else {
                cut = recoverSegments(snapshot.index(), segments, records);
            }
            lastIndex = Math.max(snapshot.index(), logEnd);
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

    /** Deletes what a crash left of a segment or snapshot being created. */
    private void deleteTempFiles() throws IOException {
        for (Path path : listDirectory()) {
            String name = path.getFileName().toString();
            if (!name.endsWith(TEMP_SUFFIX)) {
                continue;
            }
            String target = name.substring(0, name.length() - TEMP_SUFFIX.length());
            if (target.equals(SNAPSHOT_FILE) || target.equals(LEGACY_LOG_FILE) || segmentBase(target) >= 0) {
                Files.deleteIfExists(path);
            }
        }
    }

    /**
     * Renames a {@code journal.log} of the first format (one file, same header and records) to
     * the segment name its header gives. The rename is atomic, so a crash leaves either name.
     */
    private void migrateLegacyLog() throws IOException {
        if (!Files.exists(legacyLogPath)) {
            return;
        }
        List<Segment> segments = listSegments();
        if (!segments.isEmpty()) {
            throw new JournalException(
                    "journal directory holds both a legacy journal.log and log segments, refusing to guess "
                            + "which is current: file=" + legacyLogPath + ", firstSegment="
                            + segments.get(0).path(),
                    false,
                    null);
        }
        long baseIndex;
        try (FileChannel channel = channels.open(legacyLogPath, Set.of(READ))) {
            long size = channel.size();
            baseIndex = readLogHeader(new RecordReader(channel, size), size, legacyLogPath);
        }
        Files.move(legacyLogPath, dir.resolve(segmentName(baseIndex)), StandardCopyOption.ATOMIC_MOVE);
        syncDirectory();
    }

    private List<Path> listDirectory() throws IOException {
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(paths::add);
        }
        return paths;
    }

    /** The segment files, by base index. */
    private List<Segment> listSegments() throws IOException {
        List<Segment> segments = new ArrayList<>();
        for (Path path : listDirectory()) {
            long base = segmentBase(path.getFileName().toString());
            if (base >= 0) {
                segments.add(new Segment(path, base, -1));
            }
        }
        segments.sort(Comparator.comparingLong(Segment::baseIndex));
        return segments;
    }

    /**
     * Deletes the segments the snapshot covers, reads the others into {@code records}, cuts the
     * last one's bad tail and makes it current; returns the bytes cut.
     */
    private long recoverSegments(long snapshotIndex, List<Segment> found, List<Record> records) throws IOException {
        Segment first = found.get(0);
        if (first.baseIndex() > snapshotIndex) {
            throw new JournalException(
                    "journal log starts after the snapshot, the snapshot is missing or older "
                            + "than the log: file=" + first.path() + ", logBaseIndex=" + first.baseIndex()
                            + ", snapshotIndex=" + snapshotIndex,
                    false,
                    null);
        }
        int from = 0;
        while (from + 1 < found.size() && found.get(from + 1).baseIndex() <= snapshotIndex) {
            from++;
        }
        // Segments before 'from' end at or below the snapshot index (the next one's base is their
        // last index): a compaction crashed before deleting them. Finish its job.
        List<Path> undeleted = new ArrayList<>();
        for (int i = 0; i < from; i++) {
            try {
                Files.deleteIfExists(found.get(i).path());
            } catch (IOException e) {
                undeleted.add(found.get(i).path()); // harmless: skipped again, retried by the next compaction
            }
        }
        leftovers = List.copyOf(undeleted);
        long cut = 0;
        long previousEnd = -1;
        for (int i = from; i < found.size(); i++) {
            Segment segment = found.get(i);
            boolean last = i == found.size() - 1;
            if (i > from && segment.baseIndex() != previousEnd) {
                throw new JournalException(
                        "journal log segments do not chain, a segment is missing or was replaced: file="
                                + segment.path() + ", baseIndex=" + segment.baseIndex() + ", previousSegmentLastIndex="
                                + previousEnd,
                        false,
                        null);
            }
            Scan scan;
            if (last) {
                log = channels.open(segment.path(), Set.of(READ, WRITE)); // closed by breakOnRecovery on failure
                scan = scanSegment(log, segment, snapshotIndex, records);
            } else {
                try (FileChannel channel = channels.open(segment.path(), Set.of(READ))) {
                    scan = scanSegment(channel, segment, snapshotIndex, records);
                }
            }
            if (scan.defect() != null) {
                if (!last) {
                    throw new JournalException(
                            "journal log segment is corrupt: it is sealed, so it was forced whole before the next "
                                    + "segment was created and this is not a torn write: file=" + segment.path()
                                    + ", offset=" + scan.validEnd() + ", reason=" + scan.defect() + ", length="
                                    + scan.size(),
                            false,
                            null);
                }
                // A torn write, corruption or an index that does not increase: nothing after it can
                // be trusted, and a crash mid-write leaves exactly this, so it is cut, not fatal.
                log.truncate(scan.validEnd());
                log.force(false);
                cut = scan.size() - scan.validEnd();
            }
            if (last) {
                logPath = segment.path();
                logBase = segment.baseIndex();
                logEnd = scan.endIndex();
                forcedLength = scan.validEnd();
            } else {
                long recordBytes = scan.validEnd() - LOG_HEADER_LENGTH;
                sealed.addLast(new Segment(segment.path(), segment.baseIndex(), recordBytes));
                sealedBytes += recordBytes;
            }
            previousEnd = scan.endIndex();
        }
        return cut;
    }

    /** Reads one segment up to its end or first defect, adding the records above the snapshot. */
    private Scan scanSegment(FileChannel channel, Segment segment, long snapshotIndex, List<Record> records)
            throws IOException {
        long size = channel.size();
        RecordReader in = new RecordReader(channel, size);
        long baseIndex = readLogHeader(in, size, segment.path());
        if (baseIndex != segment.baseIndex()) {
            throw new JournalException(
                    "journal log segment header does not match its file name: file=" + segment.path()
                            + ", headerBaseIndex=" + baseIndex + ", nameBaseIndex=" + segment.baseIndex(),
                    false,
                    null);
        }
        long previous = baseIndex;
        int outcome;
        while ((outcome = in.next()) == RecordReader.RECORD && in.index() > previous) {
            previous = in.index();
            if (previous > snapshotIndex) {
                records.add(new Record(previous, in.payload()));
            }
        }
        String defect = null;
        if (outcome == RecordReader.RECORD) {
            defect = "index does not increase: index=" + in.index() + ", previousIndex=" + previous;
        } else if (outcome != RecordReader.END) {
            defect = RecordReader.describe(outcome);
        }
        return new Scan(previous, in.recordStart(), size, defect);
    }

    private static long readLogHeader(RecordReader in, long size, Path path) throws IOException {
        if (size < LOG_HEADER_LENGTH) {
            throw new JournalException(
                    "journal log header is truncated: file=" + path + ", length=" + size, false, null);
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
                    "not a journal log: file=" + path + ", magic=0x" + Integer.toHexString(magic), false, null);
        }
        if (version != VERSION) {
            throw new JournalException(
                    "unsupported journal log version: file=" + path + ", version=" + version + ", supported=" + VERSION,
                    false,
                    null);
        }
        if (checksum != stored) {
            throw new JournalException("journal log header checksum mismatch: file=" + path, false, null);
        }
        if (baseIndex < 0) {
            throw new JournalException(
                    "journal log header has a negative base index: file=" + path + ", baseIndex=" + baseIndex,
                    false,
                    null);
        }
        return baseIndex;
    }

    /**
     * Buffers one record; nothing reaches the file before {@link #force()}. The payload is
     * copied at once, so the caller may reuse the array.
     *
     * @param index the registry's change index, above every index appended before (durable or
     *     buffered) and above the last compaction's index; a fresh journal's {@link #lastIndex()}
     *     is {@code 0}, so indices start at 1
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
     * Writes every buffered record to the current segment with one positional write and makes
     * them durable with one {@code fdatasync} (group commit). Does nothing when nothing is
     * buffered. Never waits for a compaction: the snapshot is written to other files.
     *
     * <p>On failure the batch is dropped and the segment is cut back to its last forced length
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
        ForceObserver observer = forceObserver;
        long start = observer == null ? 0 : System.nanoTime();
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
        logEnd = lastBufferedIndex;
        bufferedRecords = 0;
        recordsAppended += records;
        bytesWritten.addAndGet(bytes);
        forces++;
        if (observer != null) {
            observer.forced(records, System.nanoTime() - start);
        }
    }

    /** Tells {@code observer} of every group commit from now on (null: no one); any thread. */
    public void observeForces(ForceObserver observer) {
        this.forceObserver = observer;
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
     * Bytes of records forced into segments that no finished snapshot covers: the current
     * segment and every sealed one, including those of a compaction still running (file headers
     * are not counted). Compare with {@link JournalOptions#compactAfterBytes()}, and check
     * {@link #compacting()} too: the bytes stay counted until the running compaction finishes.
     */
    public long logBytes() {
        reap();
        return Math.max(0, forcedLength - LOG_HEADER_LENGTH) + sealedBytes;
    }

    /**
     * Whether a compaction has begun and neither finished ({@link Compaction#write} returned,
     * successfully or not) nor been {@link Compaction#abandon() abandoned}. While it is, a new
     * one cannot begin.
     */
    public boolean compacting() {
        reap();
        return compaction != null;
    }

    /**
     * Starts a compaction as of {@code index}: seals the current segment and starts a new, empty
     * one (a rollover: one small file created and forced, one directory {@code fsync}; skipped
     * when the current segment holds no record), then returns the handle another thread uses to
     * write the snapshot and delete the sealed segments (see {@link Compaction}). Must follow a
     * {@link #force()}: nothing may be buffered. From here, appends must go above {@code index},
     * even if the compaction later fails.
     *
     * @param index the index the snapshot's entries will be current at: at least
     *     {@link #lastIndex()}; pass {@code lastIndex()} unless the indices in between carry no
     *     state (they exist only in the snapshot, which may fail)
     * @throws IllegalStateException if a compaction is {@link #compacting() running} (at most
     *     one at a time) or records are buffered
     * @throws IllegalArgumentException if {@code index} is below {@link #lastIndex()}
     * @throws JournalException usable if the new segment could not be created (the current one
     *     stays in use, nothing began); not usable if it may not be durable
     */
    public Compaction beginCompaction(long index) {
        return begin("beginCompaction", index);
    }

    /**
     * Compacts synchronously on the writer thread: {@link #beginCompaction(long)} followed by
     * {@link Compaction#write}. Replaces the snapshot with one holding exactly {@code entries}
     * as of {@code index} and deletes the segments it covers; crash-safe at every step (see the
     * class comment). Must follow a {@link #force()}: nothing may be buffered. Prefer the
     * background form: this one makes every write wait for the whole snapshot.
     *
     * @param index the index the entries are current at: at least {@link #lastIndex()}, so no
     *     durable record is left out of both snapshot and log; becomes the new last index
     * @param entries the state to keep, iterated once, each entry at most 64 MiB
     * @throws IllegalStateException if records are buffered or a compaction is running
     * @throws IllegalArgumentException if {@code index} is below {@link #lastIndex()}
     * @throws JournalException on I/O failure, as for {@link #beginCompaction(long)} and
     *     {@link Compaction#write}
     */
    public void compact(long index, Iterable<byte[]> entries) {
        Objects.requireNonNull(entries, "compact: entries");
        begin("compact", index).write(entries);
    }

    private Compaction begin(String operation, long index) {
        requireReady(operation);
        reap();
        if (compaction != null) {
            throw new IllegalStateException(operation + ": a compaction is running, at most one at a time: running="
                    + compaction + ", dir=" + dir);
        }
        if (bufferedRecords > 0) {
            throw new IllegalStateException(operation + ": buffered records must be forced first: buffered="
                    + bufferedRecords + ", dir=" + dir);
        }
        if (index < lastIndex) {
            throw new IllegalArgumentException(
                    operation + ": snapshot index is behind the journal: index=" + index + ", lastIndex=" + lastIndex);
        }
        if (logEnd > logBase) {
            rollover(operation);
        }
        // From here a snapshot at index may become the one recovery reads, and records at or below
        // its index would be skipped: later appends must go above it even if the compaction fails.
        lastIndex = index;
        lastBufferedIndex = index;
        List<Path> covered = new ArrayList<>(leftovers.size() + sealed.size());
        covered.addAll(leftovers);
        for (Segment segment : sealed) {
            covered.add(segment.path());
        }
        compaction = new Compaction(this, index, covered, sealed.size());
        return compaction;
    }

    /** Seals the current segment, which holds records, and makes a new, empty one current. */
    private void rollover(String operation) {
        Path next = dir.resolve(segmentName(logEnd));
        FileChannel fresh;
        try {
            fresh = createSegment(next, logEnd);
        } catch (IOException e) {
            failedCompactions.incrementAndGet();
            throw new JournalException(
                    operation + ": new log segment not created, the current one stays in use: file=" + next + ", cause="
                            + e,
                    true,
                    e);
        }
        long recordBytes = forcedLength - LOG_HEADER_LENGTH;
        sealed.addLast(new Segment(logPath, logBase, recordBytes));
        sealedBytes += recordBytes;
        FileChannel old = log;
        log = fresh;
        logPath = next;
        logBase = logEnd;
        forcedLength = LOG_HEADER_LENGTH;
        bytesWritten.addAndGet(LOG_HEADER_LENGTH);
        try {
            old.close();
        } catch (IOException ignored) {
            // The sealed segment was forced whole; failing to close its descriptor loses nothing.
        }
        try {
            syncDirectory();
        } catch (IOException e) {
            failedCompactions.incrementAndGet();
            throw breakJournal(
                    operation + ": new log segment may not be durable, reopen the journal: file=" + next + ", cause="
                            + e,
                    e);
        }
    }

    /**
     * Writes a segment holding only a header into a temporary file, forces it and renames it to
     * {@code path}, so a segment name never exists without a durable header. The caller forces
     * the directory. If this throws, the segment does not exist.
     */
    private FileChannel createSegment(Path path, long baseIndex) throws IOException {
        Path temp = path.resolveSibling(path.getFileName() + TEMP_SUFFIX);
        FileChannel fresh = channels.open(temp, Set.of(CREATE, TRUNCATE_EXISTING, READ, WRITE));
        try {
            ByteBuffer header = batch.buffer();
            header.putInt(LOG_MAGIC).putInt(VERSION).putLong(baseIndex);
            header.putInt(batch.checksum(0, header.position()));
            batch.writeTo(fresh, 0);
            fresh.force(false);
            Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE);
            return fresh;
        } catch (IOException | RuntimeException e) {
            batch.clear();
            closeQuietly(fresh, e);
            deleteQuietly(temp, e);
            throw e;
        }
    }

    /**
     * Takes in the outcome of the compaction begun last once it is finished: on success its
     * snapshot covers the sealed segments it began with, which leave the bookkeeping.
     */
    private void reap() {
        Compaction done = compaction;
        if (done == null || !done.finished()) {
            return;
        }
        compaction = null;
        if (done.succeeded()) {
            for (int i = done.sealedCount(); i > 0; i--) {
                sealedBytes -= sealed.removeFirst().recordBytes();
            }
            leftovers = done.undeleted();
        }
    }

    // For the compaction thread: final fields, a volatile flag and atomic counters only.

    FileChannelFactory channels() {
        return channels;
    }

    Path snapshotPath() {
        return snapshotPath;
    }

    Path snapshotTempPath() {
        return snapshotTempPath;
    }

    boolean closing() {
        return closing;
    }

    void compactionSucceeded(long snapshotBytes) {
        bytesWritten.addAndGet(snapshotBytes);
        compactions.incrementAndGet();
    }

    void compactionFailed() {
        failedCompactions.incrementAndGet();
    }

    /** Makes renames, creations and deletions in the data directory durable. Any thread. */
    void syncDirectory() throws IOException {
        syncDirectory(channels, dir);
    }

    private static void syncDirectory(FileChannelFactory channels, Path directory) throws IOException {
        if (DIRECTORY_SYNC) {
            try (FileChannel channel = channels.open(directory, Set.of(READ))) {
                channel.force(true);
            }
        }
    }

    /**
     * Highest durable index (recovered or forced), or the index of the last compaction begun if
     * higher; {@code 0} for an empty journal. Appends must go above it.
     */
    public long lastIndex() {
        return lastIndex;
    }

    /** The counters; safe to call from any thread. */
    public JournalStats stats() {
        return new JournalStats(
                recordsAppended,
                forces,
                bytesWritten.get(),
                tornBytesCut,
                compactions.get(),
                failedForces,
                failedCompactions.get());
    }

    /** The data directory. */
    public Path directory() {
        return dir;
    }

    /**
     * Closes the current segment and releases the directory lock. Buffered records are dropped.
     * Idempotent. A compaction whose {@link Compaction#write} has not started is abandoned (its
     * {@code write} then throws); a running one is waited for, so no other thread touches the
     * files once the lock is released: it stops at its next entry and fails cleanly (temporary
     * file deleted, previous snapshot and segments in force), or, past its rename, finishes
     * deleting the segments it covers.
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
        closing = true;
        Compaction running = compaction;
        compaction = null;
        if (running != null) {
            running.abandonOrAwait();
        }
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
