package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ForbiddenAddresses;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy's state for one instance, kept across the registry's snapshots of its service: the
 * requests in flight to it (least-request balancing and graceful drain) and its passive outlier
 * state, and whether it is still live. Created and retired by {@link ServiceRuntime} when
 * snapshots change; read and updated by request threads without locks, except ejection, which
 * {@link ServiceRuntime} decides under its own lock.
 */
final class Upstream {
    /** {@link #ejectedUntilNanos} of an instance that is not ejected. */
    static final long NOT_EJECTED = Long.MIN_VALUE;

    final String id;
    final ServiceRuntime service;
    final String address;
    final int port;
    /**
     * Whether the instance speaks HTTPS (its metadata has {@code scheme: https}): reached with the
     * gateway's default upstream TLS unless a route's {@code upstream-tls} says otherwise.
     */
    final boolean https;
    /** Whether {@link #address} is an IP literal, not a name to look up. */
    final boolean literalAddress;

    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger consecutiveFailures = new AtomicInteger();
    /**
     * End of the last ejection on the {@link System#nanoTime()} clock (kept once passed, to decay
     * the next one), or {@link #NOT_EJECTED} if it never was.
     */
    volatile long ejectedUntilNanos = NOT_EJECTED;
    /**
     * Whether its instance is routable in the newest snapshot {@link ServiceRuntime#sync} applied
     * (and this is still the instance's upstream): a pool built from an older snapshot skips it
     * when false. Written under the service's lock, read by every pick (one volatile read).
     */
    volatile boolean live = true;
    /** Cache of the pool of connections to {@link #address}:{@link #port} (see {@link ConnectionPools#of}). */
    ConnectionPool connections;
    /** Cache of the last TLS pool used for this instance (see {@link ConnectionPools#of(Upstream, UpstreamTls)}). */
    ConnectionPool tlsConnections;

    /** Ejections so far, less one per base ejection time since the last ended; guarded by the service's lock. */
    int ejections;

    Upstream(String id, ServiceRuntime service, String address, int port) {
        this(id, service, address, port, false);
    }

    Upstream(String id, ServiceRuntime service, String address, int port, boolean https) {
        this.id = id;
        this.service = service;
        this.address = address;
        this.port = port;
        this.https = https;
        this.literalAddress = ForbiddenAddresses.literal(address) != null;
    }

    /** Whether an instance's metadata asks for HTTPS ({@code scheme: https}, any case). */
    static boolean https(java.util.Map<String, String> meta) {
        String scheme = meta.get("scheme");
        return scheme != null && scheme.equalsIgnoreCase("https");
    }

    /** Whether it is ejected at {@code nowNanos}: one volatile read. */
    boolean ejected(long nowNanos) {
        long until = ejectedUntilNanos;
        return until != NOT_EJECTED && nowNanos - until < 0;
    }

    /** Requests in flight to it through the proxy. */
    int inFlight() {
        return inFlight.get();
    }

    @Override
    public String toString() {
        return id + " (" + address + ":" + port + ")";
    }
}
