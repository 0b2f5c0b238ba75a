package io.edgegate.gateway.proxy;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the retries of one service so that retries cannot multiply its load when it fails (the
 * retry budget of Finagle and Linkerd): every first attempt deposits {@code ratio} of a token,
 * every retry takes a whole one, and at most {@link #capTokens} are banked. On top of that, a
 * floor of {@code minPerSecond} retries a second keeps retries possible at low traffic. Lock-free;
 * a deposit is a plain read while the bank is full, which is the steady state of a healthy
 * service.
 */
final class RetryBudget {
    private static final long MILLI = 1_000;

    private final long depositMilli;
    private final long capMilli;
    private final int minPerSecond;
    /** Banked milli-tokens. */
    private final AtomicLong balance;
    /** The floor's window: second (high 32 bits) and retries taken in it (low 32 bits). */
    private final AtomicLong floor = new AtomicLong();

    RetryBudget(double ratio, int minPerSecond) {
        this.depositMilli = Math.round(ratio * MILLI);
        this.minPerSecond = minPerSecond;
        this.capMilli = capTokens(minPerSecond) * MILLI;
        this.balance = new AtomicLong(capMilli);
    }

    /** At most this many retries are banked: ten seconds of the floor, and at least 100. */
    static long capTokens(int minPerSecond) {
        return Math.max(100, 10L * minPerSecond);
    }

    /** Called once per request, on its first attempt. */
    void deposit() {
        if (depositMilli == 0 || balance.get() >= capMilli) {
            return;
        }
        // Racing deposits may overshoot the cap by a few tokens; harmless, and no CAS loop.
        balance.addAndGet(depositMilli);
    }

    /** Whether a retry would be allowed now, without taking it. */
    boolean canRetry() {
        return balance.get() >= MILLI || floorLeft(System.nanoTime());
    }

    /** Takes one retry; false when the budget is spent. */
    boolean tryRetry() {
        long b;
        while ((b = balance.get()) >= MILLI) {
            if (balance.compareAndSet(b, b - MILLI)) {
                return true;
            }
        }
        return tryFloor(System.nanoTime());
    }

    private boolean floorLeft(long nowNanos) {
        if (minPerSecond == 0) {
            return false;
        }
        long second = (nowNanos / 1_000_000_000L) & 0xFFFF_FFFFL;
        long state = floor.get();
        return (state >>> 32) != second || (state & 0xFFFF_FFFFL) < minPerSecond;
    }

    private boolean tryFloor(long nowNanos) {
        if (minPerSecond == 0) {
            return false;
        }
        long second = (nowNanos / 1_000_000_000L) & 0xFFFF_FFFFL;
        while (true) {
            long state = floor.get();
            long used = (state >>> 32) == second ? state & 0xFFFF_FFFFL : 0;
            if (used >= minPerSecond) {
                return false;
            }
            if (floor.compareAndSet(state, (second << 32) | (used + 1))) {
                return true;
            }
        }
    }

    /** Banked tokens (for tests and status). */
    double tokens() {
        return balance.get() / (double) MILLI;
    }
}
