package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.log;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A force that fails on a full or failing disk, injected through {@link FaultInjectingChannels}. */
class JournalFaultTest {

    @TempDir
    Path dir;

    private final FaultInjectingChannels channels = new FaultInjectingChannels();
    private Journal journal;
    private long forcedLength;

    @BeforeEach
    void openWithThreeForcedRecords() throws IOException {
        journal = Journal.open(dir, JournalOptions.builder().channels(channels).build());
        journal.recover();
        appendAndForce(journal, 1, 3);
        forcedLength = Files.size(log(dir));
    }

    @AfterEach
    void close() {
        journal.close();
    }

    private void appendBatch(long from, long to, String prefix) {
        for (long i = from; i <= to; i++) {
            journal.append(i, payload(prefix + i));
        }
    }

    @Test
    void failedForceLeavesNoPartialRecord() throws IOException {
        channels.diskFullAfter(40); // a record and a half of the next batch fit
        appendBatch(4, 6, "lost-");

        JournalException e = assertThrows(JournalException.class, journal::force);

        assertTrue(e.usable(), e.getMessage());
        assertEquals(FaultInjectingChannels.DISK_FULL, e.getCause().getMessage());
        assertTrue(
                e.getMessage().startsWith("force: write failed, batch dropped and log cut back: file="),
                e.getMessage());
        assertEquals(forcedLength, Files.size(log(dir)), "log cut back to its last forced length");
        assertEquals(0, journal.bufferedRecords());
        assertEquals(3, journal.lastIndex());

        channels.spaceBack();
        appendAndForce(journal, 4, 5); // the dropped indices may be reused
        journal.close();

        assertEquals(records(1, 5), recoverAndClose(dir).records());
    }

    @Test
    void failedSyncDropsTheBatch() throws IOException {
        channels.failNextForces(1);
        appendBatch(4, 6, "lost-");

        JournalException e = assertThrows(JournalException.class, journal::force);

        assertTrue(e.usable(), e.getMessage());
        assertEquals(forcedLength, Files.size(log(dir)));
        journal.close();
        assertEquals(records(1, 3), recoverAndClose(dir).records());
    }

    @Test
    void failedForceIsCounted() {
        channels.diskFullAfter(0);
        appendBatch(4, 4, "lost-");

        assertThrows(JournalException.class, journal::force);

        JournalStats stats = journal.stats();
        assertEquals(1, stats.failedForces());
        assertEquals(1, stats.forces());
        assertEquals(3, stats.recordsAppended());
        journal.close();
    }

    @Test
    void failedCutBackBreaksTheJournalUntilReopened() throws IOException {
        channels.diskFullAfter(10); // part of the first record of the batch
        channels.failTruncates(true);
        appendBatch(4, 6, "lost-");

        JournalException failure = assertThrows(JournalException.class, journal::force);

        assertFalse(failure.usable(), failure.getMessage());
        JournalException later = assertThrows(JournalException.class, () -> journal.append(4, payload(4)));
        assertFalse(later.usable());
        assertTrue(later.getMessage().startsWith("append: journal is broken"), later.getMessage());
        assertEquals(failure, later.getCause());
        assertThrows(JournalException.class, journal::force);
        journal.close();

        Recovery recovery = recoverAndClose(dir);

        assertEquals(records(1, 3), recovery.records());
        assertEquals(10, recovery.tornBytesCut(), "the partial record is cut at recovery instead");
    }

    @Test
    void everyDiskFullPointLeavesExactlyTheForcedRecords() throws IOException {
        List<Long> budgets = new ArrayList<>();
        for (long budget = 0; budget < 66; budget += 7) { // a batch of three takes 66 bytes or more
            budgets.add(budget);
        }
        long next = 4;
        for (long budget : budgets) {
            channels.diskFullAfter(budget);
            appendBatch(next, next + 2, "lost-");
            assertThrows(JournalException.class, journal::force, "budget " + budget);
            assertEquals(forcedLength, Files.size(log(dir)), "log length after running out at " + budget);
            channels.spaceBack();
            appendAndForce(journal, next, next);
            forcedLength = Files.size(log(dir));
            next++;
        }
        journal.close();

        assertEquals(records(1, next - 1), recoverAndClose(dir).records());
    }
}
