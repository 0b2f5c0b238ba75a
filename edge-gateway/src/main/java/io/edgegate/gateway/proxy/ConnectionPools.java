package io.edgegate.gateway.proxy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Every upstream {@link ConnectionPool}, by address, port and TLS setting: a plain pool and a TLS
 * pool to the same address never share a connection, nor do two TLS settings. Each
 * {@link Upstream} caches its pool (and its last TLS pool), so the lookup is paid once per
 * instance, not per request. A sweep (once a second, on the
 * {@link Watchdog}'s thread) closes connections idle longer than the keep-alive time and retires
 * pools nobody used for a while, so instances that come and go leave nothing behind. Thread-safe.
 */
final class ConnectionPools implements AutoCloseable {
    /** Idle time after which a pooled connection is closed. */
    static final long KEEP_ALIVE_NANOS = 30_000_000_000L;
    /** Unused time (and no idle connection) after which a pool is dropped. */
    static final long RETIRE_AFTER_NANOS = 120_000_000_000L;

    /** Connection counters for {@code /v1/status}. */
    static final class Counters {
        final LongAdder opened = new LongAdder();
        final LongAdder reused = new LongAdder();
        final LongAdder stale = new LongAdder();
        final LongAdder staleRetries = new LongAdder();
        final LongAdder expired = new LongAdder();
        /** Connections not opened: the instance's address resolved to a forbidden address. */
        final LongAdder forbidden = new LongAdder();
    }

    final Counters counters = new Counters();
    private final int maxIdlePerUpstream;
    private final ConcurrentHashMap<String, ConnectionPool> pools = new ConcurrentHashMap<>();

    ConnectionPools(int maxIdlePerUpstream) {
        this.maxIdlePerUpstream = maxIdlePerUpstream;
    }

    /** The pool of plain connections to an instance's address and port. */
    ConnectionPool of(Upstream u) {
        ConnectionPool p = u.connections;
        if (p == null || p.retired()) {
            // Racing threads get the same pool from the map; the field is a cache of it.
            p = pools.computeIfAbsent(
                    u.address + " " + u.port,
                    key -> new ConnectionPool(u.address, u.port, maxIdlePerUpstream, counters, System.nanoTime()));
            u.connections = p;
        }
        return p;
    }

    /** The pool of TLS connections with {@code tls} to an instance's address and port. */
    ConnectionPool of(Upstream u, UpstreamTls tls) {
        ConnectionPool p = u.tlsConnections;
        if (p == null || p.tls != tls || p.retired()) {
            p = pools.computeIfAbsent(
                    u.address + " " + u.port + " " + tls.id,
                    key -> new ConnectionPool(u.address, u.port, tls, maxIdlePerUpstream, counters, System.nanoTime()));
            u.tlsConnections = p;
        }
        return p;
    }

    /** Closes expired idle connections and drops pools unused for long. */
    void sweep(long nowNanos) {
        for (var e : pools.entrySet()) {
            ConnectionPool p = e.getValue();
            counters.expired.add(p.sweep(nowNanos, KEEP_ALIVE_NANOS));
            if (p.idle() == 0 && nowNanos - p.lastUsedNanos() > RETIRE_AFTER_NANOS) {
                pools.remove(e.getKey(), p);
                p.retire();
            }
        }
    }

    /** Idle connections over all pools. */
    int idle() {
        int n = 0;
        for (ConnectionPool p : pools.values()) {
            n += p.idle();
        }
        return n;
    }

    @Override
    public void close() {
        for (ConnectionPool p : pools.values()) {
            p.retire();
        }
        pools.clear();
    }
}
