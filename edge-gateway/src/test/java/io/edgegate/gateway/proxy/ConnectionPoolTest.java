package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The idle stack of one upstream: order, bound, sweep and retirement, on real loopback connections. */
@Timeout(10)
class ConnectionPoolTest {
    private static final long SECOND = 1_000_000_000L;

    private ServerSocket server;
    private final List<Socket> accepted = new ArrayList<>();
    private final ConnectionPools.Counters counters = new ConnectionPools.Counters();

    @BeforeEach
    void listen() throws IOException {
        server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Socket s = server.accept();
                    synchronized (accepted) {
                        accepted.add(s);
                    }
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    @AfterEach
    void close() throws IOException {
        server.close();
        synchronized (accepted) {
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    private ConnectionPool pool(int maxIdle) {
        return new ConnectionPool("127.0.0.1", server.getLocalPort(), maxIdle, counters, System.nanoTime());
    }

    @Test
    void mostRecentlyReleasedIsTakenFirst() throws IOException {
        ConnectionPool pool = pool(8);
        long now = System.nanoTime();
        UpstreamConnection a = pool.connect(1000, now);
        UpstreamConnection b = pool.connect(1000, now);
        UpstreamConnection c = pool.connect(1000, now);
        pool.release(a, now);
        pool.release(b, now);
        pool.release(c, now);
        assertEquals(3, pool.idle());

        assertSame(c, pool.take(now));
        assertSame(b, pool.take(now));
        assertSame(a, pool.take(now));
        assertNull(pool.take(now));
        assertEquals(3, counters.reused.sum());
    }

    @Test
    void releasesBeyondTheBoundAreClosed() throws IOException {
        ConnectionPool pool = pool(2);
        long now = System.nanoTime();
        List<UpstreamConnection> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            all.add(pool.connect(1000, now));
        }
        for (UpstreamConnection c : all) {
            pool.release(c, now);
        }

        assertEquals(2, pool.idle());
        assertTrue(all.get(0).isOpen() && all.get(1).isOpen(), "the first two are kept");
        for (int i = 2; i < 5; i++) {
            assertFalse(all.get(i).isOpen(), "connection " + i + " went over the bound and was closed");
        }
    }

    @Test
    void sweepClosesTheOldestAndKeepsTheYoung() throws IOException {
        ConnectionPool pool = pool(16);
        long t0 = System.nanoTime();
        List<UpstreamConnection> all = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            all.add(pool.connect(1000, t0));
        }
        for (int i = 0; i < 6; i++) {
            pool.release(all.get(i), t0 + i * SECOND); // released one second apart
        }

        // At t0 + 33 s with a 30 s keep-alive, those released at t0, t0+1, t0+2 are out.
        int closed = pool.sweep(t0 + 33 * SECOND, 30 * SECOND);

        assertEquals(3, closed);
        assertEquals(3, pool.idle());
        for (int i = 0; i < 6; i++) {
            assertEquals(i >= 3, all.get(i).isOpen(), "connection " + i);
        }
        assertSame(all.get(5), pool.take(t0 + 5 * SECOND), "the stack order survives the sweep");
        assertSame(all.get(4), pool.take(t0 + 5 * SECOND));
    }

    @Test
    void retiringClosesIdleConnectionsAndLaterReleases() throws IOException {
        ConnectionPool pool = pool(8);
        long now = System.nanoTime();
        UpstreamConnection idle = pool.connect(1000, now);
        UpstreamConnection busy = pool.connect(1000, now);
        pool.release(idle, now);

        pool.retire();
        pool.release(busy, now);

        assertFalse(idle.isOpen());
        assertFalse(busy.isOpen());
        assertEquals(0, pool.idle());
        assertNull(pool.take(now));
    }

    @Test
    void upstreamConnectionsProbeTheirPeerWithShortKeepAliveTimers() throws IOException {
        // A peer gone without a FIN or a reset cannot be made on loopback; what can be checked is
        // that the kernel is told to probe every upstream connection, soon and briefly.
        UpstreamConnection c = pool(8).connect(1000, System.nanoTime());
        try {
            assertTrue(c.option(StandardSocketOptions.SO_KEEPALIVE), "SO_KEEPALIVE");
            assertEquals(UpstreamConnection.KEEPALIVE_IDLE_SECONDS, c.option(ExtendedSocketOptions.TCP_KEEPIDLE));
            assertEquals(
                    UpstreamConnection.KEEPALIVE_INTERVAL_SECONDS, c.option(ExtendedSocketOptions.TCP_KEEPINTERVAL));
            assertEquals(UpstreamConnection.KEEPALIVE_COUNT, c.option(ExtendedSocketOptions.TCP_KEEPCOUNT));
            int deadAfter = UpstreamConnection.KEEPALIVE_IDLE_SECONDS
                    + UpstreamConnection.KEEPALIVE_COUNT * UpstreamConnection.KEEPALIVE_INTERVAL_SECONDS;
            assertTrue(deadAfter < 60, "a dead peer is found in " + deadAfter + " s, before the 60 s idle timeout");
        } finally {
            c.close();
        }
    }

    @Test
    void idleConnectionResetByItsPeerIsNotHandedOut() throws Exception {
        ConnectionPool pool = pool(8);
        long now = System.nanoTime();
        UpstreamConnection c = pool.connect(1000, now);
        pool.release(c, now);
        Socket peer = acceptedSocket(0);
        peer.setSoLinger(true, 0);
        peer.close(); // a reset, as a peer whose keep-alive probes went unanswered ends up

        // taken after the stale-check interval: the non-blocking read sees the reset
        long later = now + 2 * ConnectionPool.STALE_CHECK_NANOS;
        assertNull(awaitTake(pool, later, c), "the reset connection is not handed out");
        assertFalse(c.isOpen(), "and closed");
        assertEquals(1, counters.stale.sum());
        assertEquals(0, pool.idle());
    }

    @Test
    void idleConnectionClosedByItsPeerIsNotHandedOut() throws Exception {
        ConnectionPool pool = pool(8);
        long now = System.nanoTime();
        UpstreamConnection c = pool.connect(1000, now);
        pool.release(c, now);
        acceptedSocket(0).close(); // a FIN

        long later = now + 2 * ConnectionPool.STALE_CHECK_NANOS;
        assertNull(awaitTake(pool, later, c), "the closed connection is not handed out");
        assertFalse(c.isOpen(), "and closed");
        assertEquals(1, counters.stale.sum());
    }

    /** The i-th socket the listener accepted, once it has. */
    private Socket acceptedSocket(int i) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            synchronized (accepted) {
                if (accepted.size() > i) {
                    return accepted.get(i);
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the listener accepted no connection " + i);
    }

    /**
     * Takes from the pool until the FIN or reset sent by the peer has arrived (loopback delivers it
     * at once, a loaded machine a little later): returns what the pool handed out, which must
     * never be the dead connection; null when it handed out nothing.
     */
    private UpstreamConnection awaitTake(ConnectionPool pool, long nowNanos, UpstreamConnection dead)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            UpstreamConnection got = pool.take(nowNanos);
            if (got == null || System.nanoTime() > deadline) {
                return got;
            }
            // the peer's close has not arrived yet: the connection passed the check; put it back
            assertSame(dead, got);
            pool.release(got, nowNanos - 2 * ConnectionPool.STALE_CHECK_NANOS);
            Thread.sleep(5);
        }
    }

    @Test
    void concurrentTakesAndReleasesNeitherLoseNorShareConnections() throws Exception {
        ConnectionPool pool = pool(64);
        long now = System.nanoTime();
        int connections = 16;
        for (int i = 0; i < connections; i++) {
            pool.release(pool.connect(1000, now), now);
        }
        int threads = 8;
        CountDownLatch done = new CountDownLatch(threads);
        AtomicBoolean shared = new AtomicBoolean();
        Set<UpstreamConnection> held = ConcurrentHashMap.newKeySet();
        for (int t = 0; t < threads; t++) {
            Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 20_000; i++) {
                        UpstreamConnection c = pool.take(now);
                        if (c == null) {
                            continue;
                        }
                        if (!held.add(c)) {
                            shared.set(true); // two threads hold the same connection
                        }
                        held.remove(c);
                        pool.release(c, now);
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));

        assertFalse(shared.get(), "a connection was handed to two threads at once");
        assertEquals(connections, pool.idle(), "every connection is back in the stack");
    }
}
