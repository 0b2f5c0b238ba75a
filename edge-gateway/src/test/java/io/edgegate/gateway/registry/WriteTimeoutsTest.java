package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** One thread for the write timeout of every write awaited without a thread. */
class WriteTimeoutsTest {
    private static Throwable failureOf(CompletableFuture<?> write) throws InterruptedException {
        try {
            write.get(10, TimeUnit.SECONDS);
            throw new AssertionError("completed normally");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("not failed within 10 s", e);
        }
    }

    @Test
    void aWriteThatNeverCompletesFailsWithATimeoutNotBeforeItsDeadline() throws Exception {
        try (WriteTimeouts timeouts = new WriteTimeouts(150)) {
            long start = System.nanoTime();
            CompletableFuture<String> write = new CompletableFuture<>();
            assertSame(write, timeouts.watch(write));
            assertInstanceOf(TimeoutException.class, failureOf(write));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(150), "failed before the timeout");
            assertEquals(0, timeouts.watching());
        }
    }

    @Test
    void aWriteDoneBeforeItsDeadlineKeepsItsOutcomeAndIsDropped() throws Exception {
        try (WriteTimeouts timeouts = new WriteTimeouts(150)) {
            CompletableFuture<String> done = CompletableFuture.completedFuture("now");
            assertSame(done, timeouts.watch(done));
            assertEquals(0, timeouts.watching(), "a done write is not watched");

            CompletableFuture<String> later = timeouts.watch(new CompletableFuture<>());
            CompletableFuture<String> refused = timeouts.watch(new CompletableFuture<>());
            later.complete("durable");
            RegistryException refusal = RegistryException.notFound("instance", "a");
            refused.completeExceptionally(refusal);
            Thread.sleep(400); // past the deadline
            assertEquals("durable", later.get());
            assertSame(refusal, failureOf(refused));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (timeouts.watching() > 0 && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertEquals(0, timeouts.watching(), "done writes are dropped by the sweeps");
        }
    }

    @Test
    void writesAreTimedOutInTheOrderTheyWereWatchedAndTheThreadIdlesBetween() throws Exception {
        try (WriteTimeouts timeouts = new WriteTimeouts(100)) {
            for (int round = 0; round < 3; round++) {
                List<CompletableFuture<Integer>> writes = new ArrayList<>();
                CountDownLatch failed = new CountDownLatch(50);
                List<Integer> order = Collections.synchronizedList(new ArrayList<>());
                for (int i = 0; i < 50; i++) {
                    int n = i;
                    CompletableFuture<Integer> write = timeouts.watch(new CompletableFuture<>());
                    write.whenComplete((v, e) -> {
                        order.add(n);
                        failed.countDown();
                    });
                    writes.add(write);
                    if (i % 10 == 0) {
                        Thread.sleep(5);
                    }
                }
                assertTrue(failed.await(10, TimeUnit.SECONDS), "round " + round + ": not all timed out");
                for (CompletableFuture<Integer> write : writes) {
                    assertInstanceOf(TimeoutException.class, failureOf(write));
                }
                List<Integer> sorted = new ArrayList<>(order);
                sorted.sort(null);
                assertEquals(sorted, order, "round " + round + ": timed out in the order watched");
                // empty again: the thread parks until the next round's first write wakes it
                assertEquals(0, timeouts.watching());
            }
        }
    }

    @Test
    void closeFailsTheWritesStillWatched() throws Exception {
        WriteTimeouts timeouts = new WriteTimeouts(TimeUnit.MINUTES.toMillis(10));
        CompletableFuture<String> write = timeouts.watch(new CompletableFuture<>());
        CompletableFuture<String> done = timeouts.watch(new CompletableFuture<>());
        done.complete("ok");
        timeouts.close();
        assertInstanceOf(TimeoutException.class, failureOf(write));
        assertEquals("ok", done.get());
        assertFalse(done.isCompletedExceptionally());
    }
}
