package io.edgegate.gateway.registry;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * The write timeout of the callers that do not block on a write ({@link Registry#withinWriteTimeout}:
 * the lean connections' API answers): one thread for all of them instead of a timer task per write
 * ({@link CompletableFuture#orTimeout} schedules one on the JDK's shared timer thread and cancels it
 * when the write completes, two hand-overs per journaled write). Every write has the same timeout,
 * so they fall due in the order they were watched: the thread looks at the oldest every
 * {@link #SWEEP_MILLIS}, drops those done and fails those past their deadline with a
 * {@link TimeoutException}, as {@code orTimeout} would, and parks while none is watched. Watching
 * a write costs one queue node and wakes no thread but a parked, idle one.
 *
 * <p>A write fails at most {@link #SWEEP_MILLIS} after its deadline. {@link #close} fails every
 * write still watched (nothing completes them once the registry's writer has stopped).
 *
 * <p>Thread-safe.
 */
final class WriteTimeouts implements AutoCloseable {
    static final long SWEEP_MILLIS = 20;

    private record Watched(CompletableFuture<?> write, long deadlineNanos) {}

    private final long timeoutNanos;
    private final ConcurrentLinkedQueue<Watched> watched = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    /** Whether the thread is parked with nothing watched: a watch then wakes it. */
    private volatile boolean idle;

    private volatile boolean closed;

    WriteTimeouts(long timeoutMillis) {
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        this.thread =
                Thread.ofPlatform().name("edgegate-write-timeouts").daemon().start(this::run);
    }

    /** {@code write}, failed with a {@link TimeoutException} unless it completes within the timeout. */
    <T> CompletableFuture<T> watch(CompletableFuture<T> write) {
        if (write.isDone()) {
            return write;
        }
        watched.offer(new Watched(write, System.nanoTime() + timeoutNanos));
        // Read after the offer; the thread sets idle before it looks at the queue a last time, so
        // either it sees this write or this sees it idle.
        if (idle) {
            LockSupport.unpark(thread);
        }
        return write;
    }

    private void run() {
        while (!closed) {
            if (watched.isEmpty()) {
                idle = true;
                if (watched.isEmpty() && !closed) {
                    LockSupport.park(this);
                }
                idle = false;
                continue;
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(SWEEP_MILLIS));
            sweep(System.nanoTime());
        }
    }

    /** Drops the oldest writes that are done and fails those past their deadline, up to the first that is neither. */
    private void sweep(long nowNanos) {
        for (Watched w = watched.peek(); w != null; w = watched.peek()) {
            boolean done = w.write().isDone();
            if (!done && nowNanos - w.deadlineNanos() < 0) {
                return;
            }
            watched.poll();
            if (!done) {
                w.write().completeExceptionally(new TimeoutException());
            }
        }
    }

    /** How many writes are watched now, done ones not yet dropped included. */
    int watching() {
        return watched.size();
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Watched w = watched.poll(); w != null; w = watched.poll()) {
            w.write().completeExceptionally(new TimeoutException());
        }
    }
}
