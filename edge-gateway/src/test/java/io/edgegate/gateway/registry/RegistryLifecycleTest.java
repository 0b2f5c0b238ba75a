package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Health statuses, thresholds, probe scheduling, leases, reaping and drains, on a manual clock. */
class RegistryLifecycleTest {
    private static final long INTERVAL = 1_000;

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(5_000_000);
    private final ConcurrentLinkedQueue<Launch> launches = new ConcurrentLinkedQueue<>();
    private Registry registry;

    private record Launch(String checkId, long generation, long atMillis) {}

    @AfterEach
    void close() {
        if (registry != null) {
            registry.close();
        }
    }

    private Registry open(long drainTimeoutMillis) {
        Journal journal = Journal.open(dir, JournalOptions.defaults());
        registry = Registry.open(
                journal,
                new RegistryOptions(1_024, 256, 10_000, 5_000, 64L << 20, drainTimeoutMillis),
                new ErrorLog(),
                clock::get);
        registry.attachProbes(
                (checkId, generation, check, address) -> launches.add(new Launch(checkId, generation, clock.get())));
        return registry;
    }

    private void sync() {
        registry.await(registry.registerAll(List.of()));
    }

    /** Advances the clock in ticks, running a writer cycle after each. */
    private void advance(long millis) {
        for (long step = 0; step < millis; step += 8) {
            clock.addAndGet(Math.min(8, millis - step));
            sync();
        }
    }

    private static InstanceSpec spec(String id, CheckSpec... checks) {
        return new InstanceSpec("svc", id, "10.0.0.1", 8080, List.of(), Map.of(), List.of(checks), 1, 1);
    }

    private static CheckSpec http(String id, int successBefore, int failuresBeforeWarning, int failuresBeforeCritical) {
        return CheckSpec.builder(id, CheckKind.HTTP)
                .target("http://10.0.0.1:8080/health")
                .intervalMillis(INTERVAL)
                .timeoutMillis(500)
                .thresholds(successBefore, failuresBeforeWarning, failuresBeforeCritical)
                .build();
    }

    private static CheckSpec ttl(String id, long ttlMillis, long deregisterAfterMillis) {
        return CheckSpec.builder(id, CheckKind.TTL)
                .ttlMillis(ttlMillis)
                .deregisterCriticalAfterMillis(deregisterAfterMillis)
                .build();
    }

    /** Reports a result for the latest launch of the check and waits until the writer applied it. */
    private void report(String checkId, Health status) {
        Launch last = null;
        for (Launch launch : launches) {
            if (launch.checkId().equals(checkId)) {
                last = launch;
            }
        }
        assertNotNull(last, "no probe launched for " + checkId);
        registry.probeResult(checkId, last.generation(), status, status.wireName());
        sync();
    }

    private Health health(String id) {
        return registry.instance(id).health();
    }

    /**
     * Advances the manual clock until the check is launched again, for at most three intervals of
     * that clock (first probes are jittered over one interval, then run at a fixed rate): bounded by
     * the registry's time, not the machine's, so a slow machine cannot make it fail.
     */
    private void launchOnce(String checkId) {
        int before = countLaunches(checkId);
        for (long advanced = 0; countLaunches(checkId) == before && advanced < 3 * INTERVAL; advanced += INTERVAL / 4) {
            advance(INTERVAL / 4);
        }
        assertTrue(countLaunches(checkId) > before, "probe of " + checkId + " never launched within 3 intervals");
    }

