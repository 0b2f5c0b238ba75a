package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The proxy's timeout watchdog: per-thread deadlines armed again and again, fired by its scan. */
@Timeout(10)
class WatchdogTest {
    private final Watchdog watchdog = new Watchdog();

    @AfterEach
    void close() {
        watchdog.close();
    }

    @Test
    void aThreadReArmsItsOneDeadlineWithoutFiringIt() throws Exception {
        for (int i = 0; i < 10_000; i++) {
            Watchdog.Deadline d = watchdog.arm(60_000, 60_000);
            d.awaitUpstream(System.nanoTime());
            d.gotUpstream();
            assertFalse(d.disarm(), "exchange " + i + " was within its time");
        }
        assertEquals(1, watchdog.registered(), "one deadline for the thread, not one per exchange");
        assertFalse(Thread.currentThread().isInterrupted());
    }

    @Test
    void totalTimeoutInterruptsTheBlockedThread() throws Exception {
        Watchdog.Deadline d = watchdog.arm(50, 60_000);
        long start = System.nanoTime();
        assertThrows(InterruptedException.class, () -> Thread.sleep(5_000));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertTrue(d.fired());
        assertTrue(d.disarm(), "disarm reports the firing");
        assertFalse(d.idle(), "the total timeout fired, not the idle one");
        assertFalse(Thread.currentThread().isInterrupted(), "disarm cleared the interrupt");
        assertTrue(millis >= 50 && millis < 50 + 20 * Watchdog.SCAN_MILLIS, "fired after " + millis + " ms");

        // The same thread's next exchange starts clean.
        Watchdog.Deadline next = watchdog.arm(60_000, 60_000);
        assertFalse(next.fired());
        assertFalse(next.disarm());
    }

    @Test
    void idleTimeoutRunsOnlyWhileWaitingForTheUpstream() throws Exception {
        Watchdog.Deadline d = watchdog.arm(60_000, 50);
        // Working (not waiting) for longer than the idle timeout does not fire it.
        Thread.sleep(50 + 5 * Watchdog.SCAN_MILLIS);
        assertFalse(d.fired(), "not waiting for the upstream: the idle clock does not run");

        d.awaitUpstream(System.nanoTime());
        assertThrows(InterruptedException.class, () -> Thread.sleep(5_000));
        assertTrue(d.disarm());
        assertTrue(d.idle(), "the idle timeout fired");
    }

    @Test
    void aStreamKeepsOnlyItsIdleTimeout() throws Exception {
        Watchdog.Deadline d = watchdog.arm(30, 60_000);
        d.idleOnly();
        Thread.sleep(30 + 5 * Watchdog.SCAN_MILLIS);
        assertFalse(d.fired(), "a stream has no total timeout");
        assertFalse(d.disarm());
    }

    @Test
    void armingTwiceWithoutDisarmingIsRefused() {
        Watchdog.Deadline d = watchdog.arm(60_000, 60_000);
        assertThrows(IllegalStateException.class, () -> watchdog.arm(60_000, 60_000));
        assertFalse(d.disarm());
    }

    @Test
    void deadlinesOfEndedThreadsLeaveTheScan() throws Exception {
        int threads = 50;
        CountDownLatch done = new CountDownLatch(threads);
        AtomicBoolean failed = new AtomicBoolean();
        for (int i = 0; i < threads; i++) {
            Thread.ofVirtual().start(() -> {
                try {
                    Watchdog.Deadline d = watchdog.arm(60_000, 60_000);
                    if (d.disarm()) {
                        failed.set(true);
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertFalse(failed.get());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (watchdog.registered() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(Watchdog.SCAN_MILLIS);
        }
        assertEquals(0, watchdog.registered(), "the scan dropped the deadlines of the ended threads");
    }
}
