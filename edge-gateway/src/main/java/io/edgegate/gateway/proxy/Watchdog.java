package io.edgegate.gateway.proxy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Enforces the timeouts of upstream exchanges: the total timeout of a non-streaming exchange, and
 * the idle timeout (the longest wait for the upstream's next bytes), which is all a streaming
 * response gets. A request thread arms a {@link Deadline}; the watchdog's one platform thread
 * scans the armed deadlines every {@link #SCAN_MILLIS} and interrupts the virtual thread of any
 * that ran out, which makes its blocked socket operation fail at once (socket I/O on virtual
 * threads is interruptible: the channel is closed).
 *
 * <p>Why a scan, not a timer per request: arming is one insert into a concurrent set and
 * disarming one compare-and-set and one removal, with no timer queue to keep ordered and no
 * thread to wake; and socket reads need no read timeout, so a blocked read parks its virtual
 * thread without a timed wake-up. The cost is precision: a deadline fires up to one scan period
 * late, against timeouts of seconds.
 */
final class Watchdog implements AutoCloseable {
    static final long SCAN_MILLIS = 20;

    private final ScheduledThreadPoolExecutor timer;
    private final Set<Deadline> armed = ConcurrentHashMap.newKeySet();

    Watchdog() {
        timer = new ScheduledThreadPoolExecutor(
                1, Thread.ofPlatform().name("edgegate-proxy-watchdog").daemon().factory());
        timer.scheduleWithFixedDelay(this::scan, SCAN_MILLIS, SCAN_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Arms a deadline for the calling thread.
     *
     * @param totalMillis the whole exchange's limit from now
     * @param idleMillis the longest wait for the upstream (see {@link Deadline#awaitUpstream})
     */
    Deadline arm(long totalMillis, long idleMillis) {
        long now = System.nanoTime();
        Deadline deadline = new Deadline(
                Thread.currentThread(),
                now + TimeUnit.MILLISECONDS.toNanos(totalMillis),
                TimeUnit.MILLISECONDS.toNanos(idleMillis));
        armed.add(deadline);
        return deadline;
    }

    /** Runs {@code task} every {@code millis} on the watchdog's thread (housekeeping that must not block). */
    void every(long millis, Runnable task) {
        timer.scheduleWithFixedDelay(task, millis, millis, TimeUnit.MILLISECONDS);
    }

    private void scan() {
        long now = System.nanoTime();
        for (Deadline d : armed) {
            if (d.due(now)) {
                d.fire();
                armed.remove(d);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /**
     * One armed deadline. {@link #disarm} must be called exactly once, by the thread that armed
     * it, before that thread does anything else with its sockets (it clears the interrupt).
     */
    final class Deadline {
        private static final int ARMED = 0;
        private static final int DONE = 1;
        private static final int FIRING = 2;
        private static final int FIRED = 3;

        private final Thread thread;
        private final long idleNanos;
        private final AtomicInteger state = new AtomicInteger(ARMED);
        /** End of the total timeout; {@link Long#MAX_VALUE} once only the idle timeout applies. */
        private volatile long totalEndNanos;
        /** When the thread began waiting for the upstream, or 0 while it is not waiting. */
        private volatile long waitingSinceNanos;

        private boolean idle;

        private Deadline(Thread thread, long totalEndNanos, long idleNanos) {
            this.thread = thread;
            this.totalEndNanos = totalEndNanos;
            this.idleNanos = idleNanos;
        }

        /** From now on only the idle timeout applies (a stream). */
        void idleOnly() {
            totalEndNanos = Long.MAX_VALUE;
        }

        /** The thread is about to block on the upstream (the idle clock runs until {@link #gotUpstream}). */
        void awaitUpstream(long nowNanos) {
            waitingSinceNanos = nowNanos == 0 ? 1 : nowNanos;
        }

        /** The upstream answered the wait begun by {@link #awaitUpstream}. */
        void gotUpstream() {
            waitingSinceNanos = 0;
        }

        private boolean due(long nowNanos) {
            long total = totalEndNanos;
            if (total != Long.MAX_VALUE && nowNanos - total >= 0) {
                return true;
            }
            long since = waitingSinceNanos;
            if (since != 0 && nowNanos - since >= idleNanos) {
                idle = true; // written before the CAS in fire(), read after disarm() saw FIRED
                return true;
            }
            return false;
        }

        private void fire() {
            // FIRING until interrupt() has returned, so disarm() cannot clear the flag before it is set.
            if (state.compareAndSet(ARMED, FIRING)) {
                thread.interrupt();
                state.set(FIRED);
            }
        }

        /** Whether the time ran out (possibly while the thread was still working). */
        boolean fired() {
            return state.get() >= FIRING;
        }

        /** Whether it fired for the idle timeout (valid after {@link #disarm} returned true). */
        boolean idle() {
            return idle;
        }

        /**
         * Stops the deadline. If it already fired, waits until the interrupt is delivered and clears
         * it, so the thread can write its answer.
         *
         * @return whether it had fired
         */
        boolean disarm() {
            if (state.compareAndSet(ARMED, DONE)) {
                armed.remove(this);
                return false;
            }
            while (state.get() == FIRING) {
                Thread.onSpinWait();
            }
            Thread.interrupted();
            return true;
        }
    }
}
