package io.edgegate.benchmarks.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop HTTP/1.1 load generator: requests are issued on a fixed schedule (request {@code i}
 * is due at {@code start + i / rate}) whatever the server's answers, over a pool of keep-alive
 * connections, and each latency is measured from the request's <em>due</em> time, not from when
 * it could be sent. A server that stalls for T therefore shows every request due during the
 * stall as late (no coordinated omission), as wrk2 does; wrk (closed loop) is not in Debian's
 * wrk2-less archive, and wrk's own correction is an estimate.
 *
 * <p>Two platform threads, no dependencies, so it also runs as a single source file
 * ({@code java OpenLoop.java ...}, JDK 21+): a sender that parks until the next due time and
 * writes the request on any idle connection (a request that finds none waits, and that wait is
 * part of its latency), and a receiver that reads every connection from one {@link Selector},
 * frames the responses (Content-Length or chunked) and records the latencies in a plain
 * {@code long[]}, sorted once at the end for exact percentiles. One request at a time per
 * connection (no pipelining). The sender's lateness (park overshoot, no idle connection) is
 * reported apart as {@code send_lag}: when its p99 is near the latency p99 the client, not the
 * server, was the limit.
 *
 * <p>Request kinds ({@code --mode}): {@code register} (native {@code POST /v1/instances}, the
 * body of {@code registration.lua}: instance {@code svc-<n % services>-<n>}, {@code n} cycling
 * over {@code pool}, a new {@code rev} each time), {@code etcd-put} (the same body as the value
 * of {@code /edgegate/instances/<id>} through etcd's v3 JSON gateway), {@code heartbeat}
 * ({@code PUT /v1/instances/<id>/heartbeat}), {@code consul-pass} ({@code PUT
 * /v1/agent/check/pass/service:<id>}), {@code get:<path>} (a fixed GET). Heartbeats visit the
 * pool in a stride-7919 permutation, so consecutive requests hit different instances and all
 * of them are renewed every {@code pool / rate} seconds.
 *
 * <p>Extra header fields go on every request: {@code --header 'Name: value'} (repeatable) and
 * {@code --token-file PATH}, which sends the file's content (trimmed) as {@code X-Consul-Token},
 * the gateway's access token, so that the secret is not on the command line. The fields are
 * checked once (a name, a colon, no line breaks) and appended as one pre-built string.
 *
 * <p>Prints one line {@code RESULT key=value ...} (latencies in µs) that the scripts parse:
 * {@code requests} (answered requests due in the measured window), {@code rps} (answers that
 * arrived during the window, per second: below the offered rate when the server fell behind),
 * percentiles, {@code non2xx}, {@code errors}, {@code timeouts}, {@code incomplete},
 * {@code send_lag_*} and {@code gen_cpu_s} (this process's CPU during the window).
 * Requests due in the warm-up are sent but not recorded. Requests still unanswered or unsent at
 * the end (due + timeout) are counted as {@code incomplete} and enter the percentiles with their
 * wait so far, a lower bound: a non-zero count means the percentiles understate.
 */
public final class OpenLoop {
    /** Sends this much ahead of the due time rather than parking for less (a park overshoots ~50 µs). */
    private static final long EARLY_NANOS = 100_000;

    private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
    private static final byte[] CONTENT_LENGTH = "\r\ncontent-length:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "\r\ntransfer-encoding: chunked".getBytes(StandardCharsets.US_ASCII);

    private final URI target;
    private final String mode;
    private final double rate;
    private final long warmupNanos;
    private final long durationNanos;
    private final long timeoutNanos;
    private final int pool;
    private final int services;
    private final String tag;
    private final String hostHeader;
    /** Extra header fields, each as {@code "\r\nName: value"}, appended after Host on every request. */
    private final String extraHeaders;

    private final Conn[] conns;
    private final ArrayBlockingQueue<Conn> idle;
    private final Selector selector;
    private final Recorder latencies;
    private final Recorder sendLags;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong finished = new AtomicLong();
    private long non2xx;
    private long timeouts;
    private long completedMeasured;
    private long incomplete;
    private long answeredInWindow;
    private long startNanos;
    private long measureStartNanos;
    private long endNanos;
    private volatile long scheduled = -1;
    private volatile boolean senderDone;

    /** One keep-alive connection; owned by the sender while idle and writing, by the receiver while busy. */
    private static final class Conn {
        SocketChannel channel;
        ByteBuffer in = ByteBuffer.allocate(16 * 1024);
        volatile boolean closed = true;
        /** A request is out on it; whoever turns it false (answer, error, timeout) hands the connection back. */
        final AtomicBoolean busy = new AtomicBoolean();

        volatile long due;
        volatile long sentAt;
    }

    /** Latencies (ns) of the recorded requests; one writer thread. */
    private static final class Recorder {
        private long[] values;
        private int size;

        Recorder(int capacity) {
            values = new long[Math.max(1024, capacity)];
        }

        void add(long value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, values.length * 2);
            }
            values[size++] = value;
        }

        long[] sorted() {
            long[] copy = Arrays.copyOf(values, size);
            Arrays.sort(copy);
            return copy;
        }
    }

    private OpenLoop(Map<String, String> args, List<String> headers) throws IOException {
        target = URI.create(args.getOrDefault("url", "http://127.0.0.1:8080"));
        mode = args.getOrDefault("mode", "get:/v1/status");
        rate = Double.parseDouble(args.getOrDefault("rate", "1000"));
        warmupNanos =
                TimeUnit.MILLISECONDS.toNanos((long) (1000 * Double.parseDouble(args.getOrDefault("warmup", "3"))));
        durationNanos =
                TimeUnit.MILLISECONDS.toNanos((long) (1000 * Double.parseDouble(args.getOrDefault("duration", "10"))));
        timeoutNanos =
                TimeUnit.MILLISECONDS.toNanos((long) (1000 * Double.parseDouble(args.getOrDefault("timeout", "5"))));
        pool = Integer.parseInt(args.getOrDefault("pool", "10000"));
        services = Integer.parseInt(args.getOrDefault("services", "1000"));
        tag = args.getOrDefault("tag", "ol");
        hostHeader = target.getHost() + ":" + target.getPort();
        List<String> fields = new ArrayList<>(headers);
        if (args.containsKey("token-file")) {
            String token = Files.readString(Path.of(args.get("token-file")), StandardCharsets.UTF_8)
                    .strip();
            if (token.isEmpty()) {
                throw new IllegalArgumentException("token-file is empty: " + args.get("token-file"));
            }
            fields.add("X-Consul-Token: " + token);
        }
        extraHeaders = headerFields(fields);
        int connections = Integer.parseInt(args.getOrDefault("connections", "64"));
        if (rate <= 0 || connections <= 0 || durationNanos <= 0) {
            throw new IllegalArgumentException("rate, connections and duration must be positive");
        }
        selector = Selector.open();
        conns = new Conn[connections];
        idle = new ArrayBlockingQueue<>(connections);
        for (int i = 0; i < connections; i++) {
            conns[i] = new Conn();
            open(conns[i]);
            idle.add(conns[i]);
        }
        int expected = (int) Math.min(Integer.MAX_VALUE - 8, rate * (durationNanos / 1e9) * 1.1 + 1024);
        latencies = new Recorder(expected);
        sendLags = new Recorder(expected);
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        List<String> headers = new ArrayList<>();
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                System.err.println("usage: OpenLoop --url http://127.0.0.1:PORT --mode register|etcd-put|heartbeat"
                        + "|consul-pass|get:/path --rate N --duration S [--warmup S] [--connections N]"
                        + " [--pool N] [--services N] [--timeout S] [--tag T] [--header 'Name: value']..."
                        + " [--token-file PATH]");
                System.exit(2);
            }
            String key = argv[i].substring(2);
            String value = argv[++i];
            if (key.equals("header")) {
                headers.add(value);
            } else {
                args.put(key, value);
            }
        }
        new OpenLoop(args, headers).run();
    }

    /** The header fields as one string of {@code "\r\nName: value"} lines; refuses a malformed one. */
    static String headerFields(List<String> fields) {
        StringBuilder b = new StringBuilder();
        for (String field : fields) {
            int colon = field.indexOf(':');
            if (colon <= 0
                    || field.indexOf('\r') >= 0
                    || field.indexOf('\n') >= 0
                    || !field.substring(0, colon).strip().equals(field.substring(0, colon))) {
                throw new IllegalArgumentException("header must be 'Name: value' on one line: " + field);
            }
            b.append("\r\n")
                    .append(field, 0, colon)
                    .append(": ")
                    .append(field.substring(colon + 1).strip());
        }
        return b.toString();
    }

    private void open(Conn conn) throws IOException {
        SocketChannel channel = SocketChannel.open();
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.connect(new InetSocketAddress(target.getHost(), target.getPort()));
        channel.configureBlocking(false);
        conn.channel = channel;
        conn.in.clear();
        conn.closed = false;
        channel.register(selector, SelectionKey.OP_READ, conn);
        selector.wakeup();
    }

    private void run() throws Exception {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
        measureStartNanos = startNanos + warmupNanos;
        endNanos = measureStartNanos + durationNanos;
        Thread sender = Thread.ofPlatform().name("openloop-sender").start(this::send);
        Thread receiver = Thread.ofPlatform().name("openloop-receiver").start(this::receive);
        LockSupport.parkNanos(Math.max(0, measureStartNanos - System.nanoTime()));
        long cpuStart = os.getProcessCpuTime();
        LockSupport.parkNanos(Math.max(0, endNanos - System.nanoTime()));
        long cpuEnd = os.getProcessCpuTime();
        sender.join();
        receiver.join();
        report((cpuEnd - cpuStart) / 1e9);
    }

    // ---------------------------------------------------------------- sender

    private void send() {
        long deadline = endNanos + timeoutNanos;
        long i = 0;
        try {
            for (; ; i++) {
                long due = startNanos + (long) (i * 1e9 / rate);
                if (due >= endNanos) {
                    break;
                }
                long now = System.nanoTime();
                if (due - now > EARLY_NANOS) {
                    // Requests due within EARLY_NANOS go together; their latency is counted from
                    // the earlier of due and sent, so sending early never shortens it.
                    LockSupport.parkNanos(due - now - EARLY_NANOS / 2);
                }
                Conn conn = idle.poll();
                if (conn == null) {
                    conn = idle.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (conn == null) {
                        break; // no connection came back before the end: the rest is incomplete
                    }
                }
                try {
                    if (conn.closed) {
                        open(conn);
                    }
                    long at = System.nanoTime();
                    conn.due = due;
                    conn.sentAt = at;
                    conn.busy.set(true);
                    ByteBuffer request = ByteBuffer.wrap(request(i));
                    while (request.hasRemaining()) {
                        if (conn.channel.write(request) == 0) {
                            Thread.onSpinWait();
                        }
                    }
                    sent.incrementAndGet();
                    if (due >= measureStartNanos) {
                        sendLags.add(Math.max(0, at - due));
                    }
                } catch (IOException e) {
                    sent.incrementAndGet();
                    closeQuietly(conn);
                    if (conn.busy.compareAndSet(true, false)) {
                        errors.incrementAndGet();
                        finished.incrementAndGet();
                        idle.offer(conn);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            scheduled = i;
            senderDone = true;
            selector.wakeup();
        }
    }

    private byte[] request(long i) {
        StringBuilder b = new StringBuilder(256);
        if (mode.startsWith("get:")) {
            b.append("GET ")
                    .append(mode, 4, mode.length())
                    .append(" HTTP/1.1\r\nHost: ")
                    .append(hostHeader)
                    .append(extraHeaders);
            return b.append("\r\n\r\n").toString().getBytes(StandardCharsets.US_ASCII);
        }
        switch (mode) {
            case "heartbeat", "consul-pass" -> {
                long n = (i * 7919) % pool;
                String id = "svc-" + (n % services) + "-" + n;
                b.append("PUT ")
                        .append(
                                mode.equals("heartbeat")
                                        ? "/v1/instances/" + id + "/heartbeat"
                                        : "/v1/agent/check/pass/service:" + id)
                        .append(" HTTP/1.1\r\nHost: ")
                        .append(hostHeader)
                        .append(extraHeaders)
                        .append("\r\nContent-Length: 0\r\n\r\n");
                return b.toString().getBytes(StandardCharsets.US_ASCII);
            }
            case "register", "etcd-put" -> {
                long n = i % pool;
                long service = n % services;
                String id = "svc-" + service + "-" + n;
                String body = "{\"service\":\"svc-" + service + "\",\"id\":\"" + id + "\",\"address\":\"10.0."
                        + ((n / 256) % 256) + "." + (n % 256)
                        + "\",\"port\":8080,\"tags\":[\"version:v1\"],\"meta\":{\"region\":\"r1\",\"rev\":\"" + tag
                        + "-" + i + "\"}}";
                String path = "/v1/instances";
                if (mode.equals("etcd-put")) {
                    Base64.Encoder base64 = Base64.getEncoder();
                    body = "{\"key\":\""
                            + base64.encodeToString(("/edgegate/instances/" + id).getBytes(StandardCharsets.UTF_8))
                            + "\",\"value\":\"" + base64.encodeToString(body.getBytes(StandardCharsets.UTF_8))
                            + "\"}";
                    path = "/v3/kv/put";
                }
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                b.append("POST ")
                        .append(path)
                        .append(" HTTP/1.1\r\nHost: ")
                        .append(hostHeader)
                        .append(extraHeaders)
                        .append("\r\nContent-Type: application/json\r\nContent-Length: ")
                        .append(bytes.length)
                        .append("\r\n\r\n")
                        .append(body);
                return b.toString().getBytes(StandardCharsets.UTF_8);
            }
            default -> throw new IllegalArgumentException("unknown mode: " + mode);
        }
    }

    // ---------------------------------------------------------------- receiver

    private void receive() {
        long lastSweep = System.nanoTime();
        try {
            while (true) {
                selector.select(50);
                long now = System.nanoTime();
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    if (key.isValid() && key.isReadable()) {
                        read((Conn) key.attachment(), now);
                    }
                }
                if (now - lastSweep > TimeUnit.MILLISECONDS.toNanos(20)) {
                    lastSweep = now;
                    sweepTimeouts(now);
                }
                if (senderDone && finished.get() >= sent.get()) {
                    break;
                }
                if (senderDone && now - (endNanos + timeoutNanos) > 0) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // What is still out at the end: counted, and recorded with its wait so far (a lower bound).
        long now = System.nanoTime();
        for (Conn conn : conns) {
            if (conn.busy.get()) {
                incomplete++;
                if (conn.due >= measureStartNanos) {
                    latencies.add(now - conn.due);
                }
            }
        }
        long unsent = 0;
        for (long i = scheduled; ; i++) {
            long due = startNanos + (long) (i * 1e9 / rate);
            if (due >= endNanos) {
                break;
            }
            unsent++;
            if (due >= measureStartNanos) {
                latencies.add(now - due);
            }
        }
        incomplete += unsent;
    }

    private void read(Conn conn, long now) {
        int n;
        try {
            if (!conn.in.hasRemaining()) {
                conn.in = ByteBuffer.allocate(conn.in.capacity() * 2).put(conn.in.flip());
            }
            n = conn.channel.read(conn.in);
        } catch (IOException e) {
            n = -1;
        }
        if (n < 0) {
            fail(conn, false);
            return;
        }
        if (!conn.busy.get()) {
            conn.in.clear();
            return; // bytes nobody asked for; ignored
        }
        int status = complete(conn.in);
        if (status < 0) {
            return;
        }
        conn.in.clear();
        if (now >= measureStartNanos && now < endNanos) {
            answeredInWindow++;
        }
        long due = conn.due;
        if (due >= measureStartNanos && due < endNanos) {
            latencies.add(now - Math.min(due, conn.sentAt));
            completedMeasured++;
            if (status < 200 || status >= 300) {
                non2xx++;
            }
        }
        if (conn.busy.compareAndSet(true, false)) {
            finished.incrementAndGet();
            idle.offer(conn);
        }
    }

    private void sweepTimeouts(long now) {
        for (Conn conn : conns) {
            if (conn.busy.get() && !conn.closed && now - conn.sentAt > timeoutNanos) {
                fail(conn, true);
            }
        }
    }

    /** A broken or timed-out connection: the request in flight is an error, the connection reopens on next use. */
    private void fail(Conn conn, boolean timedOut) {
        closeQuietly(conn);
        if (conn.busy.compareAndSet(true, false)) {
            if (timedOut) {
                timeouts++;
            } else {
                errors.incrementAndGet();
            }
            finished.incrementAndGet();
            idle.offer(conn);
        }
    }

    private static void closeQuietly(Conn conn) {
        conn.closed = true;
        try {
            if (conn.channel != null) {
                conn.channel.close();
            }
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** The status of a complete response in {@code in} (position = bytes read), or -1 if incomplete. */
    static int complete(ByteBuffer in) {
        byte[] a = in.array();
        int len = in.position();
        int headerEnd = indexOf(a, 0, len, CRLFCRLF);
        if (headerEnd < 0 || len < 12) {
            return -1;
        }
        int status = (a[9] - '0') * 100 + (a[10] - '0') * 10 + (a[11] - '0');
        int bodyStart = headerEnd + 4;
        int cl = indexOfIgnoreCase(a, 0, headerEnd, CONTENT_LENGTH);
        if (cl >= 0) {
            long length = 0;
            for (int i = cl + CONTENT_LENGTH.length; i < headerEnd && a[i] != '\r'; i++) {
                if (a[i] >= '0' && a[i] <= '9') {
                    length = length * 10 + (a[i] - '0');
                }
            }
            return len >= bodyStart + length ? status : -1;
        }
        if (indexOfIgnoreCase(a, 0, headerEnd, CHUNKED) >= 0) {
            // Enough for these servers' small bodies: the last chunk is "0\r\n\r\n".
            int last = indexOf(a, bodyStart, len, "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            boolean atStart = last == bodyStart || (last > bodyStart && a[last - 1] == '\n');
            return last >= 0 && atStart ? status : -1;
        }
        return status == 204 || status == 304 || (status >= 100 && status < 200) ? status : -1;
    }

    /** Like {@link #indexOf} for a lower-case ASCII needle, ignoring the case of letters in {@code a}. */
    private static int indexOfIgnoreCase(byte[] a, int from, int to, byte[] needle) {
        outer:
        for (int i = from; i <= to - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                int c = a[i + j];
                if (c >= 'A' && c <= 'Z') {
                    c += 'a' - 'A';
                }
                if (c != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static int indexOf(byte[] a, int from, int to, byte[] needle) {
        outer:
        for (int i = from; i <= to - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (a[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    // ---------------------------------------------------------------- report

    private void report(double cpuSeconds) {
        long[] lat = latencies.sorted();
        long[] lag = sendLags.sorted();
        double seconds = durationNanos / 1e9;
        List<String> out = new ArrayList<>();
        out.add("mode=" + mode);
        out.add(String.format(Locale.ROOT, "offered_rps=%.0f", rate));
        out.add("connections=" + conns.length);
        out.add("requests=" + completedMeasured);
        // Answers that arrived during the measured window: the rate the server kept up with.
        out.add(String.format(Locale.ROOT, "rps=%.1f", answeredInWindow / seconds));
        out.add("p50_us=" + micros(lat, 0.50));
        out.add("p90_us=" + micros(lat, 0.90));
        out.add("p99_us=" + micros(lat, 0.99));
        out.add("p999_us=" + micros(lat, 0.999));
        out.add("max_us=" + (lat.length == 0 ? 0 : lat[lat.length - 1] / 1000));
        out.add("non2xx=" + non2xx);
        out.add("errors=" + errors.get());
        out.add("timeouts=" + timeouts);
        out.add("incomplete=" + incomplete);
        out.add("send_lag_p99_us=" + micros(lag, 0.99));
        out.add("send_lag_max_us=" + (lag.length == 0 ? 0 : lag[lag.length - 1] / 1000));
        out.add(String.format(Locale.ROOT, "gen_cpu_s=%.2f", cpuSeconds));
        System.out.println("RESULT " + String.join(" ", out));
    }

    /** The value at quantile q (nearest rank), in µs. */
    private static long micros(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1000;
    }
}
