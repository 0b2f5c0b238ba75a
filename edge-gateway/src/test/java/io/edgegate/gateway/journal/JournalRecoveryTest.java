package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.legacyLog;
import static io.edgegate.gateway.journal.JournalTesting.log;
import static io.edgegate.gateway.journal.JournalTesting.openRecovered;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.recordLength;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static io.edgegate.gateway.journal.JournalTesting.segment;
import static io.edgegate.gateway.journal.JournalTesting.segmentNames;
import static io.edgegate.gateway.journal.JournalTesting.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What recovery keeps, cuts and refuses. */
class JournalRecoveryTest {

    private static final int HEADER = JournalFormat.LOG_HEADER_LENGTH;

    @TempDir
    Path dir;

    /** Writes records 1..count and returns the file offset where each record starts. */
    private long[] writeRecords(int count) {
        long[] starts = new long[count + 1];
        starts[0] = HEADER;
        try (Journal journal = openRecovered(dir)) {
            for (int i = 1; i <= count; i++) {
                appendAndForce(journal, i, i);
                starts[i] = starts[i - 1] + recordLength(payload(i));
            }
        }
        return Arrays.copyOf(starts, count); // starts[k] = offset of record k + 1
    }

    private void overwriteLog(byte[] bytes) throws IOException {
        Files.write(log(dir), bytes);
    }

