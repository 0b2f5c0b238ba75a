package io.edgegate.benchmarks.proxy.reference;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

/**
 * One event loop of the reference proxy: a platform thread with its own selector, the client
 * connections handed to it, their upstream connections and its own pool of idle keep-alive
 * upstream connections. Everything a loop owns is touched by its thread only; the one way in from
 * another thread is {@link #hand}, a many-to-one queue of accepted channels plus a selector
 * wake-up. The first loop also owns the listening channel and deals accepted connections to the
 * loops in turn.
 *
 * <p>Sockets are registered once with {@code OP_READ} and keep it; {@code OP_WRITE} is added only
 * while a write is partial (and {@code OP_READ} taken off the side whose bytes wait for it), so a
 * request costs no {@code epoll_ctl} in the usual case.
 */
final class EventLoop implements Runnable {
    /** Bytes of each connection's buffers (client in, request out, upstream in). */
    static final int BUFFER = 16 * 1024;

    private static final int MAX_IDLE = 256;

    final Selector selector;
    final InetSocketAddress upstream;
    final byte[] prefix;
    private final ConcurrentLinkedQueue<SocketChannel> handed = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    private final Consumer<SelectionKey> dispatch = this::dispatch;
    private volatile boolean running = true;
    private ServerSocketChannel listener;
    private EventLoop[] loops;
    private int next;

    EventLoop(InetSocketAddress upstream, byte[] prefix) throws IOException {
        this.selector = Selector.open();
        this.upstream = upstream;
        this.prefix = prefix;
    }

    /** Makes this loop the acceptor of {@code channel} for {@code all} loops; before the thread starts. */
    void accept(ServerSocketChannel channel, EventLoop[] all) throws IOException {
        listener = channel;
        loops = all;
        channel.configureBlocking(false);
        channel.register(selector, SelectionKey.OP_ACCEPT, channel);
    }

    /** Hands an accepted channel to this loop; any thread. */
    void hand(SocketChannel channel) {
        handed.add(channel);
        selector.wakeup();
    }

    /** Stops the loop; any thread. Its thread closes every channel it owns. */
    void stop() {
        running = false;
        selector.wakeup();
    }

    @Override
    public void run() {
        try {
            while (running) {
                selector.select(dispatch);
                SocketChannel channel;
                while ((channel = handed.poll()) != null) {
                    register(channel);
                }
            }
        } catch (IOException e) {
            System.err.println("event loop stopped: " + e);
        } finally {
            for (SelectionKey key : selector.keys()) {
                closeQuietly(key.channel());
            }
            SocketChannel channel;
            while ((channel = handed.poll()) != null) {
                closeQuietly(channel);
            }
            closeQuietly(selector);
        }
    }

    private void dispatch(SelectionKey key) {
        if (!key.isValid()) {
            return; // cancelled by an earlier key of the same selection
        }
        Object attachment = key.attachment();
        if (attachment instanceof ClientConnection client) {
            client.ready(key.readyOps());
        } else if (attachment instanceof UpstreamConnection up) {
            up.ready(key.readyOps());
        } else {
            acceptAll();
        }
    }

    private void acceptAll() {
        try {
            SocketChannel channel;
            while ((channel = listener.accept()) != null) {
                EventLoop target = loops[next++ % loops.length];
                if (target == this) {
                    register(channel);
                } else {
                    target.hand(channel);
                }
            }
        } catch (IOException e) {
            System.err.println("accept failed: " + e);
        }
    }

    private void register(SocketChannel channel) {
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ClientConnection client = new ClientConnection(this, channel);
            client.key = channel.register(selector, SelectionKey.OP_READ, client);
        } catch (IOException e) {
            closeQuietly(channel);
        }
    }

    /** An idle pooled upstream connection (the most recently used), or a new one being connected. */
    UpstreamConnection acquire() throws IOException {
        UpstreamConnection pooled = idle.pollLast();
        if (pooled != null) {
            pooled.reused = true;
            return pooled;
        }
        return connect();
    }

    /** A new upstream connection, connected or connecting (its request goes out once connected). */
    UpstreamConnection connect() throws IOException {
        SocketChannel channel = SocketChannel.open();
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            UpstreamConnection up = new UpstreamConnection(this, channel);
            boolean connected = channel.connect(upstream);
            up.register(selector, connected);
            return up;
        } catch (IOException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** Takes back an upstream connection whose exchange ended cleanly. */
    void release(UpstreamConnection up) {
        if (idle.size() >= MAX_IDLE) {
            up.close();
        } else {
            idle.addLast(up);
        }
    }

    /** Forgets a pooled connection that the upstream closed. */
    void forget(UpstreamConnection up) {
        idle.remove(up);
    }

    static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception ignored) {
            // closing: nothing left to do with it
        }
    }
}
