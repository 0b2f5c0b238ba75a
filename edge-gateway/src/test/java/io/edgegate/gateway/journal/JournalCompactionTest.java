package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.files;
import static io.edgegate.gateway.journal.JournalTesting.log;
import static io.edgegate.gateway.journal.JournalTesting.openRecovered;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static io.edgegate.gateway.journal.JournalTesting.restore;
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
 * files before and after a real compaction, combined as the steps leave them on disk:
 * <ol>
 *   <li>snapshot temp file half written: old snapshot + old log + partial temp;</li>
 *   <li>snapshot renamed: new snapshot + old log;</li>
 *   <li>fresh log written to its temp file: new snapshot + old log + log temp;</li>
 *   <li>fresh log renamed over the old one: new snapshot + new log.</li>
 * </ol>
 */
class JournalCompactionTest {

    private static final String SNAPSHOT_TEMP = JournalFormat.SNAPSHOT_FILE + JournalFormat.TEMP_SUFFIX;
    private static final String LOG_TEMP = JournalFormat.LOG_FILE + JournalFormat.TEMP_SUFFIX;
    private static final List<String> OLD_ENTRIES = List.of("a@5", "b@5");
    private static final List<String> NEW_ENTRIES = List.of("a@8", "b@7", "c@8");

    @TempDir
    Path dir;

    /** Files with snapshot@5 (old entries) and records 6..8 in the log. */
    private Map<String, byte[]> before;
    /** Files after compacting that state at 8 (new entries), empty log. */
    private Map<String, byte[]> after;

    private static List<byte[]> entries(List<String> texts) {
        return texts.stream().map(JournalTesting::payload).toList();
    }

