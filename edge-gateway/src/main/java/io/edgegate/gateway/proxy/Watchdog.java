package io.edgegate.gateway.proxy;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Enforces the total timeout of non-streaming exchanges. A request thread arms a
 * {@link Deadline}; if it is still armed when the time is up, the watchdog's one platform thread
 * interrupts the request's virtual thread, which makes its blocked socket operation fail at once
 * (socket I/O on virtual threads is interruptible: the socket is closed). The socket's read
 * timeout, by contrast, is the idle timeout, and is all a streaming response gets.
 */
final class Watchdog implements AutoCloseable {
    private final ScheduledThreadPoolExecutor timer;

    Watchdog() {
        timer = new ScheduledThreadPoolExecutor(
                1, Thread.ofPlatform().name("edgegate-proxy-watchdog").daemon().factory());
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Arms a deadline for the calling thread, {@code millis} from now. */
    Deadline arm(long millis) {
        Deadline deadline = new Deadline(Thread.currentThread());
        deadline.future = timer.schedule(deadline, millis, TimeUnit.MILLISECONDS);
        return deadline;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /**
     * One armed deadline. {@link #disarm} must be called exactly once, by the thread that armed
     * it, before that thread does anything else with its sockets (it clears the interrupt).
     */
    static final class Deadline implements Runnable {
        private static final int ARMED = 0;
        private static final int DONE = 1;
        private static final int FIRING = 2;
        private static final int FIRED = 3;

        private final Thread thread;
        private final AtomicInteger state = new AtomicInteger(ARMED);
        private ScheduledFuture<?> future;

        private Deadline(Thread thread) {
            this.thread = thread;
        }

        @Override
        public void run() {
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

        /**
         * Stops the deadline. If it already fired, waits until the interrupt is delivered and clears
         * it, so the thread can write its answer.
         *
         * @return whether it had fired
         */
        boolean disarm() {
            if (state.compareAndSet(ARMED, DONE)) {
                future.cancel(false);
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
