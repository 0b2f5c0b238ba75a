package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.listener.GuardOptions;
import io.edgegate.listener.ListenerGuard;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.NioSocket;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.channels.SocketChannel;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * The proxy's lean HTTP/1.1 connection handler, installed on the gateway's main listener behind
 * its {@link ListenerGuard} ({@code ListenerGuard#selector(Http1Config, ConnectionHandler)}): every
 * connection the guard admits is served by a {@link LeanConnection}, which forwards proxied
 * requests itself, answers the {@link LeanApi}'s requests (the registry's hot writes) itself, and
 * hands the connection to Helidon's HTTP/1.1 (and so to the API's routing) at the first request
 * that is neither. {@code edgegate.proxy.lean-connections: false} leaves every connection to
 * Helidon, as before.
 *
 * <p>Why: Helidon's request path alone (parsing into header objects, routing, the response's
 * machinery) cost more CPU per request than nginx's whole proxy on the same machine; the proxy
 * needs a request line, a few fields and a byte-for-byte copy of the rest (see the benchmarks'
 * README for the figures).
 *
 * <p>Threads: Helidon starts each connection on a virtual thread. With {@code
 * edgegate.proxy.lean-platform-threads} above 0, that thread hands the connection's loop to a
 * platform thread of this handler's pool and waits for it (once per connection, not per request),
 * so that each blocking read or write of the connection and of its upstream exchanges is one wait
 * in the kernel instead of a park, a poller's wake-up and an unpark on the virtual-thread
 * scheduler. At most that many connections are served so at once: when the pool is full, a
 * connection stays on its virtual thread (counted). {@link #close} lets the pool's threads end as
 * their connections end (the server's shutdown closes the connections).
 *
 * <p>Event loops: with {@code edgegate.proxy.event-loops} above 0 (the default {@code auto}: one
 * per processor) this handler owns that many {@link EventLoop}s, and each plain connection whose
 * first request is the proxy's or the lean API's is served by one of them, in turn ({@link LeanConnection}); the
 * platform threads above then serve only the connections no loop takes (TLS ones).
 *
 * <p>Thread-safe: one instance per listener; its counters are written by every connection's thread.
 */
public final class LeanConnections implements ListenerGuard.ConnectionHandler, AutoCloseable {
    /** An idle platform thread of the pool ends after this long without a connection. */
    private static final long PLATFORM_KEEP_ALIVE_SECONDS = 60;
    /** The largest request body an event loop forwards (whole, from its buffer); larger ones stream on the connection's thread. */
    static final int MAX_LOOP_BODY_BYTES = 64 * 1024;

    /**
     * The channel of Helidon's plain socket: the field is private, so it is reached by reflection
     * (the web server and this class share the class path); null when that fails (another Helidon),
     * and then no connection goes to an event loop.
     */
    private static final VarHandle NIO_SOCKET_CHANNEL = nioSocketChannel();

    final ProxyService proxy;
    /** The API requests lean connections answer themselves, or null: every API request is Helidon's. */
    final LeanApi api;
    /** Whether the listener's connections carry proxied requests (the main listener's) or only an API's. */
    final boolean proxies;
    /** Whether the loops and platform threads are this handler's own, to close (else another handler's). */
    private final boolean ownsThreads;

    final ErrorLog errors;
    /** The listener's limits: a head beyond them is Helidon's (and the guard's) to refuse. */
    final int maxRequestLineBytes;

    final int maxHeaderBytes;
    /** Proxied requests served on lean connections. */
    final LongAdder requests = new LongAdder();
    /** API requests answered by {@link #api}: one count for the handler and those {@link #forApiListener} made. */
    final LongAdder apiRequests;
    /** Connections handed to Helidon's HTTP/1.1 (an API request, or a head the lean parser left to it). */
    final LongAdder handedOff = new LongAdder();
    /** Connections served by a platform thread of {@link #platform}. */
    final LongAdder onPlatformThreads = new LongAdder();
    /** Connections that stayed on their virtual thread because every platform thread was busy. */
    final LongAdder platformThreadsBusy = new LongAdder();
    /**
     * Platform threads for connections: no queue (a connection is taken by an idle thread, or a
     * new one up to the cap, or refused), threads end after a minute idle; null when none.
     */
    private final ThreadPoolExecutor platform;
    /** The event loops, or null when there are none ({@code edgegate.proxy.event-loops: 0}). */
    private final EventLoop[] loops;

    private final AtomicInteger nextLoop = new AtomicInteger();
    /** Connections served by an event loop (counted once each, at its start). */
    final LongAdder onEventLoops = new LongAdder();

    LeanConnections(
            ProxyService proxy,
            LeanApi api,
            ErrorLog errors,
            GuardOptions limits,
            int platformThreads,
            int eventLoops,
            int maxIdlePerUpstream) {
        this.proxy = proxy;
        this.api = api;
        this.proxies = true;
        this.ownsThreads = true;
        this.apiRequests = new LongAdder();
        this.errors = errors;
        this.maxRequestLineBytes = limits.maxRequestLineBytes();
        this.maxHeaderBytes = limits.maxHeaderBytes();
        this.platform = platformThreads == 0
                ? null
                : new ThreadPoolExecutor(
                        0,
                        platformThreads,
                        PLATFORM_KEEP_ALIVE_SECONDS,
                        TimeUnit.SECONDS,
                        new SynchronousQueue<>(),
                        Thread.ofPlatform().name("edgegate-lean-", 0).daemon().factory());
        if (eventLoops > 0 && NIO_SOCKET_CHANNEL != null) {
            loops = new EventLoop[eventLoops];
            for (int i = 0; i < eventLoops; i++) {
                loops[i] = new EventLoop(
                        "edgegate-loop-" + i, errors, maxIdlePerUpstream, ConnectionPools.KEEP_ALIVE_NANOS);
                loops[i].start();
            }
        } else {
            loops = null;
        }
    }

    /** See {@link #forApiListener}. */
    private LeanConnections(LeanConnections shared, GuardOptions limits, LeanApi api) {
        this.proxy = shared.proxy;
        this.api = api;
        this.proxies = false;
        this.ownsThreads = false;
        this.apiRequests = shared.apiRequests;
        this.errors = shared.errors;
        this.maxRequestLineBytes = limits.maxRequestLineBytes();
        this.maxHeaderBytes = limits.maxHeaderBytes();
        this.platform = shared.platform;
        this.loops = shared.loops;
    }

    /**
     * A handler for another listener of the gateway that proxies nothing (the Consul API's): its
     * connections answer {@code api}'s requests themselves and hand every other request to that
     * listener's routing; served by this handler's event loops and platform threads, its API
     * answers counted in this handler's {@link #apiRequests()}. Its other counters are its own and
     * not reported (the proxy's counters are the main listener's).
     */
    LeanConnections forApiListener(GuardOptions limits, LeanApi api) {
        return new LeanConnections(this, limits, api);
    }

    private static VarHandle nioSocketChannel() {
        try {
            return MethodHandles.privateLookupIn(NioSocket.class, MethodHandles.lookup())
                    .findVarHandle(NioSocket.class, "delegate", SocketChannel.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The channel of a plain Helidon socket, or null (TLS, or another kind of socket). */
    static SocketChannel channelOf(HelidonSocket socket) {
        if (NIO_SOCKET_CHANNEL == null || socket.getClass() != NioSocket.class) {
            return null;
        }
        return (SocketChannel) NIO_SOCKET_CHANNEL.get(socket);
    }

    /** Whether plain connections are served by event loops ({@code event-loops} above 0). */
    boolean hasEventLoops() {
        return loops != null;
    }

    /** The loop for the next connection (in turn). */
    EventLoop nextLoop() {
        return loops[Math.floorMod(nextLoop.getAndIncrement(), loops.length)];
    }

    /** Whether connections may be served by platform threads ({@code lean-platform-threads} above 0). */
    boolean hasPlatformThreads() {
        return platform != null;
    }

    /**
     * Runs a connection's loop on a platform thread of the pool.
     *
     * @return false when there is no pool, or every one of its threads is busy (or it is closed):
     *     the caller serves the connection itself
     */
    boolean onPlatformThread(Runnable loop) {
        if (platform == null) {
            return false;
        }
        // Counted before the loop starts: the platform thread may serve the whole connection
        // before this thread goes on, and a reader of the counters must see it counted by then.
        onPlatformThreads.increment();
        try {
            platform.execute(loop);
        } catch (RejectedExecutionException e) {
            onPlatformThreads.decrement();
            platformThreadsBusy.increment();
            return false;
        }
        return true;
    }

    @Override
    public ServerConnection connection(
            ConnectionContext ctx,
            ListenerGuard.Deadlines deadlines,
            Function<ConnectionContext, ServerConnection> http1) {
        return new LeanConnection(this, ctx, deadlines, http1);
    }

    /**
     * Whether a request for this path is the proxy's: everything outside the gateway's own API
     * ({@link ProxyService#gatewayApi}), and the OpenAI-compatible endpoints under {@code /v1/}
     * (which the API does not serve). Other paths under {@code /v1/} (the API, {@code /v1/routes},
     * a route whose prefix is under {@code /v1/}) are left to Helidon's routing, which reaches the
     * proxy for those the API does not take.
     */
    static boolean serves(String rawPath) {
        return !ProxyService.gatewayApi(rawPath)
                || ModelExtractor.inferencePath(rawPath)
                || rawPath.equals("/v1/models");
    }

    /** Proxied requests served on lean connections since start. */
    public long requests() {
        return requests.sum();
    }

    /** API requests lean connections answered themselves ({@link LeanApi}) since start, on every listener. */
    public long apiRequests() {
        return apiRequests.sum();
    }

    /** Connections handed to Helidon's HTTP/1.1 since start. */
    public long handedOff() {
        return handedOff.sum();
    }

    /** Connections served by a platform thread since start. */
    public long onPlatformThreads() {
        return onPlatformThreads.sum();
    }

    /** Connections left on their virtual thread since start because every platform thread was busy. */
    public long platformThreadsBusy() {
        return platformThreadsBusy.sum();
    }

    /** Idle upstream connections the event loops hold now. */
    int idleUpstreamConnections() {
        int n = 0;
        if (loops != null) {
            for (EventLoop l : loops) {
                n += l.idleHeld();
            }
        }
        return n;
    }

    /** Runs each event loop's sweep of idle upstream connections as of {@code nowNanos}, and waits for them. */
    void sweepLoops(long nowNanos) throws InterruptedException {
        if (loops != null) {
            for (EventLoop l : loops) {
                l.sweepAt(nowNanos);
            }
        }
    }

    /** Connections served by an event loop since start. */
    public long onEventLoops() {
        return onEventLoops.sum();
    }

    /** Platform threads in the pool now, serving a connection or idle. */
    int platformThreads() {
        return platform == null ? 0 : platform.getPoolSize();
    }

    /**
     * Takes no further connection onto a platform thread; the pool's threads end as their
     * connections end (idle ones at once).
     */
    @Override
    public void close() {
        if (!ownsThreads) {
            return; // the loops and threads are closed with the handler that owns them
        }
        if (platform != null) {
            platform.shutdown();
        }
        if (loops != null) {
            for (EventLoop l : loops) {
                l.close();
            }
        }
    }
}