    @BeforeEach
    void compactOnce() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 5);
            journal.compact(5, entries(OLD_ENTRIES));
            appendAndForce(journal, 6, 8);
        }
        before = files(dir);
        try (Journal journal = openRecovered(dir)) {
            journal.compact(8, entries(NEW_ENTRIES));
        }
        after = files(dir);
        assertEquals(List.of(JournalFormat.LOG_FILE, JournalFormat.SNAPSHOT_FILE), List.copyOf(after.keySet()));
    }

    private void assertOldState(Recovery recovery) {
        assertEquals(5, recovery.snapshotIndex());
        assertEquals(OLD_ENTRIES, texts(recovery.snapshotEntries()));
        assertEquals(records(6, 8), recovery.records());
        assertEquals(8, recovery.lastIndex());
    }

    private void assertNewState(Recovery recovery) {
        assertEquals(8, recovery.snapshotIndex());
        assertEquals(NEW_ENTRIES, texts(recovery.snapshotEntries()));
        assertEquals(List.of(), recovery.records(), "records already in the snapshot must not be replayed");
        assertEquals(8, recovery.lastIndex());
    }

    private Map<String, byte[]> state(Map<String, byte[]> snapshotFrom, Map<String, byte[]> logFrom) {
        Map<String, byte[]> state = new HashMap<>();
        state.put(JournalFormat.SNAPSHOT_FILE, snapshotFrom.get(JournalFormat.SNAPSHOT_FILE));
        state.put(JournalFormat.LOG_FILE, logFrom.get(JournalFormat.LOG_FILE));
        return state;
    }

    @Test
    void recordsAfterSnapshotAreReplayed() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 9, 10);
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(8, recovery.snapshotIndex());
        assertEquals(NEW_ENTRIES, texts(recovery.snapshotEntries()));
        assertEquals(records(9, 10), recovery.records());
        assertEquals(10, recovery.lastIndex());
    }

    @Test
    void compactStartsAnEmptyLog() throws IOException {
        assertEquals(JournalFormat.LOG_HEADER_LENGTH, after.get(JournalFormat.LOG_FILE).length);
        try (Journal journal = openRecovered(dir)) {
            assertEquals(0, journal.logBytes());
            appendAndForce(journal, 9, 9);
            journal.compact(9, entries(NEW_ENTRIES));

            assertEquals(0, journal.logBytes());
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
    }

    @Test
    void emptySnapshotRoundTrips() {
        try (Journal journal = openRecovered(dir)) {
            journal.compact(8, List.of());
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(8, recovery.snapshotIndex());
        assertEquals(List.of(), recovery.snapshotEntries());
    }

    @Test
    void snapshotLargerThanTheWriteBufferRoundTrips() {
        byte[][] entries = new byte[40][];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = new byte[10_000 + i];
            Arrays.fill(entries[i], (byte) i);
        }
        try (Journal journal = openRecovered(dir)) {
            journal.compact(8, Arrays.asList(entries));
        }

        List<byte[]> recovered = recoverAndClose(dir).snapshotEntries();

        assertEquals(entries.length, recovered.size());
        for (int i = 0; i < entries.length; i++) {
            assertTrue(Arrays.equals(entries[i], recovered.get(i)), "entry " + i);
        }
    }

    @Test
    void crashWhileWritingTheSnapshotRecoversTheOldState() throws IOException {
        Map<String, byte[]> crashed = new HashMap<>(before);
        byte[] newSnapshot = after.get(JournalFormat.SNAPSHOT_FILE);
        crashed.put(SNAPSHOT_TEMP, Arrays.copyOf(newSnapshot, newSnapshot.length / 2));
        restore(dir, crashed);

        assertOldState(recoverAndClose(dir));
        assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)), "stale snapshot temp file deleted");
    }

    @Test
    void crashBetweenSnapshotRenameAndLogDeleteRecoversOnce() throws IOException {
        restore(dir, state(after, before));

        assertNewState(recoverAndClose(dir));
        assertEquals(JournalFormat.LOG_HEADER_LENGTH, Files.size(log(dir)), "recovery finished the compaction");
        assertNewState(recoverAndClose(dir));
    }

    @Test
    void appendsAfterAnInterruptedCompactionAreKept() throws IOException {
        restore(dir, state(after, before));
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 9, 9);
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(8, recovery.snapshotIndex());
        assertEquals(records(9, 9), recovery.records());
    }

    @Test
    void crashBeforeLogRenameRecoversOnce() throws IOException {
        Map<String, byte[]> crashed = state(after, before);
        crashed.put(LOG_TEMP, after.get(JournalFormat.LOG_FILE));
        restore(dir, crashed);

        assertNewState(recoverAndClose(dir));
        assertFalse(Files.exists(dir.resolve(LOG_TEMP)), "stale log temp file deleted");
    }

    @Test
    void crashAfterLogRenameRecoversTheNewSnapshot() throws IOException {
        restore(dir, after);

        assertNewState(recoverAndClose(dir));
    }

    @Test
    void compactWithBufferedRecordsIsRejected() {
        try (Journal journal = openRecovered(dir)) {
            journal.append(9, payload(9));

            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> journal.compact(9, entries(NEW_ENTRIES)));
            assertTrue(
                    e.getMessage().startsWith("compact: buffered records must be forced first: buffered=1"),
                    e.getMessage());
        }
    }

    @Test
    void compactBehindLastIndexIsRejected() {
        try (Journal journal = openRecovered(dir)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> journal.compact(7, entries(NEW_ENTRIES)));

            assertEquals("compact: snapshot index is behind the journal: index=7, lastIndex=8", e.getMessage());
        }
    }

    @Test
    void nullEntryFailsTheCompactionAndLeavesNoTempFile() {
        try (Journal journal = openRecovered(dir)) {
            List<byte[]> withNull = Arrays.asList(payload("a"), null);

            assertThrows(NullPointerException.class, () -> journal.compact(8, withNull));
            assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)));
            assertEquals(1, journal.stats().failedCompactions());
        }
        assertNewState(recoverAndClose(dir));
    }

    @Test
    void failedSnapshotWriteKeepsTheJournalUsable() throws IOException {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        byte[] snapshotBefore = Files.readAllBytes(snapshot(dir));
        try (Journal journal = Journal.open(dir, JournalOptions.defaults().withChannels(channels))) {
            journal.recover();
            appendAndForce(journal, 9, 9);
            channels.diskFullAfter(30);

            JournalException e = assertThrows(
                    JournalException.class, () -> journal.compact(9, entries(List.of("big entry ".repeat(10)))));

            assertTrue(e.usable(), e.getMessage());
            assertTrue(e.getMessage().startsWith("compact: snapshot not written"), e.getMessage());
            assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)), "temp snapshot removed");
            channels.spaceBack();
            appendAndForce(journal, 10, 10);
        }

        Recovery recovery = recoverAndClose(dir);

        assertTrue(Arrays.equals(snapshotBefore, Files.readAllBytes(snapshot(dir))), "old snapshot untouched");
        assertEquals(records(9, 10), recovery.records());
    }
}
