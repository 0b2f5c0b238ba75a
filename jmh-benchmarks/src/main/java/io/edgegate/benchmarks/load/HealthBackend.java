package io.edgegate.benchmarks.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The cheapest health endpoint we could write, for {@code health-scale.sh}: one thread, one
 * {@link Selector}, HTTP/1.1 keep-alive, every request answered {@code 200 ok} from a constant
 * buffer (whatever its path), and counted. Serves {@code --ports N} data ports on 127.0.0.1 (HTTP
 * checks and TCP checks alike: a TCP check is an accepted connection, counted apart) and one
 * control port. The run prints {@code PORTS p0 p1 ... CONTROL pc} once listening.
 *
 * <p>Control ({@code GET}, answered and closed): {@code /stats} gives {@code requests=a,b,..
 * accepts=a,b,..} per data port and the distribution of the intervals between two requests for
 * the same target (port and path: one instance's probes), over the requests since the last
 * {@code /reset}: an instance probed every second shows intervals near 1000 ms, a scheduler that
 * drifts or bunches shows the spread; {@code /fail/i} makes port {@code i} answer {@code 500 fail};
 * {@code /close/i} closes port {@code i}'s listener and its connections (new connections are
 * refused, as with a dead process); {@code /ok/i} undoes either. Responses carry a constant body,
 * so a probe's output never changes while its status does not.
 */
public final class HealthBackend {
    private static final byte[] OK = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FAIL =
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nfail"
                    .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = {'\r', '\n', '\r', '\n'};

    private final Selector selector;
    private final int[] ports;
    private final ServerSocketChannel[] listeners;
    private final boolean[] failing;
    private final long[] requests;
    private final long[] accepts;
    private final List<Set<SocketChannel>> open = new ArrayList<>();
    private final ServerSocketChannel control;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
    /** When each request target (path) was last asked for, and the intervals seen since the last reset. */
    private final Map<String, Long> lastSeen = new HashMap<>();

    private long[] intervals = new long[1 << 16];
    private int intervalCount;

    /**
     * Per connection: its data port (-1 for control), how much of {@code \r\n\r\n} it has seen,
     * the request line being read, unwritten bytes.
     */
    private static final class Conn {
        final int port;
        int matched;
        final StringBuilder line = new StringBuilder();
        boolean inLine = true;
        ByteBuffer pending;
        final StringBuilder controlRequest = new StringBuilder();

        Conn(int port) {
            this.port = port;
        }
    }

    private HealthBackend(int count) throws IOException {
        selector = Selector.open();
        ports = new int[count];
        listeners = new ServerSocketChannel[count];
        failing = new boolean[count];
        requests = new long[count];
        accepts = new long[count];
        for (int i = 0; i < count; i++) {
            open.add(new HashSet<>());
            listen(i, 0);
        }
        control = ServerSocketChannel.open();
        control.bind(new InetSocketAddress("127.0.0.1", 0));
        control.configureBlocking(false);
        control.register(selector, SelectionKey.OP_ACCEPT, -1);
    }

    private void listen(int i, int port) throws IOException {
        ServerSocketChannel listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.bind(new InetSocketAddress("127.0.0.1", port), 4096);
        listener.configureBlocking(false);
        listener.register(selector, SelectionKey.OP_ACCEPT, i);
        listeners[i] = listener;
        ports[i] = ((InetSocketAddress) listener.getLocalAddress()).getPort();
    }

