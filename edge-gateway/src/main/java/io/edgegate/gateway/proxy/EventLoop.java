package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ErrorLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One event loop of the proxy's data path: a platform thread with a selector that serves the
 * plain-HTTP lean connections handed to it ({@link LeanConnection#handle}) and the upstream
 * connections it opens for them. Each socket is registered once and keeps {@code OP_READ}
 * (level-triggered: a readiness the loop does not want right now turns the interest off, which is
 * rare); {@code OP_WRITE} is on only while a write was partial. A ready socket's work runs to its
 * end on this thread (read, route, forward, relay), so a request costs no thread wake-up of its own:
 * under load one {@code select} returns many ready sockets.
 *
 * <p>Keeps, per upstream {@link ConnectionPool}, its own idle keep-alive connections (registered,
 * so that one the upstream closes is seen and dropped at once), at most the pool's own cap each;
 * those idle longer than the keep-alive, or of a retired pool, are closed by a sweep once a second.
 * Timeouts of exchanges and connects are checked every {@link #TICK_MILLIS}.
 *
 * <p>Thread-safe only through {@link #execute} (and {@link #close}); everything else runs on the
 * loop's thread.
 */
final class EventLoop implements Runnable, AutoCloseable {
    /** Period of the timeout checks while anything waits with a deadline. */
    static final long TICK_MILLIS = 20;

    private static final long SWEEP_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** What a registered channel's key carries: told when the channel is ready. */
    interface Handler {
        void ready(SelectionKey key);
    }

    /** Told of each tick, for its deadlines; returns false once it needs no more ticks. */
    interface Timed {
        boolean tick(long nowNanos);
    }

    private final Selector selector;
    private final Thread thread;
    private final ErrorLog errors;
    private final int maxIdlePerPool;
    private final long keepAliveNanos;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final LoopIo io = new LoopIo();
    /** Channels whose keys were cancelled, to be told once the selector has dropped them. */
    private final ArrayList<Runnable> afterDeregistration = new ArrayList<>();

    private final ArrayList<Timed> timed = new ArrayList<>();
    private final Map<ConnectionPool, ArrayDeque<UpstreamConnection>> idle = new IdentityHashMap<>();
    private long nextSweep = System.nanoTime() + SWEEP_NANOS;
    /** Idle upstream connections held now; written by the loop's thread only. */
    private volatile int idleHeld;

    private volatile boolean closed;

    EventLoop(String name, ErrorLog errors, int maxIdlePerPool, long keepAliveNanos) {
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.errors = errors;
        this.maxIdlePerPool = maxIdlePerPool;
        this.keepAliveNanos = keepAliveNanos;
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this);
    }

    void start() {
        thread.start();
    }

    /** Runs a task on the loop's thread (soon, in order). */
    void execute(Runnable task) {
        tasks.add(task);
        selector.wakeup();
    }

    Selector selector() {
        return selector;
    }

    /** The loop's socket reads and writes (on the loop's thread). */
    LoopIo io() {
        return io;
    }

    /** Registers a non-blocking channel with the loop's selector (on the loop's thread). */
    SelectionKey register(SelectableChannel channel, int ops, Handler handler) throws ClosedChannelException {
        return channel.register(selector, ops, handler);
    }

    /**
     * Cancels a key and runs {@code then} once the selector has dropped its channel (the channel
     * may then be made blocking again); on the loop's thread.
     */
    void deregister(SelectionKey key, Runnable then) {
        key.cancel();
        afterDeregistration.add(then);
    }

    /** Adds a deadline holder to the ticks (on the loop's thread). */
    void ticks(Timed t) {
        timed.add(t);
    }

    /** An idle connection of this loop to the pool's upstream, or null (on the loop's thread). */
    UpstreamConnection takeIdle(ConnectionPool pool) {
        ArrayDeque<UpstreamConnection> q = idle.get(pool);
        if (q == null) {
            return null;
        }
        UpstreamConnection c;
        while ((c = q.pollLast()) != null) {
            idleHeld--;
            if (c.isOpen()) {
                pool.countReused();
                return c;
            }
            pool.countStale();
        }
        return null;
    }

    /**
     * Keeps a connection whose exchange ended cleanly, registered and watched while idle, or closes
     * it when this loop holds the pool's cap already or the pool is retired (on the loop's thread).
     */
    void releaseIdle(UpstreamConnection c, SelectionKey key, long nowNanos) {
        ConnectionPool pool = c.pool;
        ArrayDeque<UpstreamConnection> q = idle.computeIfAbsent(pool, p -> new ArrayDeque<>());
        if (pool.retired() || q.size() >= maxIdlePerPool || !key.isValid()) {
            key.cancel();
            c.close();
            return;
        }
        c.idleSince(nowNanos);
        pool.used(nowNanos);
        key.interestOps(SelectionKey.OP_READ);
        key.attach((Handler) k -> {
            // An idle connection that turns readable was closed (or written to) by its upstream.
            if (q.remove(c)) {
                idleHeld--;
            }
            k.cancel();
            c.close();
            pool.countStale();
        });
        q.addLast(c);
        idleHeld++;
    }

    /** Idle upstream connections this loop holds now (any thread). */
    int idleHeld() {
        return idleHeld;
    }

    /** Runs the sweep of idle connections as of {@code nowNanos} on the loop, and waits for it. */
    void sweepAt(long nowNanos) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        execute(() -> {
            sweep(nowNanos);
            done.countDown();
        });
        done.await();
    }

    @Override
    public void run() {
        while (!closed) {
            try {
                runTasks();
                long timeout = timed.isEmpty() ? TimeUnit.NANOSECONDS.toMillis(SWEEP_NANOS) : TICK_MILLIS;
                if (tasks.isEmpty() && afterDeregistration.isEmpty()) {
                    selector.select(this::dispatch, timeout);
                } else {
                    selector.selectNow(this::dispatch);
                }
                if (!afterDeregistration.isEmpty()) {
                    // The select above dropped the cancelled keys' channels; a select now drops any
                    // cancelled while the ready ones were handled.
                    selector.selectNow(this::dispatch);
                    ArrayList<Runnable> done = new ArrayList<>(afterDeregistration);
                    afterDeregistration.clear();
                    for (Runnable r : done) {
                        r.run();
                    }
                }
                long now = System.nanoTime();
                tick(now);
                if (now - nextSweep >= 0) {
                    nextSweep = now + SWEEP_NANOS;
                    sweep(now);
                }
            } catch (IOException | RuntimeException e) {
                errors.record(e);
            }
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing: nothing left to tell
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            try {
                task.run();
            } catch (RuntimeException e) {
                errors.record(e);
            }
        }
    }

    private void dispatch(SelectionKey key) {
        try {
            ((Handler) key.attachment()).ready(key);
        } catch (RuntimeException e) {
            errors.record(e);
        }
    }

    private void tick(long now) {
        if (timed.isEmpty()) {
            return;
        }
        for (int i = 0; i < timed.size(); ) {
            Timed t = timed.get(i);
            boolean keep;
            try {
                keep = t.tick(now);
            } catch (RuntimeException e) {
                errors.record(e);
                keep = false;
            }
            if (keep) {
                i++;
            } else {
                int last = timed.size() - 1;
                timed.set(i, timed.get(last));
                timed.remove(last);
            }
        }
    }

    /** Closes idle connections past the keep-alive or of retired pools. */
    private void sweep(long now) {
        Iterator<Map.Entry<ConnectionPool, ArrayDeque<UpstreamConnection>>> it =
                idle.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<ConnectionPool, ArrayDeque<UpstreamConnection>> e = it.next();
            boolean retired = e.getKey().retired();
            ArrayDeque<UpstreamConnection> q = e.getValue();
            while (!q.isEmpty() && (retired || now - q.peekFirst().idleSinceNanos() > keepAliveNanos)) {
                UpstreamConnection c = q.pollFirst();
                idleHeld--;
                e.getKey().countExpired();
                SelectionKey key = c.channel().keyFor(selector);
                if (key != null) {
                    key.cancel();
                }
                c.close();
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Ends the loop; its channels are closed by their owners (the server closes client connections). */
    @Override
    public void close() {
        execute(() -> {
            for (ArrayDeque<UpstreamConnection> q : idle.values()) {
                for (UpstreamConnection c : q) {
                    c.close();
                }
            }
            idle.clear();
            idleHeld = 0;
            closed = true;
        });
    }
}