    private int countLaunches(String checkId) {
        int n = 0;
        for (Launch launch : launches) {
            if (launch.checkId().equals(checkId)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void newHttpCheckIsNotRoutableUntilItsFirstProbePasses() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 0, 0, 0))));
        assertEquals(0, registry.service("svc").routableCount(), "readiness gating: no traffic before a pass");
        launchOnce("ca");
        report("ca", Health.PASSING);
        assertEquals(1, registry.service("svc").routableCount());
    }

    @Test
    void failuresBeforeCriticalHoldsPassingUntilReached() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 0, 0, 3))));
        launchOnce("ca");
        report("ca", Health.PASSING);
        for (int i = 1; i <= 2; i++) {
            launchOnce("ca");
            report("ca", Health.CRITICAL);
            assertEquals(Health.PASSING, health("a"), "failure " + i + " of 3 changes nothing");
        }
        launchOnce("ca");
        report("ca", Health.CRITICAL);
        assertEquals(Health.CRITICAL, health("a"));
    }

    @Test
    void failuresBeforeWarningWarnsBeforeCritical() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 0, 1, 2))));
        launchOnce("ca");
        report("ca", Health.PASSING);
        launchOnce("ca");
        report("ca", Health.CRITICAL);
        assertEquals(Health.WARNING, health("a"));
        assertEquals(1, registry.service("svc").routableCount(), "warning still takes traffic");
        launchOnce("ca");
        report("ca", Health.CRITICAL);
        assertEquals(Health.CRITICAL, health("a"));
    }

    @Test
    void successBeforePassingNeedsConsecutiveSuccesses() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 2, 0, 0))));
        launchOnce("ca");
        report("ca", Health.PASSING);
        assertEquals(Health.CRITICAL, health("a"));
        launchOnce("ca");
        report("ca", Health.CRITICAL);
        launchOnce("ca");
        report("ca", Health.PASSING);
        assertEquals(Health.CRITICAL, health("a"), "the failure reset the count");
        launchOnce("ca");
        report("ca", Health.PASSING);
        assertEquals(Health.PASSING, health("a"));
    }

    @Test
    void statusChangeIsJournaledAndStableResultIsNot() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 0, 0, 0))));
        launchOnce("ca");
        report("ca", Health.PASSING);
        long index = registry.index();
        long records = registry.journalStats().recordsAppended();
        for (int i = 0; i < 5; i++) {
            launchOnce("ca");
            report("ca", Health.PASSING);
        }
        assertEquals(index, registry.index(), "unchanged results take no index");
        assertEquals(records, registry.journalStats().recordsAppended());
    }

    @Test
    void resultForReplacedCheckIsDropped() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 0, 0, 0))));
        launchOnce("ca");
        Launch first = launches.peek();
        registry.await(registry.deregister("a"));
        registry.await(registry.register(spec("a", http("ca", 0, 0, 0))));
        registry.probeResult("ca", first.generation(), Health.PASSING, "late");
        sync();
        assertEquals(Health.CRITICAL, health("a"));
        assertTrue(registry.probeCounts()[2] >= 1, "counted as stale");
    }

    @Test
    void noSecondProbeWhileOneIsInFlight() {
        open(0);
        registry.await(registry.register(spec("a", http("ca", 0, 0, 0))));
        launchOnce("ca");
        advance(3 * INTERVAL);
        assertEquals(1, countLaunches("ca"), "a slow probe is not stacked");
        assertTrue(registry.probeCounts()[1] >= 2);
        report("ca", Health.PASSING);
        launchOnce("ca");
    }

    @Test
    void firstProbesAreSpreadOverOneInterval() {
        open(0);
        List<InstanceSpec> specs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            specs.add(spec("i" + i, http("c" + i, 0, 0, 0)));
        }
        long start = clock.get();
        registry.await(registry.registerAll(specs));
        advance(INTERVAL + 16);
        Set<Long> offsets = new HashSet<>();
        for (Launch launch : launches) {
            assertTrue(launch.atMillis() - start <= INTERVAL + 16, "first probe within one interval");
            offsets.add((launch.atMillis() - start) / 100);
        }
        assertEquals(50, launches.size());
        assertTrue(offsets.size() >= 5, "50 first probes in " + offsets.size() + " of 10 slices: not spread");
    }

    @Test
    void timersCatchUpWithTheClockInOneCycle() {
        open(0);
        registry.await(registry.register(spec("a", ttl("ta", 1_000, 0))));
        registry.await(registry.heartbeat("a"));
        clock.addAndGet(1_100); // the writer slept through ~140 ticks of the wheel
        sync();
        assertEquals(Health.CRITICAL, health("a"), "expired on time, not one wheel tick per cycle later");
    }

    @Test
    void deregisterCriticalServiceAfterRemovesTheInstance() {
        open(0);
        registry.await(registry.register(spec("a", ttl("ta", 1_000, 3_000))));
        registry.await(registry.heartbeat("a"));
        advance(1_100);
        assertEquals(Health.CRITICAL, health("a"));
        advance(2_500);
        assertNotNull(registry.instance("a"), "not yet: critical for 2.4 s of 3 s");
        advance(800);
        assertNull(registry.instance("a"), "removed 3 s after turning critical");
    }

    @Test
    void passingAgainStopsTheDeregisterClock() {
        open(0);
        registry.await(registry.register(spec("a", ttl("ta", 1_000, 3_000))));
        advance(2_000);
        registry.await(registry.heartbeat("a"));
        advance(900);
        registry.await(registry.heartbeat("a"));
        advance(900);
        assertNotNull(registry.instance("a"));
    }

    @Test
    void heartbeatOfPassingInstanceTakesTheFastPath() {
        open(0);
        registry.await(registry.register(spec("a", ttl("ta", 10_000, 0))));
        registry.await(registry.heartbeat("a"));
        long fast = registry.fastHeartbeats();
        CompletableFuture<Change> beat = registry.heartbeat("a");
        assertTrue(beat.isDone(), "answered on the caller's thread");
        assertEquals(fast + 1, registry.fastHeartbeats());
        advance(9_000);
        registry.await(registry.heartbeat("a"));
        advance(9_000);
        assertEquals(Health.PASSING, health("a"), "fast renewals move the deadline the writer expires");
    }

    @Test
    void deregisterDrainsRequestsInFlightBeforeRemoval() {
        AtomicInteger inFlight = new AtomicInteger(1);
        open(30_000);
        registry.drainWith(id -> id.equals("a") ? inFlight.get() : 0);
        registry.await(registry.register(spec("a")));
        CompletableFuture<Change> removal = registry.deregister("a");
        advance(100);
        assertFalse(removal.isDone(), "waits for the request in flight");
        assertEquals(0, registry.service("svc").routableCount(), "no new traffic while draining");
        assertTrue(registry.instance("a").draining());
        inFlight.set(0);
        advance(16);
        Change change = registry.await(removal);
        assertNull(registry.instance("a"));
        assertEquals(registry.serviceIndex("svc"), change.index());
    }

    @Test
    void drainEndsAtItsTimeoutWithRequestsStillInFlight() {
        open(2_000);
        registry.drainWith(id -> 1);
        registry.await(registry.register(spec("a")));
        CompletableFuture<Change> removal = registry.deregister("a");
        advance(1_900);
        assertFalse(removal.isDone());
        advance(200);
        registry.await(removal);
        assertNull(registry.instance("a"));
    }

    @Test
    void reRegistrationWhileDrainingCancelsTheDrain() {
        open(30_000);
        registry.drainWith(id -> 1);
        registry.await(registry.register(spec("a")));
        CompletableFuture<Change> removal = registry.deregister("a");
        sync();
        registry.await(registry.register(spec("a")));
        sync();
        RegistryException e = assertThrows(RegistryException.class, () -> registry.await(removal));
        assertEquals(409, e.status());
        assertEquals(1, registry.service("svc").routableCount());
    }

    @Test
    void restartFinishesAnInterruptedDrain() {
        open(30_000);
        registry.drainWith(id -> 1);
        registry.await(registry.register(spec("a")));
        registry.deregister("a");
        sync();
        assertTrue(registry.instance("a").draining());
        registry.close();
        open(30_000);
        sync();
        assertNull(registry.instance("a"), "its requests died with the old process");
    }

    @Test
    void configEntriesAreDurableAndTakeTheIndex() {
        open(0);
        Change put = registry.await(registry.putConfig("route", "canary", "{\"service\":\"llm\"}"));
        assertEquals(put.index(), registry.index());
        assertEquals(Map.of("canary", "{\"service\":\"llm\"}"), registry.config("route"));
        registry.close();
        open(0);
        assertEquals("{\"service\":\"llm\"}", registry.config("route").get("canary"));
        assertEquals(put.index(), registry.configIndex("route"));
        registry.await(registry.putConfig("route", "canary", null));
        assertTrue(registry.config("route").isEmpty());
        assertEquals(
                404,
                assertThrows(RegistryException.class, () -> registry.await(registry.putConfig("route", "canary", null)))
                        .status());
    }
}