    @Test
    void tornTailIsCutOnRecovery() throws IOException {
        long[] starts = writeRecords(5);
        long size = Files.size(log(dir));
        long cutAt = starts[4] + 7; // inside record 5's header
        overwriteLog(Arrays.copyOf(Files.readAllBytes(log(dir)), (int) cutAt));

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 4), recovery.records());
        assertEquals(7, recovery.tornBytesCut());
        assertEquals(starts[4], Files.size(log(dir)), "log truncated to the end of the last valid record");
        assertTrue(size > cutAt);
    }

    @Test
    void tornTailCutIsCountedInStats() throws IOException {
        long[] starts = writeRecords(3);
        overwriteLog(Arrays.copyOf(Files.readAllBytes(log(dir)), (int) starts[2] + 20));

        try (Journal journal = openRecovered(dir)) {
            assertEquals(20, journal.stats().tornBytesCut());
            assertEquals(2, journal.lastIndex());
        }
    }

    @Test
    void appendAfterCutTailContinuesTheValidPrefix() throws IOException {
        long[] starts = writeRecords(3);
        overwriteLog(Arrays.copyOf(Files.readAllBytes(log(dir)), (int) starts[2] + 20));

        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 3, 4);
        }

        assertEquals(records(1, 4), recoverAndClose(dir).records());
    }

    @Test
    void corruptChecksumEndsTheLogThere() throws IOException {
        long[] starts = writeRecords(5);
        byte[] bytes = Files.readAllBytes(log(dir));
        long size = bytes.length;
        bytes[(int) starts[2] + JournalFormat.RECORD_HEADER_LENGTH + 2] ^= 0x01; // a payload bit of record 3
        overwriteLog(bytes);

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 2), recovery.records(), "records after the corrupt one are not trusted");
        assertEquals(size - starts[2], recovery.tornBytesCut());
    }

    @Test
    void crazyLengthCountsAsCorruption() throws IOException {
        long[] starts = writeRecords(3);
        byte[] bytes = Files.readAllBytes(log(dir));
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt((int) starts[1], 100 << 20);
        byte[] padded = Arrays.copyOf(bytes, bytes.length + (1 << 20)); // data behind it must not matter
        overwriteLog(padded);

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 1), recovery.records());
        assertEquals(padded.length - starts[1], recovery.tornBytesCut());
    }

    @Test
    void negativeLengthCountsAsCorruption() throws IOException {
        long[] starts = writeRecords(2);
        byte[] bytes = Files.readAllBytes(log(dir));
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt((int) starts[1], -1);
        overwriteLog(bytes);

        assertEquals(records(1, 1), recoverAndClose(dir).records());
    }

    @Test
    void zeroFilledTailIsCut() throws IOException {
        writeRecords(3);
        byte[] bytes = Files.readAllBytes(log(dir));
        overwriteLog(Arrays.copyOf(bytes, bytes.length + 4096)); // file grown, data never written

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 3), recovery.records());
        assertEquals(4096, recovery.tornBytesCut());
    }

    @Test
    void validRecordWithAnOldIndexEndsTheLogThere() throws IOException {
        long[] starts = writeRecords(3);
        byte[] bytes = Files.readAllBytes(log(dir));
        byte[] first = Arrays.copyOfRange(bytes, (int) starts[0], (int) starts[1]);
        byte[] replayed = Arrays.copyOf(bytes, bytes.length + first.length);
        System.arraycopy(first, 0, replayed, bytes.length, first.length); // intact checksum, index 1 again
        overwriteLog(replayed);

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 3), recovery.records());
        assertEquals(first.length, recovery.tornBytesCut());
    }

    @Test
    void truncationAtEveryOffsetOfTheTailRecoversTheValidPrefix() throws IOException {
        Random random = new Random(20240611);
        List<Record> written = new ArrayList<>();
        List<Long> ends = new ArrayList<>();
        long end = HEADER;
        try (Journal journal = openRecovered(dir)) {
            long index = 0;
            for (int batch = 0; batch < 8; batch++) {
                for (int i = random.nextInt(1, 5); i > 0; i--) {
                    index += random.nextInt(1, 4); // gaps are fine, order is what matters
                    byte[] bytes = new byte[random.nextInt(0, 64)];
                    random.nextBytes(bytes);
                    journal.append(index, bytes);
                    written.add(new Record(index, bytes));
                    end += recordLength(bytes);
                    ends.add(end);
                }
                journal.force();
            }
        }
        byte[] full = Files.readAllBytes(log(dir));
        assertEquals(end, full.length);
        int k = written.size();
        long from = ends.get(k - 4); // every offset inside the last three records

        for (long offset = from; offset <= full.length; offset++) {
            overwriteLog(Arrays.copyOf(full, (int) offset));
            int whole = 0;
            while (whole < k && ends.get(whole) <= offset) {
                whole++;
            }
            long validEnd = ends.get(whole - 1);

            Recovery recovery = recoverAndClose(dir);

            assertEquals(written.subList(0, whole), recovery.records(), "records after truncating at " + offset);
            assertEquals(offset - validEnd, recovery.tornBytesCut(), "bytes cut after truncating at " + offset);
            assertEquals(validEnd, Files.size(log(dir)), "log length after truncating at " + offset);
        }
    }

    @Test
    void flippingAnyByteOfTheLastRecordCutsOnlyThatRecord() throws IOException {
        long[] starts = writeRecords(4);
        byte[] clean = Files.readAllBytes(log(dir));

        for (int offset = (int) starts[3]; offset < clean.length; offset++) {
            for (int bit : new int[] {0, 7}) { // smallest and largest change of each byte
                byte[] bytes = clean.clone();
                bytes[offset] ^= (byte) (1 << bit);
                overwriteLog(bytes);

                Recovery recovery = recoverAndClose(dir);

                assertEquals(
                        records(1, 3), recovery.records(), "records after flipping bit " + bit + " of byte " + offset);
            }
        }
    }

    @Test
    void foreignLogFileIsAHardError() throws IOException {
        Files.createDirectories(dir);
        Files.writeString(legacyLog(dir), "2024-06-11 12:00:00 INFO some other program's log file\n");

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().startsWith("not a journal log: file=" + legacyLog(dir)), e.getMessage());
            assertFalse(e.usable());
            assertThrows(JournalException.class, () -> journal.append(1, payload(1)), "broken after failed recovery");
        }
        assertTrue(Files.exists(legacyLog(dir)), "a foreign file is left alone");
    }

    @Test
    void foreignFileWithASegmentNameIsAHardError() throws IOException {
        Files.createDirectories(dir);
        Files.writeString(segment(dir, 0), "2024-06-11 12:00:00 INFO some other program's log file\n");

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().startsWith("not a journal log: file=" + segment(dir, 0)), e.getMessage());
        }
    }

    @Test
    void corruptLogHeaderIsAHardError() throws IOException {
        writeRecords(1);
        byte[] bytes = Files.readAllBytes(log(dir));
        bytes[10] ^= 0x10; // base index
        overwriteLog(bytes);

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().startsWith("journal log header checksum mismatch"), e.getMessage());
        }
    }

    @Test
    void corruptSnapshotFailsRecovery() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 2);
            journal.compact(2, List.of(payload("a"), payload("b"), payload("c")));
        }
        byte[] bytes = Files.readAllBytes(snapshot(dir));
        bytes[JournalFormat.SNAPSHOT_HEADER_LENGTH + JournalFormat.RECORD_HEADER_LENGTH] ^= 0x01; // entry 0
        Files.write(snapshot(dir), bytes);

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().startsWith("snapshot is corrupt"), e.getMessage());
            assertTrue(e.getMessage().contains("reason=record checksum mismatch"), e.getMessage());
            assertTrue(e.getMessage().contains("file=" + snapshot(dir)), e.getMessage());
            assertFalse(e.usable());
        }
    }

    @Test
    void truncatedSnapshotFailsRecovery() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 2);
            journal.compact(2, List.of(payload("a"), payload("b")));
        }
        byte[] bytes = Files.readAllBytes(snapshot(dir));
        Files.write(snapshot(dir), Arrays.copyOf(bytes, bytes.length - 3));

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().startsWith("snapshot is corrupt"), e.getMessage());
        }
    }

    @Test
    void snapshotTrailerChecksumIsVerified() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            journal.compact(0, List.of(payload("a")));
        }
        byte[] bytes = Files.readAllBytes(snapshot(dir));
        bytes[bytes.length - 1] ^= 0x01;
        Files.write(snapshot(dir), bytes);

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().contains("reason=trailer checksum mismatch"), e.getMessage());
        }
    }

    @Test
    void snapshotWithANegativeIndexIsRefusedAsCorrupt() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 2);
            journal.compact(2, List.of(payload("a")));
        }
        Files.delete(log(dir));
        // A negative index under a header checksum that matches it: only the value itself is wrong.
        ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(snapshot(dir))).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(8, -5);
        CRC32C crc = new CRC32C();
        crc.update(header.array(), 0, JournalFormat.SNAPSHOT_HEADER_LENGTH - Integer.BYTES);
        header.putInt(JournalFormat.SNAPSHOT_HEADER_LENGTH - Integer.BYTES, (int) crc.getValue());
        Files.write(snapshot(dir), header.array());

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().contains("reason=negative snapshot index"), e.getMessage());
            assertFalse(e.usable());
        }
        assertEquals(List.of(), segmentNames(dir), "no segment created after a refused snapshot");
    }

    @Test
    void missingSnapshotUnderACompactedLogIsAHardError() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 2);
            journal.compact(2, List.of(payload("a")));
            appendAndForce(journal, 3, 3);
        }
        Files.delete(snapshot(dir));

        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);

            assertTrue(e.getMessage().contains("logBaseIndex=2, snapshotIndex=0"), e.getMessage());
        }
    }
}
