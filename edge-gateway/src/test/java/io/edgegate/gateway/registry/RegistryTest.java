package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.journal.FaultInjectingChannels;
import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryTest {
    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(1_000_000);
    private final FaultInjectingChannels channels = new FaultInjectingChannels();
    private Registry registry;

    @AfterEach
    void close() {
        if (registry != null) {
            registry.close();
        }
    }

    private Registry open() {
        return open(RegistryOptions.defaults());
    }

    private Registry open(RegistryOptions options) {
        Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build());
        registry = Registry.open(journal, options, new ErrorLog(), clock::get);
        return registry;
    }

    private Registry reopen() {
        registry.close();
        return open();
    }

    private static InstanceSpec spec(String service, String id, CheckSpec... checks) {
        return new InstanceSpec(
                service, id, "10.0.0.1", 8080, List.of("version:v1"), Map.of("model", "m"), List.of(checks), 1, 1);
    }

    private static CheckSpec ttl(String id, long ttlMillis) {
        return CheckSpec.builder(id, CheckKind.TTL).ttlMillis(ttlMillis).build();
    }

    /** Waits until the writer has run a duty cycle after now (so timers due at the clock have fired). */
    private void sync(Registry r) {
        r.await(r.registerAll(List.of()));
    }

    @Test
    void registerWithSameIdUpdatesInPlace() {
        Registry r = open();
        Change first = r.await(r.register(spec("llm", "llm-1")));
        InstanceSpec moved = new InstanceSpec("llm", "llm-1", "10.0.0.2", 9090, List.of(), Map.of(), List.of(), 1, 1);
        Change second = r.await(r.register(moved));
        assertTrue(second.index() > first.index());
        assertEquals(1, r.service("llm").instances().size());
        assertEquals("10.0.0.2", r.instance("llm-1").spec().address());
        assertEquals(first.index(), r.instance("llm-1").createIndex(), "create index is kept on update");
    }

    @Test
    void reRegisteringUnchangedInstanceKeepsIndex() {
        Registry r = open();
        Change first = r.await(r.register(spec("llm", "llm-1")));
        Change again = r.await(r.register(spec("llm", "llm-1")));
        assertEquals(first.index(), again.index());
        assertEquals(first.index(), r.index());
    }

    @Test
    void unchangedReRegistrationWritesNothingToTheJournal() {
        Registry r = open();
        Change first = r.await(r.register(spec("llm", "llm-1", ttl("service:llm-1", 10_000))));
        long records = r.journalStats().recordsAppended();
        channels.resetCounts();
        for (int i = 0; i < 10; i++) {
            assertEquals(
                    first.index(),
                    r.await(r.register(spec("llm", "llm-1", ttl("service:llm-1", 10_000))))
                            .index());
        }
        assertEquals(
                List.of(first.index()),
                r.await(r.registerAll(List.of(spec("llm", "llm-1", ttl("service:llm-1", 10_000))))).stream()
                        .map(Change::index)
                        .toList());
        assertEquals(records, r.journalStats().recordsAppended());
        assertEquals(0, channels.forceCalls(), "nothing to make durable");
        assertEquals(11, r.fastRegistrations());
    }

    @Test
    void unchangedReRegistrationIsAnsweredWhileAnotherWriteWaitsForItsForce() throws Exception {
        Registry r = open();
        Change first = r.await(r.register(spec("llm", "llm-1")));
        CountDownLatch gate = new CountDownLatch(1);
        channels.resetCounts();
        channels.stallForces(gate);
        CompletableFuture<Change> added;
        try {
            added = r.register(spec("llm", "llm-2"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (channels.forceCalls() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(1, channels.forceCalls(), "the new instance's batch is held in its force");
            CompletableFuture<Change> again = r.register(spec("llm", "llm-1"));
            assertTrue(again.isDone(), "an unchanged re-registration does not queue behind the force");
            assertEquals(first.index(), again.join().index());
            assertFalse(added.isDone(), "a new instance is acknowledged only once durable");
        } finally {
            channels.stallForces(null);
            gate.countDown();
        }
        assertTrue(r.await(added).index() > first.index());
        assertNotNull(reopen().instance("llm-2"));
    }

    @Test
    void changedReRegistrationTakesANewIndex() {
        Registry r = open();
        Change first = r.await(r.register(spec("llm", "llm-1", ttl("service:llm-1", 10_000))));
        Change longer = r.await(r.register(spec("llm", "llm-1", ttl("service:llm-1", 20_000))));
        assertTrue(longer.index() > first.index(), "another TTL is a change");
        assertEquals(0, r.fastRegistrations());
        assertEquals(20_000, reopen().instance("llm-1").checks().get(0).spec().ttlMillis());
    }

    @Test
    void unchangedReRegistrationIsRefusedOnceTheJournalFailed() {
        Registry r = open();
        r.await(r.register(spec("llm", "llm-1")));
        channels.failNextForces(1);
        channels.failTruncates(true);
        assertThrows(RegistryException.class, () -> r.await(r.register(spec("llm", "llm-2"))));
        RegistryException e = assertThrows(RegistryException.class, () -> r.await(r.register(spec("llm", "llm-1"))));
        assertEquals(503, e.status());
        assertEquals(0, r.fastRegistrations());
    }

    @Test
    void unchangedBatchNamingAnIdTwiceIsConflict() {
        Registry r = open();
        r.await(r.register(spec("llm", "llm-1")));
        RegistryException e = assertThrows(
                RegistryException.class,
                () -> r.await(r.registerAll(List.of(spec("llm", "llm-1"), spec("llm", "llm-1")))));
        assertEquals(409, e.status());
    }

    @Test
    void idReusedForAnotherServiceIsConflict() {
        Registry r = open();
        r.await(r.register(spec("llm", "x-1")));
        RegistryException e = assertThrows(RegistryException.class, () -> r.await(r.register(spec("vision", "x-1"))));
        assertEquals(409, e.status());
        assertEquals("id", e.field());
        assertEquals("llm", r.instance("x-1").service());
    }

    @Test
    void batchWithConflictRegistersNothing() {
        Registry r = open();
        r.await(r.register(spec("llm", "x-1")));
        long before = r.index();
        assertThrows(
                RegistryException.class,
                () -> r.await(r.registerAll(List.of(spec("vision", "v-1"), spec("vision", "x-1")))));
        assertNull(r.instance("v-1"));
        assertEquals(before, r.index());
    }

    @Test
    void firstChangeOnFreshRegistryMovesIndexPastTheFloor() {
        Registry r = open();
        long floor = r.index();
        assertTrue(floor >= 1);
        assertEquals(floor, r.serviceIndex("later"));
        assertTrue(r.await(r.register(spec("later", "later-1"))).index() > floor);
        assertTrue(r.serviceIndex("later") > floor, "a watcher holding the floor index wakes");
    }

    @Test
    void sameIdTwiceInOneBatchIsConflict() {
        Registry r = open();
        RegistryException e = assertThrows(
                RegistryException.class,
                () -> r.await(r.registerAll(List.of(spec("llm", "llm-1"), spec("llm", "llm-1")))));
        assertEquals(409, e.status());
        assertNull(r.instance("llm-1"));
    }

    @Test
    void sameCheckIdForTwoInstancesOfOneBatchIsConflict() {
        Registry r = open();
        RegistryException e = assertThrows(
                RegistryException.class,
                () -> r.await(r.registerAll(List.of(
                        spec("llm", "llm-1", ttl("shared", 1_000)), spec("llm", "llm-2", ttl("shared", 1_000))))));
        assertEquals("check.id", e.field());
        assertNull(r.instance("llm-1"));
    }

    @Test
    void failedWriteRestoresServiceIndex() {
        Registry r = open();
        long before = r.await(r.register(spec("llm", "llm-1"))).index();
        channels.diskFullAfter(0);
        assertThrows(RegistryException.class, () -> r.await(r.register(spec("llm", "llm-2"))));
        assertEquals(before, r.serviceIndex("llm"), "a watcher must not hold an index that is reused");
        channels.spaceBack();
    }

    @Test
    void deregisterBumpsServiceIndexAndEmptiesIt() {
        Registry r = open();
        r.await(r.register(spec("llm", "llm-1")));
        Change removed = r.await(r.deregister("llm-1"));
        ServiceSnapshot snapshot = r.service("llm");
        assertTrue(snapshot.isEmpty());
        assertEquals(removed.index(), snapshot.index());
        assertEquals(
                404,
                assertThrows(RegistryException.class, () -> r.await(r.deregister("llm-1")))
                        .status());
    }

    @Test
    void instanceWithoutChecksIsRoutableAndTtlCheckStartsCritical() {
        Registry r = open();
        r.await(r.register(spec("plain", "p-1")));
        r.await(r.register(spec("leased", "l-1", ttl("service:l-1", 10_000))));
        assertEquals(1, r.service("plain").routableCount());
        assertEquals(0, r.service("leased").routableCount(), "not routable until its check passes");
        assertEquals(Health.CRITICAL, r.instance("l-1").health());
    }

    @Test
    void ttlCheckIsCriticalOneTtlAfterLastReport() {
        Registry r = open();
        r.await(r.register(spec("leased", "l-1", ttl("service:l-1", 10_000))));
        r.await(r.updateCheck("service:l-1", Health.PASSING, "ok"));
        assertEquals(1, r.service("leased").routableCount());
        clock.addAndGet(9_900);
        sync(r);
        assertEquals(Health.PASSING, r.instance("l-1").health(), "still inside its TTL");
        clock.addAndGet(200);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (r.instance("l-1").health() != Health.CRITICAL && System.nanoTime() < deadline) {
            sync(r);
        }
        assertEquals(Health.CRITICAL, r.instance("l-1").health(), "expired at TTL, not at 2x TTL");
        assertEquals(0, r.service("leased").routableCount());
    }

    @Test
    void heartbeatRenewsLeaseWithoutJournalWrite() {
        Registry r = open();
        r.await(r.register(spec("leased", "l-1", ttl("service:l-1", 10_000))));
        Change passing = r.await(r.heartbeat("l-1"));
        long records = r.journalStats().recordsAppended();
        for (int i = 0; i < 100; i++) {
            clock.addAndGet(5_000);
            assertEquals(passing.index(), r.await(r.heartbeat("l-1")).index(), "a renewal is not a change");
        }
        assertEquals(records, r.journalStats().recordsAppended(), "heartbeats are not journaled");
        assertEquals(Health.PASSING, r.instance("l-1").health(), "500 s of 5 s renewals keep a 10 s lease");
    }

    @Test
    void updateOfUnknownCheckIsNotFound() {
        Registry r = open();
        assertEquals(
                404,
                assertThrows(RegistryException.class, () -> r.await(r.updateCheck("service:nope", Health.PASSING, "")))
                        .status());
    }

    @Test
    void maintenanceTakesInstanceOutOfRoutingAndBack() {
        Registry r = open();
        r.await(r.register(spec("llm", "llm-1")));
        r.await(r.maintenance("llm-1", true, "swap GPU"));
        assertEquals(0, r.service("llm").routableCount());
        assertEquals("swap GPU", r.instance("llm-1").maintenanceReason());
        r.await(r.maintenance("llm-1", false, null));
        assertEquals(1, r.service("llm").routableCount());
    }

    @Test
    void restartRestoresInstancesWithLastHealthAndFreshLease() {
        Registry r = open();
        r.await(r.register(spec("leased", "l-1", ttl("service:l-1", 10_000))));
        r.await(r.heartbeat("l-1"));
        r.await(r.register(spec("leased", "l-2", ttl("service:l-2", 10_000))));
        long index = r.index();
        clock.addAndGet(9_000);
        r = reopen();
        assertEquals(Health.PASSING, r.instance("l-1").health(), "last known health survives a restart");
        assertEquals(Health.CRITICAL, r.instance("l-2").health());
        assertEquals(index, r.index());
        clock.addAndGet(9_000);
        sync(r);
        assertEquals(Health.PASSING, r.instance("l-1").health(), "restored instances get one fresh lease");
    }

    @Test
    void indexNeverGoesBackwardsAcrossRestart() {
        Registry r = open();
        r.await(r.register(spec("a", "a-1")));
        Change removed = r.await(r.deregister("a-1"));
        r = reopen();
        assertTrue(r.index() >= removed.index());
        assertTrue(r.serviceIndex("a") >= removed.index(), "a deleted service keeps an index at least as high");
        assertTrue(r.await(r.register(spec("b", "b-1"))).index() > removed.index());
    }

    @Test
    void diskFullRefusesTheBatchAndChangesNothing() {
        Registry r = open();
        r.await(r.register(spec("llm", "llm-1")));
        long index = r.index();
        channels.diskFullAfter(10);
        RegistryException e = assertThrows(RegistryException.class, () -> r.await(r.register(spec("llm", "llm-2"))));
        assertEquals(503, e.status());
        assertNull(r.instance("llm-2"), "a write that is not durable is not visible");
        assertEquals(index, r.index());
        assertEquals(1, r.service("llm").instances().size());
        channels.spaceBack();
        Change later = r.await(r.register(spec("llm", "llm-3")));
        assertEquals(index + 1, later.index(), "the index of the refused write is reused");
        Registry restored = reopen();
        assertNotNull(restored.instance("llm-3"));
        assertNull(restored.instance("llm-2"));
    }

    @Test
    void backgroundCompactionKeepsEveryChangeAcrossRestart() throws Exception {
        Registry r = open(new RegistryOptions(1_024, 64, 10_000, 5_000, 4_096));
        r.await(r.putConfig("route", "canary", "{\"service\":\"llm\"}"));
        for (int i = 0; i < 500; i++) {
            r.await(r.register(spec("llm", "llm-" + i)));
            if (i % 3 == 0) {
                r.await(r.deregister("llm-" + i));
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (r.journalStats().compactions() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(r.journalStats().compactions() > 0, "a snapshot was taken while writes went on");
        long index = r.index();
        Registry restored = reopen();
        assertEquals(index, restored.index());
        assertEquals(333, restored.service("llm").instances().size());
        assertNull(restored.instance("llm-0"));
        assertNotNull(restored.instance("llm-499"));
        assertEquals("{\"service\":\"llm\"}", restored.config("route").get("canary"), "config is in the snapshot");
    }

    /**
     * Highest base index of the journal's log segments: a compaction begins by rolling the log
     * over to a segment named after the index it starts at, on the writer thread, before it
     * answers the next write.
     */
    private long newestSegmentBase() throws Exception {
        try (var files = java.nio.file.Files.list(dir)) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> n.matches("journal-\\d+\\.log"))
                    .mapToLong(n -> Long.parseLong(n.substring("journal-".length(), n.length() - ".log".length())))
                    .max()
                    .orElseThrow();
        }
    }

    private static List<InstanceSpec> specs(String prefix, int count) {
        List<InstanceSpec> specs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            specs.add(spec("llm", prefix + i));
        }
        return specs;
    }

    @Test
    void snapshotWaitsUntilTheLogIsAsLargeAsTheLastSnapshot() throws Exception {
        Registry r = open(new RegistryOptions(1_024, 64, 10_000, 5_000, 4_096));
        r.await(r.registerAll(specs("big-", 400)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (r.journalStats().compactions() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, r.journalStats().compactions(), "the first snapshot, of 400 instances");
        long firstSnapshotBase = newestSegmentBase();
        // Several times compact-after-bytes of log, but far less than the snapshot of 400 instances.
        for (InstanceSpec spec : specs("small-", 60)) {
            r.await(r.register(spec));
        }
        assertEquals(firstSnapshotBase, newestSegmentBase(), "no snapshot while the log is smaller than the last one");
        for (int batch = 0; batch < 12; batch++) {
            r.await(r.registerAll(specs("more-" + batch + "-", 50)));
        }
        assertTrue(
                newestSegmentBase() > firstSnapshotBase,
                "a snapshot once the log outgrew the last one: the log rolled over past " + firstSnapshotBase);
    }

    @Test
    void changeListenerSeesEveryDurableChangeInIndexOrderAndNoRefusedOne() {
        Registry r = open();
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Long> indexes = new java.util.concurrent.CopyOnWriteArrayList<>();
        r.onChange((id, instance, index) -> {
            seen.add(id + (instance == null ? ":removed" : ":" + instance.spec().port()));
            indexes.add(index);
        });
        r.await(r.register(spec("llm", "llm-1")));
        r.await(r.register(spec("llm", "llm-1"))); // no change, nothing reported
        r.await(r.registerAll(List.of(spec("llm", "llm-2"), spec("llm", "llm-3"))));
        channels.diskFullAfter(0);
        assertThrows(RegistryException.class, () -> r.await(r.register(spec("llm", "llm-4"))));
        channels.spaceBack();
        r.await(r.deregister("llm-2"));
        assertEquals(List.of("llm-1:8080", "llm-2:8080", "llm-3:8080", "llm-2:removed"), seen);
        for (int i = 1; i < indexes.size(); i++) {
            assertEquals(indexes.get(i - 1) + 1, indexes.get(i), "consecutive indexes: " + indexes);
        }
    }

    @Test
    void fullQueueIsRefusedAtOnceAndCounted() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Registry r = open(new RegistryOptions(4, 1, 1_000, 5_000, 64L << 20));
        channels.stallForces(release);
        List<CompletableFuture<Change>> writes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            writes.add(r.register(spec("llm", "llm-" + i)));
        }
        int refused = 0;
        for (CompletableFuture<Change> write : writes) {
            if (write.isCompletedExceptionally()) {
                refused++;
            }
        }
        assertTrue(refused >= 10, "a full queue answers at once, refused=" + refused);
        assertEquals(refused, r.refusedFull());
        release.countDown();
        for (CompletableFuture<Change> write : writes) {
            if (!write.isCompletedExceptionally()) {
                assertNotNull(r.await(write));
            }
        }
        assertFalse(r.service("llm").isEmpty());
    }
}
