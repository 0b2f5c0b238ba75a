package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.legacyLog;
import static io.edgegate.gateway.journal.JournalTesting.openRecovered;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.recordLength;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static io.edgegate.gateway.journal.JournalTesting.segment;
import static io.edgegate.gateway.journal.JournalTesting.segmentName;
import static io.edgegate.gateway.journal.JournalTesting.segmentNames;
import static io.edgegate.gateway.journal.JournalTesting.snapshot;
import static io.edgegate.gateway.journal.JournalTesting.texts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recovery across several log segments, and of the single {@code journal.log} of the first format. */
class JournalSegmentTest {

    @TempDir
    Path dir;

    /** Segment 0 holds 1..3, segment 3 holds 4..6, segment 6 holds 7..9; no snapshot. */
    private void writeThreeSegments() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
            assertTrue(journal.beginCompaction(3).abandon());
            appendAndForce(journal, 4, 6);
            assertTrue(journal.beginCompaction(6).abandon());
            appendAndForce(journal, 7, 9);
        }
    }

    private JournalException recoveryFailure() {
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e = assertThrows(JournalException.class, journal::recover);
            assertFalse(e.usable());
            return e;
        }
    }

    private static long bytesOf(long from, long to) {
        long bytes = 0;
        for (long i = from; i <= to; i++) {
            bytes += recordLength(payload(i));
        }
        return bytes;
    }

    @Test
    void recordsOfEverySegmentAreRecoveredInOrder() throws IOException {
        writeThreeSegments();
        assertEquals(List.of(segmentName(0), segmentName(3), segmentName(6)), segmentNames(dir));

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 9), recovery.records());
        assertEquals(0, recovery.tornBytesCut());
        try (Journal journal = openRecovered(dir)) {
            assertEquals(9, journal.lastIndex());
            assertEquals(bytesOf(1, 9), journal.logBytes(), "every segment counts until a snapshot covers it");
            appendAndForce(journal, 10, 10);
        }
        assertEquals(records(1, 10), recoverAndClose(dir).records());
    }

    @Test
    void compactionAfterRecoveryCoversEveryRecoveredSegment() throws IOException {
        writeThreeSegments();
        try (Journal journal = openRecovered(dir)) {
            journal.compact(9, List.of(payload("state@9")));

            assertEquals(List.of(segmentName(9)), segmentNames(dir));
            assertEquals(0, journal.logBytes());
        }
        Recovery recovery = recoverAndClose(dir);
        assertEquals(List.of("state@9"), texts(recovery.snapshotEntries()));
        assertEquals(List.of(), recovery.records());
    }

    @Test
    void tornTailIsCutOnlyInTheLastSegment() throws IOException {
        writeThreeSegments();
        Path last = segment(dir, 6);
        byte[] bytes = Files.readAllBytes(last);
        Files.write(last, Arrays.copyOf(bytes, bytes.length - 3)); // record 9 torn

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 8), recovery.records());
        assertEquals(recordLength(payload(9)) - 3, recovery.tornBytesCut());
        assertEquals(bytes.length - recordLength(payload(9)), Files.size(last));
        try (Journal journal = openRecovered(dir)) {
            assertEquals(8, journal.lastIndex());
            appendAndForce(journal, 9, 9);
            journal.beginCompaction(9).abandon(); // seals the repaired segment
            appendAndForce(journal, 10, 10);
        }
        assertEquals(records(1, 10), recoverAndClose(dir).records());
    }

    @Test
    void tornSealedSegmentIsAHardError() throws IOException {
        writeThreeSegments();
        Path sealed = segment(dir, 3);
        byte[] bytes = Files.readAllBytes(sealed);
        Files.write(sealed, Arrays.copyOf(bytes, bytes.length - 3));

        JournalException e = recoveryFailure();

        assertTrue(e.getMessage().startsWith("journal log segment is corrupt: it is sealed"), e.getMessage());
        assertTrue(e.getMessage().contains("file=" + sealed), e.getMessage());
        assertTrue(e.getMessage().contains("reason=torn record"), e.getMessage());
        assertEquals(bytes.length - 3, Files.size(sealed), "a sealed segment is never cut");
    }

    @Test
    void corruptRecordInASealedSegmentIsAHardError() throws IOException {
        writeThreeSegments();
        Path sealed = segment(dir, 0);
        byte[] bytes = Files.readAllBytes(sealed);
        int record2 = JournalFormat.LOG_HEADER_LENGTH + recordLength(payload(1));
        bytes[record2 + JournalFormat.RECORD_HEADER_LENGTH + 1] ^= 0x01; // a payload bit of record 2
        Files.write(sealed, bytes);

        JournalException e = recoveryFailure();

        assertTrue(e.getMessage().startsWith("journal log segment is corrupt"), e.getMessage());
        assertTrue(e.getMessage().contains("reason=record checksum mismatch"), e.getMessage());
        assertTrue(e.getMessage().contains("offset=" + record2), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(sealed), "left as found, for inspection");
    }

    @Test
    void missingMiddleSegmentIsAHardError() throws IOException {
        writeThreeSegments();
        Files.delete(segment(dir, 3));

        JournalException e = recoveryFailure();

        assertTrue(e.getMessage().startsWith("journal log segments do not chain"), e.getMessage());
        assertTrue(e.getMessage().contains("baseIndex=6, previousSegmentLastIndex=3"), e.getMessage());
    }

    @Test
    void segmentHeaderThatDoesNotMatchItsNameIsAHardError() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 5);
            journal.compact(5, List.of(payload("state@5")));
        }
        Files.move(segment(dir, 5), segment(dir, 4));

        JournalException e = recoveryFailure();

        assertTrue(
                e.getMessage().startsWith("journal log segment header does not match its file name"), e.getMessage());
        assertTrue(e.getMessage().contains("headerBaseIndex=5, nameBaseIndex=4"), e.getMessage());
    }

    @Test
    void missingSnapshotUnderLaterSegmentsIsAHardError() throws IOException {
        writeThreeSegments();
        try (Journal journal = openRecovered(dir)) {
            journal.compact(9, List.of(payload("state@9")));
            appendAndForce(journal, 10, 10);
        }
        Files.delete(snapshot(dir));

        JournalException e = recoveryFailure();

        assertTrue(e.getMessage().contains("logBaseIndex=9, snapshotIndex=0"), e.getMessage());
    }

    @Test
    void filesThatAreNotSegmentsAreIgnored() throws IOException {
        writeThreeSegments();
        Files.writeString(dir.resolve("journal-7.log"), "not a segment name");
        Files.writeString(dir.resolve("journal-99999999999999999999.log"), "overflows a long");
        Files.writeString(dir.resolve("README"), "operator notes");

        assertEquals(records(1, 9), recoverAndClose(dir).records());
        assertTrue(Files.exists(dir.resolve("README")));
    }

    @Test
    void legacyLogIsRecoveredAsTheFirstSegment() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 5);
        }
        byte[] legacy = Files.readAllBytes(segment(dir, 0)); // the first format: same header and records
        Files.move(segment(dir, 0), legacyLog(dir));

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 5), recovery.records());
        assertFalse(Files.exists(legacyLog(dir)), "renamed to its segment name");
        assertArrayEquals(legacy, Files.readAllBytes(segment(dir, 0)));
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 6, 6);
            journal.compact(6, List.of(payload("state@6")));
            appendAndForce(journal, 7, 7);
        }
        recovery = recoverAndClose(dir);
        assertEquals(List.of("state@6"), texts(recovery.snapshotEntries()));
        assertEquals(records(7, 7), recovery.records());
        assertEquals(List.of(segmentName(6)), segmentNames(dir));
    }

    @Test
    void legacyLogTornTailIsCut() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
        }
        byte[] bytes = Files.readAllBytes(segment(dir, 0));
        Files.delete(segment(dir, 0));
        Files.write(legacyLog(dir), Arrays.copyOf(bytes, bytes.length - 2));

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 2), recovery.records());
        assertEquals(recordLength(payload(3)) - 2, recovery.tornBytesCut());
    }

    @Test
    void legacyCompactionInterruptedAfterTheSnapshotRenameIsRecoveredOnce() throws IOException {
        // The first format's crash state "new snapshot + old log": records 6..8 are in the snapshot.
        byte[] oldLog;
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 5);
            journal.compact(5, List.of(payload("state@5")));
            appendAndForce(journal, 6, 8);
            oldLog = Files.readAllBytes(segment(dir, 5));
            journal.compact(8, List.of(payload("state@8")));
        }
        Files.delete(segment(dir, 8));
        Files.write(legacyLog(dir), oldLog);
        Files.write(dir.resolve(JournalFormat.LEGACY_LOG_FILE + JournalFormat.TEMP_SUFFIX), new byte[7]);

        Recovery recovery = recoverAndClose(dir);

        assertEquals(8, recovery.snapshotIndex());
        assertEquals(List.of("state@8"), texts(recovery.snapshotEntries()));
        assertEquals(List.of(), recovery.records(), "records in the snapshot are not replayed");
        assertFalse(Files.exists(dir.resolve(JournalFormat.LEGACY_LOG_FILE + JournalFormat.TEMP_SUFFIX)));
        try (Journal journal = openRecovered(dir)) {
            assertEquals(8, journal.lastIndex());
            appendAndForce(journal, 9, 9);
        }
        assertEquals(records(9, 9), recoverAndClose(dir).records());
    }

    @Test
    void legacyLogNextToSegmentsIsAHardError() throws IOException {
        writeThreeSegments();
        Files.copy(segment(dir, 0), legacyLog(dir));

        JournalException e = recoveryFailure();

        assertTrue(e.getMessage().startsWith("journal directory holds both a legacy journal.log"), e.getMessage());
        assertTrue(Files.exists(legacyLog(dir)));
    }
}
