package io.edgegate.gateway.proxy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Enforces the timeouts of upstream exchanges: the total timeout of a non-streaming exchange, and
 * the idle timeout (the longest wait for the upstream's next bytes), which is all a streaming
 * response gets. A request thread arms a {@link Deadline}; the watchdog's one platform thread
 * scans the deadlines every {@link #SCAN_MILLIS} and interrupts the virtual thread of any armed one
 * that ran out, which makes its blocked socket operation fail at once (socket I/O on virtual
 * threads is interruptible: the channel is closed).
 *
 * <p>Why a scan, not a timer per request: socket reads need no read timeout, so a blocked read
 * parks its virtual thread without a timed wake-up, and there is no timer queue to keep ordered.
 * The cost is precision: a deadline fires up to one scan period late, against timeouts of seconds.
 *
 * <p>Each thread has one deadline, registered with the scan the first time the thread arms it and
 * re-armed for each exchange after that: arming and disarming are a few writes to that object and
 * one compare-and-set, with no allocation and no shared structure touched. (A server thread serves
 * one connection's requests one after another, so it arms again and again.) A generation counted
 * in the state keeps a late scan from firing a deadline armed after the one it read. The scan drops
 * the deadlines of threads that ended.
 */
final class Watchdog implements AutoCloseable {
    static final long SCAN_MILLIS = 20;

    private final ScheduledThreadPoolExecutor timer;
    private final Set<Deadline> registered = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<Deadline> own = new ThreadLocal<>();

    Watchdog() {
        timer = new ScheduledThreadPoolExecutor(
                1, Thread.ofPlatform().name("edgegate-proxy-watchdog").daemon().factory());
        timer.scheduleWithFixedDelay(this::scan, SCAN_MILLIS, SCAN_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Arms a deadline for the calling thread; {@link Deadline#disarm} must follow before the thread
     * arms again.
     *
     * @param totalMillis the whole exchange's limit from now
     * @param idleMillis the longest wait for the upstream (see {@link Deadline#awaitUpstream})
     */
    Deadline arm(long totalMillis, long idleMillis) {
        Deadline deadline = own.get();
        if (deadline == null) {
            deadline = new Deadline(Thread.currentThread());
            own.set(deadline);
            registered.add(deadline);
        } else if (deadline.armed()) {
            throw new IllegalStateException("a deadline is armed on this thread already");
        }
        long now = System.nanoTime();
        deadline.arm(now + TimeUnit.MILLISECONDS.toNanos(totalMillis), TimeUnit.MILLISECONDS.toNanos(idleMillis));
        return deadline;
    }

    /** Runs {@code task} every {@code millis} on the watchdog's thread (housekeeping that must not block). */
    void every(long millis, Runnable task) {
        timer.scheduleWithFixedDelay(task, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Deadlines known to the scan (one per thread that has proxied and is still alive, about). */
    int registered() {
        return registered.size();
    }

    private void scan() {
        long now = System.nanoTime();
        for (Deadline d : registered) {
            long state = d.state.get();
            if (phase(state) == ARMED) {
                d.fireIfDue(state, now);
            } else if (!d.thread.isAlive()) {
                registered.remove(d);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    // The state of a deadline: a generation (one per arming) times 4, plus the phase.
    private static final int ARMED = 0;
    private static final int DONE = 1;
    private static final int FIRING = 2;
    private static final int FIRED = 3;

    private static int phase(long state) {
        return (int) (state & 3);
    }

    /**
     * A thread's deadline. {@link #disarm} must be called exactly once per arming, by the thread
     * that armed it, before that thread does anything else with its sockets (it clears the
     * interrupt).
     */
    final class Deadline {
        private final Thread thread;
        private final AtomicLong state = new AtomicLong(DONE);
        private volatile long idleNanos;
        /** End of the total timeout; {@link Long#MAX_VALUE} once only the idle timeout applies. */
        private volatile long totalEndNanos;
        /** When the thread began waiting for the upstream, or 0 while it is not waiting. */
        private volatile long waitingSinceNanos;
        /** Whether the last firing was for the idle timeout: written before FIRED, read after. */
        private boolean idle;

        private Deadline(Thread thread) {
            this.thread = thread;
        }

        private boolean armed() {
            return phase(state.get()) == ARMED;
        }

        private void arm(long totalEndNanos, long idleNanos) {
            this.totalEndNanos = totalEndNanos;
            this.idleNanos = idleNanos;
            this.waitingSinceNanos = 0;
            this.idle = false;
            long s = state.get();
            state.set((s & ~3L) + 4 + ARMED); // a new generation: the fields above come with it
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

        /**
         * Fires when the arming read as {@code armedState} has run out. The fields may belong to a
         * later arming by then; the compare-and-set then fails, since the generation moved on.
         */
        private void fireIfDue(long armedState, long nowNanos) {
            long total = totalEndNanos;
            boolean totalDue = total != Long.MAX_VALUE && nowNanos - total >= 0;
            long since = waitingSinceNanos;
            boolean idleDue = since != 0 && nowNanos - since >= idleNanos;
            if (!totalDue && !idleDue) {
                return;
            }
            // FIRING until interrupt() has returned, so disarm() cannot clear the flag before it is set.
            long firing = (armedState & ~3L) + FIRING;
            if (state.compareAndSet(armedState, firing)) {
                idle = !totalDue;
                thread.interrupt();
                state.set((armedState & ~3L) + FIRED);
            }
        }

        /** Whether the time ran out (possibly while the thread was still working). */
        boolean fired() {
            return phase(state.get()) >= FIRING;
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
            long s = state.get();
            if (phase(s) == ARMED && state.compareAndSet(s, (s & ~3L) + DONE)) {
                return false;
            }
            while (phase(s = state.get()) == FIRING) {
                Thread.onSpinWait();
            }
            Thread.interrupted();
            return true;
        }
    }
}
