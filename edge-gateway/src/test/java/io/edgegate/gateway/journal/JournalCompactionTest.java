package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.files;
import static io.edgegate.gateway.journal.JournalTesting.log;
import static io.edgegate.gateway.journal.JournalTesting.openRecovered;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.recordLength;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static io.edgegate.gateway.journal.JournalTesting.restore;
import static io.edgegate.gateway.journal.JournalTesting.segment;
import static io.edgegate.gateway.journal.JournalTesting.segmentName;
import static io.edgegate.gateway.journal.JournalTesting.segmentNames;
import static io.edgegate.gateway.journal.JournalTesting.snapshot;
import static io.edgegate.gateway.journal.JournalTesting.texts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots, and a crash at each step of a compaction. The crash states are built from the
 * files at each step of a real compaction, combined as the steps leave them on disk:
 * <ol>
 *   <li>rollover: the new segment's temp file written, not renamed yet;</li>
 *   <li>rollover done: old snapshot + sealed segments + the new segment (records appended to it);</li>
 *   <li>snapshot temp file half written;</li>
 *   <li>snapshot renamed: new snapshot + sealed segments + new segment;</li>
 *   <li>sealed segments partly deleted (oldest first);</li>
 *   <li>all deleted: new snapshot + new segment.</li>
 * </ol>
 */
class JournalCompactionTest {

    private static final String SNAPSHOT_TEMP = JournalFormat.SNAPSHOT_FILE + JournalFormat.TEMP_SUFFIX;
    private static final List<String> OLD_ENTRIES = List.of("a@5", "b@5");
    private static final List<String> NEW_ENTRIES = List.of("a@8", "b@7", "c@8");

    @TempDir
    Path dir;

    /** Snapshot@5 (old entries); segment 5 holds 6..7 (sealed by an abandoned compaction), segment 7 holds 8. */
    private Map<String, byte[]> before;
    /** {@link #before} plus the empty segment 8 a compaction at 8 rolled over to. */
    private Map<String, byte[]> rolled;
    /** {@link #rolled} with 9..10 appended to segment 8 while the compaction ran. */
    private Map<String, byte[]> rolledAndAppended;
    /** After the compaction at 8 finished: snapshot@8 (new entries) + segment 8 holding 9..10. */
    private Map<String, byte[]> after;

    private static List<byte[]> entries(List<String> texts) {
        return texts.stream().map(JournalTesting::payload).toList();
    }

