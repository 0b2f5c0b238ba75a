package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ForbiddenAddresses;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

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
 * connection belongs to its thread until it is released or closed. The stack is an array under a
 * lock held for a push or a pop only (checks and closes happen outside it): no node is allocated
 * per release, and the lock is not contended for longer than a few stores.
 */
final class ConnectionPool {
    /** Idle time after which a connection is checked with a non-blocking read before it is reused. */
    static final long STALE_CHECK_NANOS = 50_000_000L;

    private static final UpstreamConnection[] NONE = {};

    final String address;
    final int port;
    /** How its connections speak TLS; null for plain HTTP. */
    final UpstreamTls tls;
    /** {@code Host: address:port CRLF} (the TLS server name for the address, when set), written into every request head. */
    final byte[] hostLine;
    /**
     * The address when it is an IP literal, else null (a name): an {@link EventLoop} connects only
     * to literals, which need no lookup on its thread.
     */
    final InetAddress literal;

    private final int maxIdle;
    private final ReentrantLock lock = new ReentrantLock();
    /** Idle connections, oldest first: {@code idle[0 .. idleCount)}. Guarded by {@link #lock}. */
    private UpstreamConnection[] idle = new UpstreamConnection[4];

    private int idleCount;
    private final ConnectionPools.Counters counters;
    private volatile boolean retired;
    private volatile long lastUsedNanos;

    ConnectionPool(String address, int port, int maxIdle, ConnectionPools.Counters counters, long nowNanos) {
        this(address, port, null, maxIdle, counters, nowNanos);
    }

    ConnectionPool(
            String address, int port, UpstreamTls tls, int maxIdle, ConnectionPools.Counters counters, long nowNanos) {
        this.address = address;
        this.port = port;
        this.tls = tls;
        this.literal = ForbiddenAddresses.literal(address);
        this.maxIdle = maxIdle;
        this.counters = counters;
        this.lastUsedNanos = nowNanos;
        // With a TLS server name the upstream is a virtual host of that name: SNI and Host agree.
        String name = tls != null && tls.serverName != null ? tls.serverName : address;
        String host = name.indexOf(':') >= 0 && !name.startsWith("[") ? "[" + name + "]" : name;
        this.hostLine = ("Host: " + host + ":" + port + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /** An idle connection that still looks open, or null when there is none. */
    UpstreamConnection take(long nowNanos) {
        UpstreamConnection c;
        while ((c = popNewest()) != null) {
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
     * Opens a new connection; over TLS, the handshake too, within the same timeout again.
     *
     * @throws IOException a {@link java.net.ConnectException}, a
     *     {@link java.net.SocketTimeoutException} naming the connect, an
     *     {@link java.net.UnknownHostException}, or a {@link ForbiddenUpstreamException} when the
     *     address resolves to a forbidden one (checked here, per new connection: a name may
     *     resolve elsewhere than when it was registered), or an {@link UpstreamTlsException}
     */
    UpstreamConnection connect(long timeoutMillis, long nowNanos) throws IOException {
        lastUsedNanos = nowNanos;
        InetSocketAddress target = new InetSocketAddress(address, port);
        InetAddress resolved = target.getAddress();
        String why = resolved == null ? null : ForbiddenAddresses.why(resolved);
        if (why != null) {
            throw forbidden(resolved, why);
        }
        SocketChannel channel = SocketChannel.open();
        try {
            channel.socket().connect(target, (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            UpstreamConnection c = new UpstreamConnection(this, channel, timeoutMillis);
            counters.opened.increment();
            return c;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private ForbiddenUpstreamException forbidden(InetAddress resolved, String why) {
        counters.forbidden.increment();
        return new ForbiddenUpstreamException(resolved.getHostAddress()
                + (address.equalsIgnoreCase(resolved.getHostAddress()) ? "" : " (resolved from " + address + ")")
                + " is " + why);
    }

    /**
     * On an {@link EventLoop}: opens a non-blocking channel and starts connecting it to the
     * {@link #literal} address (the connect may be done at once, or pending).
     *
     * @throws IOException a {@link ForbiddenUpstreamException} for a forbidden address, or the
     *     connect's own failure
     */
    SocketChannel startConnect(long nowNanos) throws IOException {
        lastUsedNanos = nowNanos;
        String why = ForbiddenAddresses.why(literal);
        if (why != null) {
            throw forbidden(literal, why);
        }
        SocketChannel channel = SocketChannel.open();
        try {
            channel.configureBlocking(false);
            channel.connect(new InetSocketAddress(literal, port));
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** On an {@link EventLoop}: the connection over a channel {@link #startConnect} connected. */
    UpstreamConnection connected(SocketChannel channel, LoopIo io) throws IOException {
        UpstreamConnection c = new UpstreamConnection(this, channel, io);
        counters.opened.increment();
        return c;
    }

    /** Counts an idle connection of an event loop found closed or written to by the upstream. */
    void countStale() {
        counters.stale.increment();
    }

    /** An event loop used the pool now (a pool unused for long is retired by the sweep). */
    void used(long nowNanos) {
        lastUsedNanos = nowNanos;
    }

    /** Counts an idle connection of an event loop closed after the keep-alive. */
    void countExpired() {
        counters.expired.increment();
    }

    /** Counts a connection an event loop took from its idle ones. */
    void countReused() {
        counters.reused.increment();
    }

    /** Returns a connection whose exchange ended cleanly; closes it when the pool is full or retired. */
    void release(UpstreamConnection c, long nowNanos) {
        c.idleSince(nowNanos);
        lastUsedNanos = nowNanos;
        if (retired || !push(c)) {
            c.close();
            return;
        }
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
        UpstreamConnection[] old = expired(nowNanos, keepAliveNanos);
        for (UpstreamConnection c : old) {
            c.close();
        }
        return old.length;
    }

    /** Idle connections now. */
    int idle() {
        lock.lock();
        try {
            return idleCount;
        } finally {
            lock.unlock();
        }
    }

    private boolean push(UpstreamConnection c) {
        lock.lock();
        try {
            if (idleCount >= maxIdle) {
                return false;
            }
            if (idleCount == idle.length) {
                idle = Arrays.copyOf(idle, Math.min(maxIdle, idle.length * 2));
            }
            idle[idleCount++] = c;
            return true;
        } finally {
            lock.unlock();
        }
    }

    private UpstreamConnection popNewest() {
        lock.lock();
        try {
            if (idleCount == 0) {
                return null;
            }
            UpstreamConnection c = idle[--idleCount];
            idle[idleCount] = null;
            return c;
        } finally {
            lock.unlock();
        }
    }

    /** Takes out the oldest idle connections that are closed or idle for longer than {@code keepAliveNanos}. */
    private UpstreamConnection[] expired(long nowNanos, long keepAliveNanos) {
        lock.lock();
        try {
            int k = 0;
            while (k < idleCount && (!idle[k].isOpen() || nowNanos - idle[k].idleSinceNanos() > keepAliveNanos)) {
                k++; // oldest first: the first young enough one ends the run
            }
            if (k == 0) {
                return NONE;
            }
            UpstreamConnection[] out = Arrays.copyOf(idle, k);
            System.arraycopy(idle, k, idle, 0, idleCount - k);
            Arrays.fill(idle, idleCount - k, idleCount, null);
            idleCount -= k;
            return out;
        } finally {
            lock.unlock();
        }
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
        while ((c = popNewest()) != null) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return (tls == null ? "" : "https://") + address + ":" + port;
    }
}
