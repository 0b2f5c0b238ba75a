package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalFormat.LOG_HEADER_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.ORDER;
import static io.edgegate.gateway.journal.JournalFormat.RECORD_HEADER_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.SNAPSHOT_HEADER_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.SNAPSHOT_TRAILER_LENGTH;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz target of journal recovery ({@link Journal#recover()}, {@link RecordReader},
 * {@link SnapshotFile}) over files a crash, a failing disk or a hand edit may leave. The first
 * byte of the input picks the scenario (bits 0-1) and whether checksums are made right (bit 2),
 * so the fuzzer gets past them into the record framing; the rest is the scenario's data:
 *
 * <ul>
 *   <li>{@code 0} a segment file holding the bytes;
 *   <li>{@code 1} a snapshot file holding the bytes (and no segment);
 *   <li>{@code 2} records written through the journal (with a compaction half-way when bit 3 of
 *       the next byte is set), then the last segment damaged: cut short, overwritten or appended
 *       to (see {@link #writtenThenDamaged});
 *   <li>{@code 3} a {@code journal.log} of the first format holding the bytes.
 * </ul>
 *
 * <p>Contract checked on every input: recovery either succeeds or refuses with a
 * {@link JournalException} that is not usable, never another exception; what it recovers, a
 * second recovery recovers again with nothing left to cut, and the journal then takes appends.
 * For written-then-damaged journals, recovery never refuses, and what it recovers begins with
 * every record wholly before the first damaged byte; after a cut alone it is exactly those.
 *
 * <p>Journals live on {@code /dev/shm} when there is one (each input opens, forces and deletes a
 * journal: on tmpfs that is cheap), else in the temporary directory.
 */
class JournalRecoveryFuzzTest {
    private static final String FIRST_SEGMENT = JournalFormat.segmentName(0);
    /** A record whose control byte has bit 5 set repeats its payload this often (up to 75 KiB). */
    private static final int LARGE_PAYLOAD_REPEAT = 300;

    private static final AtomicLong RUNS = new AtomicLong();
    private static Path root;

    @BeforeAll
    static void createRoot() throws IOException {
        Path shm = Paths.get("/dev/shm");
        Path parent =
                Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Paths.get(System.getProperty("java.io.tmpdir"));
        root = Files.createTempDirectory(parent, "edgegate-journal-fuzz-");
    }

    @AfterAll
    static void deleteRoot() {
        delete(root);
    }

    @FuzzTest
    void recoveryKeepsWhatIsIntactAndRefusesOnlyAsCorrupt(byte[] input) throws IOException {
        Path dir = root.resolve(Long.toString(RUNS.incrementAndGet()));
        Files.createDirectories(dir);
        try {
            if (input.length == 0) {
                assertRecovers(dir);
                return;
            }
            int mode = input[0] & 3;
            boolean fixChecksums = (input[0] & 4) != 0;
            byte[] data = Arrays.copyOfRange(input, 1, input.length);
            switch (mode) {
                case 0 -> {
                    byte[] segment = fixChecksums ? fixLog(data) : data;
                    Files.write(dir.resolve(segmentName(segment)), segment);
                    recoverOrRefuse(dir);
                }
                case 1 -> {
                    Files.write(dir.resolve(JournalFormat.SNAPSHOT_FILE), fixChecksums ? fixSnapshot(data) : data);
                    recoverOrRefuse(dir);
                }
                case 2 -> writtenThenDamaged(dir, data);
                default -> {
                    Files.write(dir.resolve(JournalFormat.LEGACY_LOG_FILE), fixChecksums ? fixLog(data) : data);
                    recoverOrRefuse(dir);
                }
            }
        } finally {
            delete(dir);
        }
    }

    /** Recovery over arbitrary files: a recovery that holds up, or a refusal as corrupt. */
    private static void recoverOrRefuse(Path dir) {
        Recovery first;
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            first = journal.recover();
        } catch (JournalException e) {
            assertFalse(e.usable(), () -> "a refused recovery leaves the journal unusable: " + e);
            return;
        }
        assertConsistent(first);
        assertRecoversAgain(dir, first);
    }

    /**
     * Writes records through the journal, damages its last segment and recovers. The data is:
     * one byte of damage (bits 0-1: 0 cut, 1 overwrite, 2 append, 3 none; bit 3: compact half-way;
     * bits 4-7: how many bytes from the end of the input are the damage's bytes), two bytes of
     * offset into the records (little-endian), then records: a control byte (low nibble: the index
     * step minus one; bit 4: force the batch after it; bit 5: the payload repeated
     * {@value #LARGE_PAYLOAD_REPEAT} times), a length byte, and the payload.
     */
    private static void writtenThenDamaged(Path dir, byte[] data) throws IOException {
        if (data.length < 3) {
            return;
        }
        int damage = data[0] & 3;
        boolean compact = (data[0] & 8) != 0;
        int damageLength = Math.min((data[0] & 0xf0) >>> 4, data.length - 3);
        int offset = (data[1] & 0xff) | (data[2] & 0xff) << 8;
        byte[] damageBytes = Arrays.copyOfRange(data, data.length - damageLength, data.length);
        int end = data.length - damageLength;

        List<Record> written = new ArrayList<>();
        List<byte[]> snapshot = new ArrayList<>();
        long lastIndex;
        List<Record> inLastSegment = new ArrayList<>();
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            journal.recover();
            long index = 0;
            int p = 3;
            while (p + 2 <= end) {
                int control = data[p] & 0xff;
                int length = Math.min(data[p + 1] & 0xff, end - p - 2);
                index += 1 + (control & 0x0f);
                byte[] payload = Arrays.copyOfRange(data, p + 2, p + 2 + length);
                if ((control & 0x20) != 0) {
                    payload = repeated(payload, LARGE_PAYLOAD_REPEAT);
                }
                p += 2 + length;
                journal.append(index, payload);
                written.add(new Record(index, payload));
                inLastSegment.add(new Record(index, payload));
                if ((control & 0x10) != 0) {
                    journal.force();
                }
                if (compact && snapshot.isEmpty() && written.size() * 2 >= (end - 3) / 8 + 1) {
                    journal.force();
                    written.forEach(r -> snapshot.add(r.payload()));
                    journal.compact(index, snapshot);
                    inLastSegment.clear();
                }
            }
            journal.force();
            lastIndex = journal.lastIndex();
        }
        Path segment = lastSegment(dir);
        byte[] before = Files.readAllBytes(segment);
        byte[] after = damaged(before, damage, offset, damageBytes);
        Files.write(segment, after);
        int firstChanged = Arrays.mismatch(before, after);
        if (firstChanged < 0) {
            firstChanged = before.length;
        }

        Recovery recovery;
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            recovery = journal.recover();
        }

        List<Record> intact = new ArrayList<>();
        long recordEnd = LOG_HEADER_LENGTH;
        for (Record r : inLastSegment) {
            long next = recordEnd + RECORD_HEADER_LENGTH + r.payload().length;
            if (next > firstChanged) {
                break;
            }
            intact.add(r);
            recordEnd = next;
        }
        assertEquals(snapshot.size(), recovery.snapshotEntries().size(), "snapshot entries");
        for (int i = 0; i < snapshot.size(); i++) {
            assertTrue(Arrays.equals(snapshot.get(i), recovery.snapshotEntries().get(i)), "snapshot entry " + i);
        }
        List<Record> got = recovery.records();
        assertTrue(
                got.size() >= intact.size() && got.subList(0, intact.size()).equals(intact),
                () -> "recovered " + got + ", records before the damage " + intact);
        if (damage == 0 || damage == 3) {
            assertEquals(intact, got, "after a cut, exactly the records before it");
            assertEquals(after.length - recordEnd, recovery.tornBytesCut(), "bytes cut");
        }
        if (damage == 3) {
            assertEquals(lastIndex, recovery.lastIndex(), "an undamaged journal recovers its last index");
        }
        assertConsistent(recovery);
        assertRecoversAgain(dir, recovery);
    }

    /** {@code bytes} {@code times} over: records larger than the reader's 64 KiB buffer from a short input. */
    private static byte[] repeated(byte[] bytes, int times) {
        byte[] out = new byte[bytes.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(bytes, 0, out, i * bytes.length, bytes.length);
        }
        return out;
    }

    private static byte[] damaged(byte[] log, int damage, int offset, byte[] bytes) {
        int at = LOG_HEADER_LENGTH + offset % (log.length - LOG_HEADER_LENGTH + 1);
        return switch (damage) {
            case 0 -> Arrays.copyOf(log, at);
            case 1 -> {
                byte[] out = Arrays.copyOf(log, Math.max(log.length, at + bytes.length));
                System.arraycopy(bytes, 0, out, at, bytes.length);
                yield out;
            }
            case 2 -> {
                byte[] out = Arrays.copyOf(log, log.length + bytes.length);
                System.arraycopy(bytes, 0, out, log.length, bytes.length);
                yield out;
            }
            default -> log;
        };
    }

    private static void assertConsistent(Recovery recovery) {
        long previous = recovery.snapshotIndex();
        for (Record r : recovery.records()) {
            long p = previous;
            assertTrue(r.index() > p, () -> "record index " + r.index() + " after " + p);
            previous = r.index();
        }
    }

    /** A second recovery finds the same, cuts nothing, and the journal takes an append that a third one finds. */
    private static void assertRecoversAgain(Path dir, Recovery first) {
        Record appended;
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            Recovery second = journal.recover();
            assertEquals(first.snapshotIndex(), second.snapshotIndex(), "snapshot index");
            assertEquals(first.records(), second.records(), "records recovered a second time");
            assertEquals(0, second.tornBytesCut(), "bytes cut a second time");
            if (journal.lastIndex() == Long.MAX_VALUE) {
                return;
            }
            appended = new Record(journal.lastIndex() + 1, new byte[] {'x'});
            journal.append(appended.index(), appended.payload());
            journal.force();
        }
        Recovery third = assertRecovers(dir);
        List<Record> expected = new ArrayList<>(first.records());
        expected.add(appended);
        assertEquals(expected, third.records(), "records after an append");
    }

    private static Recovery assertRecovers(Path dir) {
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            return journal.recover();
        }
    }

    // ---------------------------------------------------------------- files

    /** The segment name a log's header asks for (base 0 when it has no readable, non-negative base). */
    private static String segmentName(byte[] log) {
        if (log.length < 16) {
            return FIRST_SEGMENT;
        }
        long base = ByteBuffer.wrap(log, 8, 8).order(ORDER).getLong();
        return JournalFormat.segmentName(Math.max(0, base));
    }

    /** A log with the header checksum and every record's checksum made right (the CRC is inserted after 16 bytes). */
    private static byte[] fixLog(byte[] data) {
        if (data.length < LOG_HEADER_LENGTH - Integer.BYTES) {
            return data;
        }
        byte[] log = insertChecksum(data, LOG_HEADER_LENGTH - Integer.BYTES);
        fixRecords(log, LOG_HEADER_LENGTH, log.length);
        return log;
    }

    /** A snapshot with the header, entry and trailer checksums made right. */
    private static byte[] fixSnapshot(byte[] data) {
        if (data.length < SNAPSHOT_HEADER_LENGTH - Integer.BYTES) {
            return data;
        }
        byte[] snapshot = insertChecksum(data, SNAPSHOT_HEADER_LENGTH - Integer.BYTES);
        if (snapshot.length < SNAPSHOT_HEADER_LENGTH + SNAPSHOT_TRAILER_LENGTH) {
            return snapshot;
        }
        int trailer = snapshot.length - SNAPSHOT_TRAILER_LENGTH;
        fixRecords(snapshot, SNAPSHOT_HEADER_LENGTH, trailer);
        CRC32C body = new CRC32C();
        body.update(snapshot, SNAPSHOT_HEADER_LENGTH, trailer - SNAPSHOT_HEADER_LENGTH);
        ByteBuffer.wrap(snapshot).order(ORDER).putInt(trailer + Integer.BYTES, (int) body.getValue());
        return snapshot;
    }

    private static byte[] insertChecksum(byte[] data, int covered) {
        byte[] out = new byte[data.length + Integer.BYTES];
        System.arraycopy(data, 0, out, 0, covered);
        System.arraycopy(data, covered, out, covered + Integer.BYTES, data.length - covered);
        CRC32C crc = new CRC32C();
        crc.update(data, 0, covered);
        ByteBuffer.wrap(out).order(ORDER).putInt(covered, (int) crc.getValue());
        return out;
    }

    /** Sets the checksum of every whole record frame in {@code [from, to)}. */
    private static void fixRecords(byte[] bytes, int from, int to) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ORDER);
        int p = from;
        while (p + RECORD_HEADER_LENGTH <= to) {
            int length = b.getInt(p);
            if (length < 0 || length > to - p - RECORD_HEADER_LENGTH) {
                return;
            }
            CRC32C crc = new CRC32C();
            crc.update(bytes, p + JournalFormat.INDEX_OFFSET, Long.BYTES + length);
            b.putInt(p + JournalFormat.CHECKSUM_OFFSET, (int) crc.getValue());
            p += RECORD_HEADER_LENGTH + length;
        }
    }

    private static Path lastSegment(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> JournalFormat.segmentBase(f.getFileName().toString()) >= 0)
                    .max(Comparator.comparingLong(
                            f -> JournalFormat.segmentBase(f.getFileName().toString())))
                    .orElseThrow();
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.delete(f);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
