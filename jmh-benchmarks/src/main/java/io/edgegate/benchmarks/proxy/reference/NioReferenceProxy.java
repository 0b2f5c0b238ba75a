package io.edgegate.benchmarks.proxy.reference;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A measurement reference, not the product: a minimal HTTP/1.1 reverse proxy on the JDK alone,
 * to show what an event-driven Java data path costs on a machine, beside nginx and the gateway's
 * lean proxy ({@code proxy-compare.sh}'s {@code java-nio} and {@code java-vthreads} targets). It
 * forwards every request whose path starts with a prefix to one upstream, the prefix cut, over
 * keep-alive upstream connections; it has no routing, retries beyond one resend on a stale pooled
 * connection, timeouts, limits, access rules, TLS or metrics.
 *
 * <p>Two execution models over the same parsing and forwarding code:
 * <ul>
 *   <li>event loops ({@link EventLoop}): one platform thread per loop, one per core by default,
 *       each with its own selector, connections and upstream pool; non-blocking accept, read
 *       and write; sockets registered once with {@code OP_READ} kept on, writes attempted at once
 *       and {@code OP_WRITE} only while one is partial;
 *   <li>virtual threads ({@link BlockingConnection}): one per client connection, blocking
 *       channels, one shared upstream pool.
 * </ul>
 *
 * <p>Request heads are parsed just enough to forward them (request line, {@code Content-Length},
 * {@code Transfer-Encoding}, {@code Connection}); answers with {@code Content-Length}, chunked,
 * or until the upstream closes are copied through byte for byte. A head that cannot be forwarded
 * gets 400, 404 (outside the prefix), 431 (larger than 16 KiB) or 501 (a transfer coding other
 * than chunked); an upstream that cannot be reached or fails before answering, 502.
 *
 * <p>Usage: {@code NioReferenceProxy PORT UPSTREAM_HOST:PORT PREFIX [LOOPS|vthreads]}; listens on
 * 127.0.0.1, prints {@code LISTENING port} once started, then runs until terminated.
 *
 * <p>Thread-safe to start and close; the loops own everything else.
 */
public final class NioReferenceProxy implements AutoCloseable {
    private final ServerSocketChannel listener;
    private final List<EventLoop> loops;
    private final List<Thread> threads;

    private NioReferenceProxy(ServerSocketChannel listener, List<EventLoop> loops, List<Thread> threads) {
        this.listener = listener;
        this.loops = loops;
        this.threads = threads;
    }

    /** Starts the event-loop proxy with {@code loopCount} loops, listening on {@code listen}. */
    public static NioReferenceProxy start(
            InetSocketAddress listen, InetSocketAddress upstream, String prefix, int loopCount) throws IOException {
        if (loopCount < 1) {
            throw new IllegalArgumentException("loops must be at least 1: loops=" + loopCount);
        }
        ServerSocketChannel listener = bind(listen);
        byte[] prefixBytes = prefixBytes(prefix);
        EventLoop[] all = new EventLoop[loopCount];
        for (int i = 0; i < loopCount; i++) {
            all[i] = new EventLoop(upstream, prefixBytes);
        }
        all[0].accept(listener, all);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < loopCount; i++) {
            threads.add(Thread.ofPlatform().name("nio-loop-" + i).start(all[i]));
        }
        return new NioReferenceProxy(listener, List.of(all), threads);
    }

    /** Starts the virtual-thread proxy (a virtual thread per client connection), listening on {@code listen}. */
    public static NioReferenceProxy startVirtualThreads(
            InetSocketAddress listen, InetSocketAddress upstream, String prefix) throws IOException {
        ServerSocketChannel listener = bind(listen);
        byte[] prefixBytes = prefixBytes(prefix);
        ConcurrentLinkedDeque<BlockingConnection.Upstream> pool = new ConcurrentLinkedDeque<>();
        Thread acceptor = Thread.ofPlatform().name("vthread-acceptor").start(() -> {
            try {
                while (true) {
                    SocketChannel channel = listener.accept();
                    Thread.ofVirtual().start(new BlockingConnection(channel, upstream, prefixBytes, pool));
                }
            } catch (IOException e) {
                // closed
            }
        });
        return new NioReferenceProxy(listener, List.of(), List.of(acceptor));
    }

    public int port() {
        try {
            return ((InetSocketAddress) listener.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new IllegalStateException("listener closed", e);
        }
    }

    @Override
    public void close() {
        EventLoop.closeQuietly(listener);
        for (EventLoop loop : loops) {
            loop.stop();
        }
        try {
            for (Thread thread : threads) {
                thread.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: NioReferenceProxy PORT UPSTREAM_HOST:PORT PREFIX [LOOPS|vthreads]");
            System.exit(2);
        }
        InetSocketAddress listen = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0]));
        int colon = args[1].lastIndexOf(':');
        InetSocketAddress upstream =
                new InetSocketAddress(args[1].substring(0, colon), Integer.parseInt(args[1].substring(colon + 1)));
        String mode =
                args.length == 4 ? args[3] : String.valueOf(Runtime.getRuntime().availableProcessors());
        NioReferenceProxy proxy = mode.equals("vthreads")
                ? startVirtualThreads(listen, upstream, args[2])
                : start(listen, upstream, args[2], Integer.parseInt(mode));
        System.out.println(
                "LISTENING " + proxy.port() + " " + (mode.equals("vthreads") ? "vthreads" : mode + " loops"));
    }

    private static ServerSocketChannel bind(InetSocketAddress listen) throws IOException {
        ServerSocketChannel listener = ServerSocketChannel.open();
        try {
            listener.bind(listen, 1024);
            return listener;
        } catch (IOException e) {
            listener.close();
            throw e;
        }
    }

    private static byte[] prefixBytes(String prefix) {
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        if (!p.isEmpty() && !p.startsWith("/")) {
            throw new IllegalArgumentException("prefix must start with /: prefix=" + prefix);
        }
        return p.getBytes(StandardCharsets.ISO_8859_1);
    }
}
