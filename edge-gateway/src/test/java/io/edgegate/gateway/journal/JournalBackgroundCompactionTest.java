package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalTesting.appendAndForce;
import static io.edgegate.gateway.journal.JournalTesting.openRecovered;
import static io.edgegate.gateway.journal.JournalTesting.payload;
import static io.edgegate.gateway.journal.JournalTesting.recordLength;
import static io.edgegate.gateway.journal.JournalTesting.records;
import static io.edgegate.gateway.journal.JournalTesting.recoverAndClose;
import static io.edgegate.gateway.journal.JournalTesting.segmentName;
import static io.edgegate.gateway.journal.JournalTesting.segmentNames;
import static io.edgegate.gateway.journal.JournalTesting.snapshot;
import static io.edgegate.gateway.journal.JournalTesting.texts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link Journal#beginCompaction} on the writer thread, {@link Compaction#write} on another. */
@Timeout(30)
class JournalBackgroundCompactionTest {

    private static final String SNAPSHOT_TEMP = JournalFormat.SNAPSHOT_FILE + JournalFormat.TEMP_SUFFIX;

    @TempDir
    Path dir;

    /** Runs {@code write} on a new thread; {@link #join} returns what it threw, or null. */
    private static final class Writer {
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Thread thread;

        Writer(Compaction compaction, Iterable<byte[]> entries) {
            thread = new Thread(
                    () -> {
                        try {
                            compaction.write(entries);
                        } catch (Throwable t) {
                            failure.set(t);
                        }
                    },
                    "compaction-" + compaction.index());
            thread.start();
        }

        Throwable join() throws InterruptedException {
            thread.join(TimeUnit.SECONDS.toMillis(20));
            assertFalse(thread.isAlive(), "compaction thread still running");
            return failure.get();
        }
    }

    /** The registry's state as of {@code index} when every change is a new entry: change-1..index. */
    private static List<byte[]> state(long index) {
        return LongStream.rangeClosed(1, index)
                .mapToObj(JournalTesting::payload)
                .toList();
    }

    /**
     * Yields {@code entries}, stopping before entry {@code at} until {@code proceed} opens (after
     * opening {@code reached}): holds a compaction in the middle of its snapshot.
     */
    private static Iterable<byte[]> pausing(
            List<byte[]> entries, int at, CountDownLatch reached, CountDownLatch proceed) {
        return () -> new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < entries.size();
            }

