package io.edgegate.gateway.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The idle keep-alive connections to one upstream address and port, shared by every route and
 * instance that point there.
 *
 * <p>Idle connections form a stack: the most recently used is taken first, so a burst's extra
 * connections sink to the bottom, sit idle and are closed by {@link #sweep}, while the busy few
 * stay warm. A connection that sat idle for a while is checked before use with one non-blocking
 * read ({@link UpstreamConnection#stale}): an upstream that closed it (a keep-alive timeout, a
 * restart) has sent its FIN by then, and the connection is dropped instead of failing a request.
 * The race that check cannot see (a close in flight) is handled by the {@link Forwarder}, which
 * sends a replayable request again on a new connection when a reused one fails before any answer.
 *
 * <p>Thread-safe: any request thread takes and releases; the sweeper closes old ones. A taken
 * connection belongs to its thread until it is released or closed.
 */
final class ConnectionPool {
    /** Idle time after which a connection is checked with a non-blocking read before it is reused. */
    static final long STALE_CHECK_NANOS = 50_000_000L;

    final String address;
    final int port;
    /** {@code Host: address:port CRLF}, written into every request head. */
    final byte[] hostLine;

    private final int maxIdle;
    private final ConcurrentLinkedDeque<UpstreamConnection> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger();
    private final ConnectionPools.Counters counters;
    private volatile boolean retired;
    private volatile long lastUsedNanos;

    ConnectionPool(String address, int port, int maxIdle, ConnectionPools.Counters counters, long nowNanos) {
        this.address = address;
        this.port = port;
        this.maxIdle = maxIdle;
        this.counters = counters;
        this.lastUsedNanos = nowNanos;
        String host = address.indexOf(':') >= 0 && !address.startsWith("[") ? "[" + address + "]" : address;
        this.hostLine = ("Host: " + host + ":" + port + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /** An idle connection that still looks open, or null when there is none. */
    UpstreamConnection take(long nowNanos) {
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            if (!c.isOpen() || nowNanos - c.idleSinceNanos() > STALE_CHECK_NANOS && c.stale()) {
                c.close();
                counters.stale.increment();
                continue;
            }
            counters.reused.increment();
            return c;
        }
        return null;
    }

    /**
     * Opens a new connection.
     *
     * @throws IOException a {@link java.net.ConnectException}, a
     *     {@link java.net.SocketTimeoutException} naming the connect, or an
     *     {@link java.net.UnknownHostException}
     */
    UpstreamConnection connect(long timeoutMillis, long nowNanos) throws IOException {
        lastUsedNanos = nowNanos;
        SocketChannel channel = SocketChannel.open();
        try {
            channel.socket()
                    .connect(new InetSocketAddress(address, port), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            UpstreamConnection c = new UpstreamConnection(this, channel);
            counters.opened.increment();
            return c;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Returns a connection whose exchange ended cleanly; closes it when the pool is full or retired. */
    void release(UpstreamConnection c, long nowNanos) {
        c.idleSince(nowNanos);
        lastUsedNanos = nowNanos;
        if (retired || idleCount.incrementAndGet() > maxIdle) {
            idleCount.decrementAndGet();
            c.close();
            return;
        }
        idle.offerFirst(c);
        if (retired) {
            closeIdle(); // retired while this was being returned: nobody will take it now
        }
    }

    /**
     * Closes connections idle for longer than {@code keepAliveNanos}: the oldest are at the bottom.
     *
     * @return how many were closed
     */
    int sweep(long nowNanos, long keepAliveNanos) {
        int closed = 0;
        UpstreamConnection c;
        while ((c = idle.pollLast()) != null) {
            if (c.isOpen() && nowNanos - c.idleSinceNanos() <= keepAliveNanos) {
                idle.offerLast(c); // the oldest is young enough: so are the others
                break;
            }
            idleCount.decrementAndGet();
            c.close();
            closed++;
        }
        return closed;
    }

    /** Idle connections now. */
    int idle() {
        return Math.max(0, idleCount.get());
    }

    long lastUsedNanos() {
        return lastUsedNanos;
    }

    boolean retired() {
        return retired;
    }

    /** Stops pooling: later releases close their connection. */
    void retire() {
        retired = true;
        closeIdle();
    }

    private void closeIdle() {
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            c.close();
        }
    }

    @Override
    public String toString() {
        return address + ":" + port;
    }
}