    public static void main(String[] args) throws IOException {
        int count = 4;
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--ports")) {
                count = Integer.parseInt(args[i + 1]);
            }
        }
        HealthBackend backend = new HealthBackend(count);
        StringBuilder line = new StringBuilder("PORTS");
        for (int port : backend.ports) {
            line.append(' ').append(port);
        }
        line.append(" CONTROL ").append(((InetSocketAddress) backend.control.getLocalAddress()).getPort());
        System.out.println(line);
        System.out.flush();
        backend.serve();
    }

    private void serve() throws IOException {
        while (true) {
            selector.select();
            Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext()) {
                SelectionKey key = keys.next();
                keys.remove();
                if (!key.isValid()) {
                    continue;
                }
                try {
                    if (key.isAcceptable()) {
                        accept(key);
                    } else {
                        if (key.isWritable()) {
                            flush(key);
                        }
                        if (key.isValid() && key.isReadable()) {
                            read(key);
                        }
                    }
                } catch (IOException e) {
                    close(key);
                }
            }
        }
    }

    private void accept(SelectionKey key) throws IOException {
        int i = (Integer) key.attachment();
        SocketChannel channel;
        while ((channel = ((ServerSocketChannel) key.channel()).accept()) != null) {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.register(selector, SelectionKey.OP_READ, new Conn(i));
            if (i >= 0) {
                accepts[i]++;
                open.get(i).add(channel);
            }
        }
    }

    private void read(SelectionKey key) throws IOException {
        SocketChannel channel = (SocketChannel) key.channel();
        Conn conn = (Conn) key.attachment();
        readBuffer.clear();
        int n = channel.read(readBuffer);
        if (n < 0) {
            close(key);
            return;
        }
        readBuffer.flip();
        if (conn.port < 0) {
            while (readBuffer.hasRemaining()) {
                conn.controlRequest.append((char) readBuffer.get());
            }
            int end = conn.controlRequest.indexOf("\r\n\r\n");
            if (end >= 0) {
                answerControl(key, conn.controlRequest.substring(0, end));
            }
            return;
        }
        long now = System.nanoTime();
        while (readBuffer.hasRemaining()) {
            byte b = readBuffer.get();
            if (conn.inLine) {
                if (b == '\r') {
                    conn.inLine = false;
                } else if (conn.line.length() < 512) {
                    conn.line.append((char) b);
                }
            }
            if (b == END[conn.matched]) {
                if (++conn.matched == END.length) {
                    conn.matched = 0;
                    answer(key, conn, now);
                }
            } else {
                conn.matched = b == '\r' ? 1 : 0;
            }
        }
    }

    /** One complete request: counted, its interval since the same target's previous request recorded, answered. */
    private void answer(SelectionKey key, Conn conn, long now) throws IOException {
        requests[conn.port]++;
        String line = conn.line.toString();
        conn.line.setLength(0);
        conn.inLine = true;
        int from = line.indexOf(' ');
        int to = line.indexOf(' ', from + 1);
        String target = from < 0 || to < 0 ? line : line.substring(from + 1, to);
        Long previous = lastSeen.put(conn.port + target, now);
        if (previous != null) {
            if (intervalCount == intervals.length) {
                intervals = Arrays.copyOf(intervals, intervals.length * 2);
            }
            intervals[intervalCount++] = now - previous;
        }
        write(key, ByteBuffer.wrap(failing[conn.port] ? FAIL : OK));
    }

    /** p50, p99 and max (ms) of the intervals between two requests for the same target, and their count. */
    private String intervalStats() {
        long[] sorted = Arrays.copyOf(intervals, intervalCount);
        Arrays.sort(sorted);
        if (sorted.length == 0) {
            return "intervals=0 interval_p50_ms=0 interval_p99_ms=0 interval_max_ms=0";
        }
        return String.format(
                Locale.ROOT,
                "intervals=%d interval_p1_ms=%.1f interval_p50_ms=%.1f interval_p99_ms=%.1f interval_max_ms=%.1f",
                sorted.length,
                sorted[(int) (0.01 * (sorted.length - 1))] / 1e6,
                sorted[(sorted.length - 1) / 2] / 1e6,
                sorted[(int) Math.ceil(0.99 * sorted.length) - 1] / 1e6,
                sorted[sorted.length - 1] / 1e6);
    }

    private void write(SelectionKey key, ByteBuffer bytes) throws IOException {
        Conn conn = (Conn) key.attachment();
        if (conn.pending != null) {
            ByteBuffer joined = ByteBuffer.allocate(conn.pending.remaining() + bytes.remaining());
            conn.pending = joined.put(conn.pending).put(bytes).flip();
            return;
        }
        ((SocketChannel) key.channel()).write(bytes);
        if (bytes.hasRemaining()) {
            conn.pending = ByteBuffer.allocate(bytes.remaining()).put(bytes).flip();
            key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        }
    }

    private void flush(SelectionKey key) throws IOException {
        Conn conn = (Conn) key.attachment();
        if (conn.pending != null) {
            ((SocketChannel) key.channel()).write(conn.pending);
            if (conn.pending.hasRemaining()) {
                return;
            }
            conn.pending = null;
        }
        key.interestOps(SelectionKey.OP_READ);
    }

    private void close(SelectionKey key) {
        key.cancel();
        Object attachment = key.attachment();
        if (attachment instanceof Conn conn && conn.port >= 0) {
            open.get(conn.port).remove(key.channel());
        }
        try {
            key.channel().close();
        } catch (IOException e) {
            // closed anyway
        }
    }

    private void answerControl(SelectionKey key, String request) throws IOException {
        String[] parts = request.split(" ", 3);
        String path = parts.length > 1 ? parts[1] : "/";
        String body;
        int status = 200;
        try {
            if (path.equals("/stats")) {
                body = "requests=" + join(requests) + " accepts=" + join(accepts) + " " + intervalStats() + "\n";
            } else if (path.equals("/reset")) {
                intervalCount = 0;
                body = "reset\n";
            } else if (path.startsWith("/fail/")) {
                failing[index(path)] = true;
                body = "failing " + index(path) + "\n";
            } else if (path.startsWith("/close/")) {
                int i = index(path);
                if (listeners[i] != null) {
                    listeners[i].keyFor(selector).cancel();
                    listeners[i].close();
                    listeners[i] = null;
                    for (SocketChannel channel : List.copyOf(open.get(i))) {
                        close(channel.keyFor(selector));
                    }
                }
                body = "closed " + i + "\n";
            } else if (path.startsWith("/ok/")) {
                int i = index(path);
                failing[i] = false;
                if (listeners[i] == null) {
                    selector.selectNow(); // let the cancelled key go before the port is bound again
                    listen(i, ports[i]);
                }
                body = "ok " + i + "\n";
            } else {
                status = 404;
                body = "unknown: " + path + "\n";
            }
        } catch (RuntimeException e) {
            status = 400;
            body = e + "\n";
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + (status == 200 ? " OK" : " Error") + "\r\nContent-Type: text/plain\r\n"
                + "Content-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n";
        ByteBuffer out = ByteBuffer.allocate(head.length() + bytes.length)
                .put(head.getBytes(StandardCharsets.US_ASCII))
                .put(bytes)
                .flip();
        SocketChannel channel = (SocketChannel) key.channel();
        channel.configureBlocking(false);
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (out.hasRemaining() && System.nanoTime() < deadline) {
            channel.write(out);
        }
        close(key);
    }

    private int index(String path) {
        int i = Integer.parseInt(path.substring(path.lastIndexOf('/') + 1));
        if (i < 0 || i >= ports.length) {
            throw new IllegalArgumentException("no data port " + i + " (0.." + (ports.length - 1) + ")");
        }
        return i;
    }

    private static String join(long[] values) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            b.append(i == 0 ? "" : ",").append(values[i]);
        }
        return b.toString();
    }
}
