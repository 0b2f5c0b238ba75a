package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.log;
import static io.edgegate.gateway.journal.JournalTesting.openRecovered;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.recordLength;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Append, force, recover and the journal's life cycle. */
class JournalTest {

    @TempDir
    Path dir;

    @Test
    void freshJournalRecoversEmpty() {
        Recovery recovery = recoverAndClose(dir);

        assertEquals(0, recovery.snapshotIndex());
        assertEquals(List.of(), recovery.snapshotEntries());
        assertEquals(List.of(), recovery.records());
        assertEquals(0, recovery.tornBytesCut());
        assertEquals(0, recovery.lastIndex());
    }

    @Test
    void openCreatesTheDataDirectory() {
        Path nested = dir.resolve("data").resolve("journal");
        try (Journal journal = openRecovered(nested)) {
            appendAndForce(journal, 1, 1);
        }

        assertEquals(records(1, 1), recoverAndClose(nested).records());
    }

    @Test
    void forcedRecordsAreRecoveredAfterReopen() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
            appendAndForce(journal, 4, 7);
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 7), recovery.records());
        assertEquals(7, recovery.lastIndex());
        assertEquals(0, recovery.tornBytesCut());
    }

    @Test
    void emptyPayloadIsARecord() {
        try (Journal journal = openRecovered(dir)) {
            journal.append(1, new byte[0]);
            journal.force();
        }

        assertEquals(List.of(new Record(1, new byte[0])), recoverAndClose(dir).records());
    }

    @Test
    void appendedRecordsReachTheFileOnlyAtForce() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            long empty = Files.size(log(dir));
            journal.append(1, payload(1));
            journal.append(2, payload(2));

            assertEquals(empty, Files.size(log(dir)), "log length before force");
            assertEquals(2, journal.bufferedRecords());
        }

        assertEquals(List.of(), recoverAndClose(dir).records(), "records buffered at close are dropped");
    }

    @Test
    void forceWritesTheWholeBatchWithOneWriteAndOneSync() {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            channels.resetCounts();

            appendAndForce(journal, 1, 500);

            assertEquals(1, channels.writeCalls(), "write calls for one batch of 500 records");
            assertEquals(1, channels.forceCalls(), "force calls for one batch of 500 records");
        }
    }

    @Test
    void batchLargerThanTheInitialBufferIsWrittenWhole() {
        byte[] large = new byte[300 * 1024];
        large[large.length - 1] = 42;
        try (Journal journal = openRecovered(dir)) {
            journal.append(1, payload(1));
            journal.append(2, large);
            journal.append(3, payload(3));
            journal.force();
        }

        List<Record> records = recoverAndClose(dir).records();

        assertEquals(List.of(new Record(1, payload(1)), new Record(2, large), new Record(3, payload(3))), records);
    }

    @Test
    void forceWithNothingBufferedDoesNothing() {
        try (Journal journal = openRecovered(dir)) {
            journal.force();

            assertEquals(0, journal.stats().forces());
        }
    }

    @Test
    void indexMustIncrease() {
        try (Journal journal = openRecovered(dir)) {
            journal.append(5, payload(5));

            IllegalArgumentException same =
                    assertThrows(IllegalArgumentException.class, () -> journal.append(5, payload("again")));
            assertThrows(IllegalArgumentException.class, () -> journal.append(4, payload(4)));
            assertEquals("append: index must increase: index=5, lastIndex=5", same.getMessage());
            assertEquals(1, journal.bufferedRecords(), "rejected appends buffer nothing");
        }
    }

    @Test
    void indexMustIncreaseAcrossReopen() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
        }
        try (Journal journal = openRecovered(dir)) {
            assertEquals(3, journal.lastIndex());
            assertThrows(IllegalArgumentException.class, () -> journal.append(3, payload(3)));
        }
    }

    @Test
    void payloadOverTheMaximumIsRejected() {
        try (Journal journal = openRecovered(dir)) {
            byte[] tooLarge = new byte[JournalFormat.MAX_PAYLOAD_LENGTH + 1];

            assertThrows(IllegalArgumentException.class, () -> journal.append(1, tooLarge));
            assertEquals(0, journal.bufferedRecords());
        }
    }

    @Test
    void appendBeforeRecoverIsRejected() {
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> journal.append(1, payload(1)));
            assertTrue(e.getMessage().startsWith("append: recover() must run first"), e.getMessage());
        }
    }

    @Test
    void recoverTwiceIsRejected() {
        try (Journal journal = openRecovered(dir)) {
            assertThrows(IllegalStateException.class, journal::recover);
        }
    }

    @Test
    void appendAfterCloseIsRejected() {
        Journal journal = openRecovered(dir);
        journal.close();

        assertThrows(IllegalStateException.class, () -> journal.append(1, payload(1)));
    }

    @Test
    void secondOpenOfSameDirFails() {
        try (Journal first = Journal.open(dir, JournalOptions.defaults())) {
            JournalException e =
                    assertThrows(JournalException.class, () -> Journal.open(dir, JournalOptions.defaults()));

            assertTrue(e.getMessage().contains("dir=" + dir), e.getMessage());
            assertFalse(e.usable());
            assertEquals(dir, first.directory());
        }
    }

    @Test
    void closeReleasesTheDirectoryLock() {
        Journal.open(dir, JournalOptions.defaults()).close();

        try (Journal reopened = Journal.open(dir, JournalOptions.defaults())) {
            assertEquals(0, reopened.recover().lastIndex());
        }
    }

    @Test
    void logBytesCountsForcedRecordBytes() {
        try (Journal journal = openRecovered(dir)) {
            journal.append(1, payload(1));
            assertEquals(0, journal.logBytes(), "buffered records are not in the log yet");

            journal.force();

            assertEquals(recordLength(payload(1)), journal.logBytes());
        }
    }

    @Test
    void logBytesSurvivesReopen() {
        long before;
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 10);
            before = journal.logBytes();
        }
        try (Journal journal = openRecovered(dir)) {
            assertEquals(before, journal.logBytes());
        }
    }

    @Test
    void statsCountRecordsForcesAndBytes() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
            appendAndForce(journal, 4, 4);

            JournalStats stats = journal.stats();

            assertEquals(4, stats.recordsAppended());
            assertEquals(2, stats.forces());
            assertEquals(journal.logBytes(), stats.bytesWritten());
            assertEquals(0, stats.failedForces());
        }
    }

    @Test
    void appendCopiesThePayload() {
        byte[] reused = payload("first");
        try (Journal journal = openRecovered(dir)) {
            journal.append(1, reused);
            reused[0] = 'X';
            journal.force();
        }

        assertArrayEquals(
                payload("first"), recoverAndClose(dir).records().get(0).payload());
    }

    @Test
    void optionsRejectNonPositiveCompactionThreshold() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> JournalOptions.builder().compactAfterBytes(0).build());

        assertEquals("journal options: compact-after-bytes must be positive: compact-after-bytes=0", e.getMessage());
    }
}
