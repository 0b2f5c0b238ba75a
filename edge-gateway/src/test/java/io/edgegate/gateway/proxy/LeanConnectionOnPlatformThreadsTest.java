package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import io.edgegate.listener.GuardOptions;
import java.io.IOException;
import java.net.Socket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lean connection handler with its connections on platform threads ({@code
 * edgegate.proxy.lean-platform-threads} above 0): every behaviour of {@link LeanConnectionTest}
 * again, each lean connection checked to have been served by a platform thread, and what the pool
 * adds: its cap, the threads' reuse after a connection ends (by the client or by the guard's
 * interrupt), and their end when the server stops.
 */
class LeanConnectionOnPlatformThreadsTest extends LeanConnectionTest {
    private static final int DEFAULT_THREADS = 256;
    private int platformThreads = DEFAULT_THREADS;

    @Override
    ProxyOptions options() {
        return ProxyOptions.builder()
                .leanPlatformThreads(platformThreads)
                .eventLoops(0)
                .build();
    }

    @AfterEach
    void servedOnPlatformThreads() {
        if (h != null && h.lean != null && h.lean.requests() > 0) {
            assertTrue(h.lean.onPlatformThreads() > 0, "lean connections on platform threads");
            if (platformThreads == DEFAULT_THREADS) {
                assertEquals(0, h.lean.platformThreadsBusy(), "no connection left on its virtual thread");
            }
        }
    }

    private void startWith(int threads, GuardOptions limits) {
        platformThreads = threads;
        h = Harness.start(dir, options(), limits, -1);
        backend = new Backend("a");
        h.register("shop", "shop-1", backend.port());
    }

    private Answer get(Socket s) throws IOException {
        write(s, "GET /svc/shop/x HTTP/1.1\r\nHost: edge\r\n\r\n");
        return read(s.getInputStream(), false);
    }

    @Test
    void connectionBeyondThePlatformThreadCapIsServedOnItsVirtualThread() throws IOException {
        startWith(1, GuardOptions.defaults());
        try (Socket first = connect();
                Socket second = connect()) {
            Answer a = get(first); // its platform thread now waits for the next request
            Answer b = get(second);

            assertEquals(200, a.status(), a.toString());
            assertEquals(200, b.status(), b.toString());
        }
        assertEquals(1, h.lean.onPlatformThreads());
        assertEquals(1, h.lean.platformThreadsBusy());
        h.close();
        h = null;
    }

    @Test
    void platformThreadServesTheNextConnectionAfterOneEnds() throws IOException, InterruptedException {
        startWith(1, GuardOptions.defaults());
        try (Socket first = connect()) {
            assertEquals(200, get(first).status());
        }
        try (Socket second = onThePlatformThread()) {
            Answer again = get(second);

            assertEquals(200, again.status(), again.toString());
        }
    }

    @Test
    void platformThreadFreedByTheGuardsKeepAliveTimeoutServesTheNextConnection()
            throws IOException, InterruptedException {
        startWith(1, new GuardOptions(256, 10_000, 300, 8_192, 16_384));
        try (Socket first = connect()) {
            assertEquals(200, get(first).status());
            assertTrue(closedByServer(first), "closed by the guard while idle");
        }
        // the guard's interrupt reached the platform thread; the next connection on it reads on
        try (Socket second = onThePlatformThread()) {
            Answer again = get(second);

            assertEquals(200, again.status(), again.toString());
        }
    }

    @Test
    void stoppingTheServerEndsThePlatformThreadsOfIdleConnections() throws IOException, InterruptedException {
        startWith(4, GuardOptions.defaults());
        try (Socket s = connect()) {
            assertEquals(200, get(s).status());
            assertEquals(1, h.lean.platformThreads());

            h.close();

            assertTrue(closedByServer(s), "the connection closed by the server's stop");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (h.lean.platformThreads() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, h.lean.platformThreads(), "platform threads left after the stop");
        } finally {
            h = null;
        }
    }

    /**
     * A connection whose first request was answered on the pool's only thread. The thread that
     * served the previous connection may not be back in the pool yet when the next one arrives (that
     * one then stays on its virtual thread, counted): new connections are tried until one reaches it.
     */
    private Socket onThePlatformThread() throws IOException, InterruptedException {
        for (int i = 0; i < 200; i++) {
            long busy = h.lean.platformThreadsBusy();
            Socket s = connect();
            Answer a = get(s);
            assertEquals(200, a.status(), a.toString());
            if (h.lean.platformThreadsBusy() == busy) {
                return s;
            }
            s.close();
            Thread.sleep(10);
        }
        throw new AssertionError("no connection reached the platform thread");
    }
}