    @BeforeEach
    void compactOnce() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 5);
            journal.compact(5, entries(OLD_ENTRIES));
            appendAndForce(journal, 6, 7);
            assertTrue(journal.beginCompaction(7).abandon());
            appendAndForce(journal, 8, 8);
            before = files(dir);
            Compaction compaction = journal.beginCompaction(8);
            rolled = files(dir);
            appendAndForce(journal, 9, 10);
            rolledAndAppended = files(dir);
            compaction.write(entries(NEW_ENTRIES));
            after = files(dir);
        }
        assertEquals(
                List.of(segmentName(5), segmentName(7), JournalFormat.SNAPSHOT_FILE), List.copyOf(before.keySet()));
        assertEquals(
                List.of(segmentName(5), segmentName(7), segmentName(8), JournalFormat.SNAPSHOT_FILE),
                List.copyOf(rolledAndAppended.keySet()));
        assertEquals(List.of(segmentName(8), JournalFormat.SNAPSHOT_FILE), List.copyOf(after.keySet()));
    }

    private void assertOldState(Recovery recovery, long lastIndex) {
        assertEquals(5, recovery.snapshotIndex());
        assertEquals(OLD_ENTRIES, texts(recovery.snapshotEntries()));
        assertEquals(records(6, lastIndex), recovery.records());
        assertEquals(lastIndex, recovery.lastIndex());
    }

    private void assertNewState(Recovery recovery) {
        assertEquals(8, recovery.snapshotIndex());
        assertEquals(NEW_ENTRIES, texts(recovery.snapshotEntries()));
        assertEquals(records(9, 10), recovery.records(), "records already in the snapshot must not be replayed");
        assertEquals(10, recovery.lastIndex());
    }

    /** The segments of {@code segmentsFrom} under the snapshot of {@code snapshotFrom}. */
    private static Map<String, byte[]> state(Map<String, byte[]> snapshotFrom, Map<String, byte[]> segmentsFrom) {
        Map<String, byte[]> state = new HashMap<>(segmentsFrom);
        state.put(JournalFormat.SNAPSHOT_FILE, snapshotFrom.get(JournalFormat.SNAPSHOT_FILE));
        return state;
    }

    @Test
    void recordsAfterSnapshotAreReplayed() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 11, 12);
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(8, recovery.snapshotIndex());
        assertEquals(NEW_ENTRIES, texts(recovery.snapshotEntries()));
        assertEquals(records(9, 12), recovery.records());
        assertEquals(12, recovery.lastIndex());
    }

    @Test
    void compactLeavesOnlyAnEmptySegmentAfterTheSnapshot() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            assertEquals(recordLength(payload(9)) + recordLength(payload(10)), journal.logBytes());
            appendAndForce(journal, 11, 11);
            journal.compact(11, entries(NEW_ENTRIES));

            assertEquals(0, journal.logBytes());
            assertEquals(List.of(segmentName(11)), segmentNames(dir));
            assertEquals(JournalFormat.LOG_HEADER_LENGTH, Files.size(log(dir)));
            assertEquals(1, journal.stats().compactions());
        }
    }

    @Test
    void compactMovesLastIndexToTheSnapshotIndex() {
        try (Journal journal = openRecovered(dir)) {
            journal.compact(12, entries(NEW_ENTRIES));

            assertEquals(12, journal.lastIndex());
            assertThrows(IllegalArgumentException.class, () -> journal.append(12, payload(12)));
        }
        assertEquals(12, recoverAndClose(dir).lastIndex());
        try (Journal journal = openRecovered(dir)) {
            assertEquals(12, journal.lastIndex());
            appendAndForce(journal, 13, 13);
        }
        assertEquals(records(13, 13), recoverAndClose(dir).records());
    }

    @Test
    void emptySnapshotRoundTrips() {
        try (Journal journal = openRecovered(dir)) {
            journal.compact(10, List.of());
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(10, recovery.snapshotIndex());
        assertEquals(List.of(), recovery.snapshotEntries());
        assertEquals(List.of(), recovery.records());
    }

    @Test
    void snapshotLargerThanTheWriteBufferRoundTrips() {
        byte[][] entries = new byte[40][];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = new byte[10_000 + i];
            Arrays.fill(entries[i], (byte) i);
        }
        try (Journal journal = openRecovered(dir)) {
            journal.compact(10, Arrays.asList(entries));
        }

        List<byte[]> recovered = recoverAndClose(dir).snapshotEntries();

        assertEquals(entries.length, recovered.size());
        for (int i = 0; i < entries.length; i++) {
            assertTrue(Arrays.equals(entries[i], recovered.get(i)), "entry " + i);
        }
    }

    @Test
    void crashDuringRolloverRecoversTheOldState() throws IOException {
        Map<String, byte[]> crashed = new HashMap<>(before);
        String temp = segmentName(8) + JournalFormat.TEMP_SUFFIX;
        crashed.put(temp, rolled.get(segmentName(8)));
        restore(dir, crashed);

        assertOldState(recoverAndClose(dir), 8);
        assertFalse(Files.exists(dir.resolve(temp)), "stale segment temp file deleted");
        assertEquals(List.of(segmentName(5), segmentName(7)), segmentNames(dir));
    }

    @Test
    void crashAfterRolloverBeforeSnapshotRecoversTheOldState() throws IOException {
        restore(dir, rolled);
        assertOldState(recoverAndClose(dir), 8);

        restore(dir, rolledAndAppended);
        assertOldState(recoverAndClose(dir), 10);
        assertEquals(rolledAndAppended.keySet(), files(dir).keySet(), "nothing deleted without a newer snapshot");
    }

    @Test
    void crashWhileWritingTheSnapshotRecoversTheOldState() throws IOException {
        Map<String, byte[]> crashed = new HashMap<>(rolledAndAppended);
        byte[] newSnapshot = after.get(JournalFormat.SNAPSHOT_FILE);
        crashed.put(SNAPSHOT_TEMP, Arrays.copyOf(newSnapshot, newSnapshot.length / 2));
        restore(dir, crashed);

        assertOldState(recoverAndClose(dir), 10);
        assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)), "stale snapshot temp file deleted");
    }

    @Test
    void crashAfterSnapshotRenameBeforeDeletingSegmentsRecoversOnce() throws IOException {
        restore(dir, state(after, rolledAndAppended));

        assertNewState(recoverAndClose(dir));
        assertEquals(List.of(segmentName(8)), segmentNames(dir), "recovery deleted the covered segments");
        assertNewState(recoverAndClose(dir));
    }

    @Test
    void crashMidDeletionRecoversOnce() throws IOException {
        Map<String, byte[]> crashed = state(after, rolledAndAppended);
        crashed.remove(segmentName(5)); // deleted oldest first
        restore(dir, crashed);

        assertNewState(recoverAndClose(dir));
        assertEquals(List.of(segmentName(8)), segmentNames(dir));
    }

    @Test
    void crashMidDeletionInAnyOrderRecoversOnce() throws IOException {
        Map<String, byte[]> crashed = state(after, rolledAndAppended);
        crashed.remove(segmentName(7)); // not the order the journal deletes in, but equally safe
        restore(dir, crashed);

        assertNewState(recoverAndClose(dir));
        assertEquals(List.of(segmentName(8)), segmentNames(dir));
    }

    @Test
    void crashAfterDeletionRecoversTheNewSnapshot() throws IOException {
        restore(dir, after);

        assertNewState(recoverAndClose(dir));
    }

    @Test
    void appendsAfterAnInterruptedCompactionAreKept() throws IOException {
        restore(dir, state(after, rolledAndAppended));
        try (Journal journal = openRecovered(dir)) {
            assertEquals(10, journal.lastIndex());
            appendAndForce(journal, 11, 11);
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(8, recovery.snapshotIndex());
        assertEquals(records(9, 11), recovery.records());
    }

    @Test
    void compactWithBufferedRecordsIsRejected() {
        try (Journal journal = openRecovered(dir)) {
            journal.append(11, payload(11));

            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> journal.compact(11, entries(NEW_ENTRIES)));
            assertTrue(
                    e.getMessage().startsWith("compact: buffered records must be forced first: buffered=1"),
                    e.getMessage());
            assertFalse(journal.compacting());
        }
    }

    @Test
    void compactBehindLastIndexIsRejected() {
        try (Journal journal = openRecovered(dir)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> journal.compact(9, entries(NEW_ENTRIES)));

            assertEquals("compact: snapshot index is behind the journal: index=9, lastIndex=10", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> journal.beginCompaction(9));
            assertFalse(journal.compacting());
        }
    }

    @Test
    void nullEntryFailsTheCompactionAndLeavesNoTempFile() {
        try (Journal journal = openRecovered(dir)) {
            List<byte[]> withNull = Arrays.asList(payload("a"), null);

            assertThrows(NullPointerException.class, () -> journal.compact(10, withNull));
            assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)));
            assertEquals(1, journal.stats().failedCompactions());
            assertFalse(journal.compacting());
        }
        assertNewState(recoverAndClose(dir));
    }

    @Test
    void failedSnapshotWriteKeepsTheJournalUsable() throws IOException {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        byte[] snapshotBefore = Files.readAllBytes(snapshot(dir));
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            appendAndForce(journal, 11, 11);
            channels.diskFullAfter(JournalFormat.LOG_HEADER_LENGTH + 10); // the rollover fits, the snapshot not

            JournalException e = assertThrows(
                    JournalException.class, () -> journal.compact(11, entries(List.of("big entry ".repeat(10)))));

            assertTrue(e.usable(), e.getMessage());
            assertTrue(e.getMessage().startsWith("compact: snapshot not written"), e.getMessage());
            assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)), "temp snapshot removed");
            channels.spaceBack();
            appendAndForce(journal, 12, 12);
        }

        Recovery recovery = recoverAndClose(dir);

        assertTrue(Arrays.equals(snapshotBefore, Files.readAllBytes(snapshot(dir))), "old snapshot untouched");
        assertEquals(records(9, 12), recovery.records());
    }

    @Test
    void failedRolloverKeepsTheCurrentSegment() throws IOException {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            channels.failForcesOf(segmentName(10) + JournalFormat.TEMP_SUFFIX, 1);

            JournalException e = assertThrows(JournalException.class, () -> journal.beginCompaction(10));

            assertTrue(e.usable(), e.getMessage());
            assertTrue(e.getMessage().startsWith("beginCompaction: new log segment not created"), e.getMessage());
            assertFalse(journal.compacting());
            assertEquals(1, journal.stats().failedCompactions());
            assertEquals(List.of(segmentName(8)), segmentNames(dir));
            assertFalse(Files.exists(dir.resolve(segmentName(10) + JournalFormat.TEMP_SUFFIX)));
            appendAndForce(journal, 11, 11);
        }

        assertEquals(records(9, 11), recoverAndClose(dir).records());
    }

    @Test
    void directorySyncFailureAfterTheRenameKeepsTheSegments() throws IOException {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            Compaction compaction = journal.beginCompaction(10);
            channels.failForcesOf(dir.getFileName().toString(), 1);

            JournalException e = assertThrows(JournalException.class, () -> compaction.write(entries(List.of("x"))));

            assertTrue(e.usable(), e.getMessage());
            assertTrue(
                    e.getMessage().startsWith("compact: snapshot renamed but the directory sync failed"),
                    e.getMessage());
            assertEquals(List.of(segmentName(8), segmentName(10)), segmentNames(dir), "covered segment kept");
            assertEquals(recordLength(payload(9)) + recordLength(payload(10)), journal.logBytes());
            assertEquals(1, journal.stats().failedCompactions());

            appendAndForce(journal, 11, 11);
            journal.compact(11, entries(List.of("y")));
            assertEquals(List.of(segmentName(11)), segmentNames(dir), "the next compaction deleted both");
        }
        Recovery recovery = recoverAndClose(dir);
        assertEquals(11, recovery.snapshotIndex());
        assertEquals(List.of("y"), texts(recovery.snapshotEntries()));
    }

    @Test
    void undeletableCoveredSegmentIsReportedAndRetried() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            Compaction compaction = journal.beginCompaction(10);
            // A non-empty directory cannot be deleted: stands in for a segment the disk refuses to unlink.
            Path sealed = segment(dir, 8);
            Files.delete(sealed);
            Files.createDirectory(sealed);
            Files.writeString(sealed.resolve("pin"), "x");

            JournalException e = assertThrows(JournalException.class, () -> compaction.write(entries(List.of("x"))));

            assertTrue(e.usable(), e.getMessage());
            assertTrue(
                    e.getMessage().startsWith("compact: snapshot written, but covered log segments"), e.getMessage());
            assertEquals(1, journal.stats().compactions(), "the snapshot is in force");
            assertEquals(0, journal.stats().failedCompactions());
            assertFalse(journal.compacting());
            assertEquals(0, journal.logBytes(), "covered bytes no longer count");

            Files.delete(sealed.resolve("pin"));
            appendAndForce(journal, 11, 11);
            journal.compact(11, entries(List.of("y")));

            assertFalse(Files.exists(sealed), "the next compaction deleted the leftover");
            assertEquals(List.of(segmentName(11)), segmentNames(dir));
        }
    }
}