            @Override
            public byte[] next() {
                if (next == at) {
                    reached.countDown();
                    try {
                        assertTrue(proceed.await(20, TimeUnit.SECONDS), "test never let the snapshot proceed");
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                }
                return entries.get(next++);
            }
        };
    }

    @Test
    void appendsContinueWhileCompactionWrites() throws Exception {
        long index = 0;
        try (Journal journal = openRecovered(dir)) {
            for (int round = 0; round < 3; round++) {
                for (int batch = 0; batch < 20; batch++, index += 5) {
                    appendAndForce(journal, index + 1, index + 5);
                }
                Compaction compaction = journal.beginCompaction(index);
                List<byte[]> entries = state(index);
                CountDownLatch reached = new CountDownLatch(1);
                CountDownLatch proceed = new CountDownLatch(1);
                Writer writer = new Writer(compaction, pausing(entries, entries.size() / 2, reached, proceed));
                assertTrue(reached.await(20, TimeUnit.SECONDS));

                // The snapshot is half written: the writer goes on, in the new segment.
                for (int batch = 0; batch < 50; batch++, index += 3) {
                    appendAndForce(journal, index + 1, index + 3);
                    if (batch < 25) {
                        assertTrue(journal.compacting(), "the snapshot waits until batch 25");
                    } else if (batch == 25) {
                        proceed.countDown(); // and the rest races with the snapshot's end
                    }
                }
                assertNull(writer.join());
                assertFalse(journal.compacting());
                assertEquals(List.of(segmentName(compaction.index())), segmentNames(dir), "covered segments deleted");
                long expected = 0;
                for (long i = compaction.index() + 1; i <= index; i++) {
                    expected += recordLength(payload(i));
                }
                assertEquals(expected, journal.logBytes(), "only records after the snapshot count");
            }
            assertEquals(3, journal.stats().compactions());
            assertEquals(0, journal.stats().failedCompactions());
        }

        Recovery recovery = recoverAndClose(dir);

        List<String> everything = new ArrayList<>(texts(recovery.snapshotEntries()));
        recovery.records().forEach(r -> everything.add(new String(r.payload(), StandardCharsets.UTF_8)));
        assertEquals(texts(state(index)), everything, "every change exactly once, snapshot then records");
        assertEquals(index, recovery.lastIndex());
        assertEquals(records(recovery.snapshotIndex() + 1, index), recovery.records());
    }

    @Test
    void compactionDoesNotBlockForce() throws Exception {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        CountDownLatch disk = new CountDownLatch(1);
        channels.stallForcesOf(SNAPSHOT_TEMP, disk);
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            appendAndForce(journal, 1, 10);
            Writer writer = new Writer(journal.beginCompaction(10), state(10));
            try {
                assertTrue(channels.awaitStalled(20, TimeUnit.SECONDS), "snapshot force reached");

                for (long i = 11; i <= 30; i++) {
                    appendAndForce(journal, i, i); // would hang (and time out) if force waited for the snapshot
                }

                assertTrue(journal.compacting(), "the snapshot is still stuck in its fsync");
                assertEquals(30, journal.lastIndex());
            } finally {
                disk.countDown();
            }
            assertNull(writer.join());
            assertFalse(journal.compacting());
            assertEquals(1, journal.stats().compactions());
            assertEquals(20, journal.stats().recordsAppended() - 10);
        }

        Recovery recovery = recoverAndClose(dir);

        assertEquals(10, recovery.snapshotIndex());
        assertEquals(texts(state(10)), texts(recovery.snapshotEntries()));
        assertEquals(records(11, 30), recovery.records());
    }

    @Test
    void failedBackgroundCompactionKeepsEverything() throws Exception {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        byte[] snapshotBefore;
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            appendAndForce(journal, 1, 5);
            journal.compact(5, state(5));
            snapshotBefore = Files.readAllBytes(snapshot(dir));
            appendAndForce(journal, 6, 10);
            channels.failForcesOf(SNAPSHOT_TEMP, 1);

            Writer writer = new Writer(journal.beginCompaction(10), state(10));
            appendAndForce(journal, 11, 15);
            Throwable failure = writer.join();

            JournalException e = assertInstanceOf(JournalException.class, failure);
            assertTrue(e.usable(), e.getMessage());
            assertTrue(e.getMessage().startsWith("compact: snapshot not written"), e.getMessage());
            assertFalse(journal.compacting());
            assertEquals(1, journal.stats().failedCompactions());
            assertEquals(1, journal.stats().compactions());
            assertArrayEquals(snapshotBefore, Files.readAllBytes(snapshot(dir)), "old snapshot untouched");
            assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)), "temp snapshot removed");
            assertEquals(List.of(segmentName(5), segmentName(10)), segmentNames(dir), "every segment kept");
            long bytes = 0;
            for (long i = 6; i <= 15; i++) {
                bytes += recordLength(payload(i));
            }
            assertEquals(bytes, journal.logBytes(), "the sealed segment still counts");
        }

        Recovery recovery = recoverAndClose(dir);
        assertEquals(5, recovery.snapshotIndex());
        assertEquals(texts(state(5)), texts(recovery.snapshotEntries()));
        assertEquals(records(6, 15), recovery.records());

        try (Journal journal = openRecovered(dir)) {
            Writer writer = new Writer(journal.beginCompaction(15), state(15));
            appendAndForce(journal, 16, 16);
            assertNull(writer.join());
            assertEquals(List.of(segmentName(15)), segmentNames(dir), "the next compaction covers both");
            assertEquals(recordLength(payload(16)), journal.logBytes());
        }
        recovery = recoverAndClose(dir);
        assertEquals(15, recovery.snapshotIndex());
        assertEquals(records(16, 16), recovery.records());
    }

    @Test
    void failedCompactionIsRetriedWithoutReopening() throws Exception {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            appendAndForce(journal, 1, 5);
            channels.failForcesOf(SNAPSHOT_TEMP, 1);
            assertInstanceOf(JournalException.class, new Writer(journal.beginCompaction(5), state(5)).join());
            appendAndForce(journal, 6, 8);

            assertNull(new Writer(journal.beginCompaction(8), state(8)).join());

            assertFalse(journal.compacting());
            assertEquals(0, journal.logBytes());
            assertEquals(List.of(segmentName(8)), segmentNames(dir));
        }
        Recovery recovery = recoverAndClose(dir);
        assertEquals(texts(state(8)), texts(recovery.snapshotEntries()));
        assertEquals(List.of(), recovery.records());
    }

    @Test
    void secondBeginWhileCompactingIsRefused() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
            Compaction first = journal.beginCompaction(3);
            assertTrue(journal.compacting());

            IllegalStateException again = assertThrows(IllegalStateException.class, () -> journal.beginCompaction(3));
            assertTrue(
                    again.getMessage().startsWith("beginCompaction: a compaction is running, at most one at a time"),
                    again.getMessage());
            assertThrows(IllegalStateException.class, () -> journal.compact(3, state(3)));

            assertTrue(first.abandon());
            assertFalse(first.abandon(), "abandoned once");
            assertFalse(journal.compacting());
            assertThrows(IllegalStateException.class, () -> first.write(state(3)), "no write after abandon");
            assertEquals(1, journal.stats().failedCompactions());

            Compaction second = journal.beginCompaction(3);
            second.write(state(3));
            assertThrows(IllegalStateException.class, () -> second.write(state(3)), "write runs once");
            assertFalse(second.abandon(), "too late to abandon");
            assertFalse(journal.compacting());
            journal.beginCompaction(3).abandon();
        }
        Recovery recovery = recoverAndClose(dir);
        assertEquals(3, recovery.snapshotIndex());
        assertEquals(List.of(), recovery.records());
    }

    @Test
    void logBytesCountsEverySegmentUntilTheSnapshotIsWritten() {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 4);
            long sealed = journal.logBytes();
            Compaction compaction = journal.beginCompaction(4);
            assertEquals(sealed, journal.logBytes(), "the rollover moves bytes, it does not cover them");
            appendAndForce(journal, 5, 5);
            assertEquals(sealed + recordLength(payload(5)), journal.logBytes());

            compaction.write(state(4));

            assertEquals(recordLength(payload(5)), journal.logBytes());
        }
    }

    @Test
    void beginWithNothingNewReusesTheEmptySegment() throws IOException {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 2);
            journal.compact(2, state(2));
            assertEquals(List.of(segmentName(2)), segmentNames(dir));

            journal.compact(2, state(2));
            journal.compact(4, state(4)); // indices 3..4 were never journaled: only the snapshot has them

            assertEquals(List.of(segmentName(2)), segmentNames(dir), "no record, no rollover");
            assertEquals(4, journal.lastIndex());
            appendAndForce(journal, 5, 5);
        }
        Recovery recovery = recoverAndClose(dir);
        assertEquals(4, recovery.snapshotIndex());
        assertEquals(records(5, 5), recovery.records());
    }

    @Test
    void closeAbandonsACompactionNotYetWriting() {
        Compaction compaction;
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 3);
            compaction = journal.beginCompaction(3);
            appendAndForce(journal, 4, 4);
        }

        JournalException e = assertThrows(JournalException.class, () -> compaction.write(state(3)));

        assertFalse(e.usable());
        assertTrue(e.getMessage().startsWith("compact: the journal was closed before the snapshot was written"));
        Recovery recovery = recoverAndClose(dir);
        assertEquals(0, recovery.snapshotIndex());
        assertEquals(records(1, 4), recovery.records());
    }

    @Test
    void closeWaitsForARunningCompactionWhichFailsCleanly() throws Exception {
        Journal journal = openRecovered(dir);
        appendAndForce(journal, 1, 10);
        CountDownLatch reached = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        Writer writer = new Writer(journal.beginCompaction(10), pausing(state(10), 5, reached, proceed));
        assertTrue(reached.await(20, TimeUnit.SECONDS));
        appendAndForce(journal, 11, 11);

        AtomicReference<Throwable> closeFailure = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                journal.close();
            } catch (Throwable t) {
                closeFailure.set(t);
            }
        });
        closer.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (closer.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(closer.isAlive(), "close waits for the compaction");
        proceed.countDown();
        closer.join(TimeUnit.SECONDS.toMillis(20));
        assertFalse(closer.isAlive());
        assertNull(closeFailure.get());

        JournalException e = assertInstanceOf(JournalException.class, writer.join());
        assertFalse(e.usable(), e.getMessage());
        assertTrue(e.getMessage().startsWith("compact: snapshot not written"), e.getMessage());
        assertFalse(Files.exists(dir.resolve(SNAPSHOT_TEMP)), "temp snapshot removed");
        assertFalse(Files.exists(snapshot(dir)));
        assertEquals(1, journal.stats().failedCompactions());

        Recovery recovery = recoverAndClose(dir); // the lock was free: nothing writes any more
        assertEquals(records(1, 11), recovery.records());
    }

    @Test
    void largeSnapshotIsForcedAsItIsWritten() throws Exception {
        FaultInjectingChannels channels = new FaultInjectingChannels();
        List<byte[]> entries = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            entries.add(new byte[1 << 20]);
        }
        try (Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build())) {
            journal.recover();
            appendAndForce(journal, 1, 1);
            Compaction compaction = journal.beginCompaction(1);
            channels.resetCounts();

            assertNull(new Writer(compaction, entries).join());

            // 20 MiB: forced after 8 and 16 MiB, at the end, then the directory after the rename.
            assertEquals(4, channels.forceCalls(), "forces while writing a 20 MiB snapshot");
        }
        assertEquals(20, recoverAndClose(dir).snapshotEntries().size());
    }

    @Test
    void compactionThreadCountsInStats() throws Exception {
        try (Journal journal = openRecovered(dir)) {
            appendAndForce(journal, 1, 100);
            long recordBytes = journal.logBytes();
            Writer writer = new Writer(journal.beginCompaction(100), state(100));
            assertTrue(journal.stats().compactions() <= 1, "readable while the compaction runs");
            assertNull(writer.join());

            JournalStats stats = journal.stats();

            assertEquals(1, stats.compactions());
            assertEquals(
                    recordBytes + JournalFormat.LOG_HEADER_LENGTH + Files.size(snapshot(dir)),
                    stats.bytesWritten(),
                    "records, the new segment's header and the snapshot");
        }
    }
}
