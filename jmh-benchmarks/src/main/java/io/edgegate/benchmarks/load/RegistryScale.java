package io.edgegate.benchmarks.load;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Registrations into one large service over HTTP, the scenarios of {@code registration-scale.sh}:
 * JDK only, one source file ({@code java RegistryScale.java ...} or compiled with {@code javac}).
 * Every request carries the gateway's management token ({@code --token-file}, sent as
 * {@code X-Consul-Token}).
 *
 * <ul>
 *   <li>{@code --mode fill}: registers {@code --count} instances of {@code --service} through
 *       {@code POST /v1/instances/batch} ({@code --batch} per request, in order, on
 *       {@code --connections} connections, default one: each sends the next batch when it is free), ids
 *       {@code <service>-<prefix>-<n>}; with {@code --ttl} every other instance has a TTL check
 *       and the others none. Prints the time it took, from the first request sent to the last
 *       answer read (the bodies are built before); {@code --timeline 1} also prints when each tenth
 *       of the batches had been answered (where a fresh gateway's fill spends its time).
 *   <li>{@code --mode closed}: {@code --connections} keep-alive connections, each sending one
 *       registration of a new instance (a unique id) as soon as the previous one is answered, for
 *       {@code --warmup} then {@code --duration} seconds: the saturated rate of unique single
 *       registrations into the service, and their latencies.
 *   <li>{@code --mode open}: a fixed schedule (request {@code i} due at {@code start + i / rate},
 *       latency from its due time, so a stall shows on every request due during it): the steady
 *       traffic of the filled instances, {@code --rate} per second over the {@code --pool} ids of
 *       the fill, even ones heartbeating ({@code PUT /v1/instances/{id}/heartbeat}) and odd ones
 *       re-registering unchanged (what an agent's anti-entropy sends), and at {@code --burst-at}
 *       seconds a burst of {@code --burst} new instances at {@code --burst-rate} per second. The
 *       requests wait in one queue for the first free of {@code --connections} connections, and
 *       that wait counts; with {@code --burst-connections n} the burst has {@code n} connections
 *       of its own (new agents are other clients than the ones heartbeating), so its requests,
 *       which wait for durability, do not take the steady traffic's connections. Every request
 *       is built before the schedule starts; the first {@code --warmup} seconds (default 2) of
 *       steady traffic are sent but not recorded. With {@code --slow-ms t}, a {@code TIMELINE} line
 *       per class also says when its requests slower than {@code t} ms were due, per 250 ms of the
 *       recorded window: what a stall (a pause, a compilation, the machine) shows as.
 * </ul>
 *
 * <p>Prints one {@code RESULT key=value ...} line per class of request (latencies in µs, exact
 * percentiles from a sorted array): {@code class}, {@code requests}, {@code rps}, {@code p50},
 * {@code p90}, {@code p99}, {@code p999}, {@code max}, {@code non2xx}, {@code errors}.
 */
public final class RegistryScale {
    private final URI target;
    private final String token;
    private final String service;
    private final String prefix;
    private final Map<String, String> args;

    private RegistryScale(Map<String, String> args) throws IOException {
        this.args = args;
        this.target = URI.create(arg("url", "http://127.0.0.1:8080"));
        String file = args.get("token-file");
        this.token = file == null
                ? null
                : Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
        this.service = arg("service", "big");
        this.prefix = arg("prefix", "i");
    }

    private String arg(String name, String fallback) {
        return args.getOrDefault(name, fallback);
    }

    private long longArg(String name, long fallback) {
        return Long.parseLong(arg(name, Long.toString(fallback)));
    }

    private double doubleArg(String name, double fallback) {
        return Double.parseDouble(arg(name, Double.toString(fallback)));
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value: " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[i + 1]);
        }
        RegistryScale scale = new RegistryScale(args);
        switch (scale.arg("mode", "")) {
            case "fill" -> scale.fill();
            case "closed" -> scale.closed();
            case "open" -> scale.open();
            default ->
                throw new IllegalArgumentException(
                        "usage: RegistryScale --mode fill|closed|open --url URL --token-file FILE --service NAME ...");
        }
    }

    // ---------------------------------------------------------------- requests

    /**
     * A registration of instance {@code n}. No {@code model} metadata: the gateway scrapes an
     * instance that advertises a model as an inference engine, and these addresses are not
     * loopback (nothing may be sent there); the registry is what is measured.
     */
    private String instanceJson(String id, int n, String ttl) {
        String check = ttl == null ? "" : ",\"check\":{\"ttl\":\"" + ttl + "\"}";
        return "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"10." + (n >>> 16 & 0xFF) + "."
                + (n >>> 8 & 0xFF) + "." + (n & 0xFF) + "\",\"port\":8080,\"tags\":[\"version:v1\"],"
                + "\"meta\":{\"region\":\"r1\"}" + check + "}";
    }

    private String filledId(int n) {
        return service + "-" + prefix + "-" + n;
    }

    private byte[] request(String method, String path, String body) {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder b = new StringBuilder(256)
                .append(method)
                .append(' ')
                .append(path)
                .append(" HTTP/1.1\r\nHost: ")
                .append(target.getHost())
                .append(':')
                .append(target.getPort());
        if (token != null) {
            b.append("\r\nX-Consul-Token: ").append(token);
        }
        if (body != null) {
            b.append("\r\nContent-Type: application/json");
        }
        b.append("\r\nContent-Length: ").append(content.length).append("\r\n\r\n");
        byte[] head = b.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(head, head.length + content.length);
        System.arraycopy(content, 0, all, head.length, content.length);
        return all;
    }

    /** Where the blank line ending an answer's head starts in {@code a[from, to)}, or -1 while it has not arrived. */
    private static int headEnd(byte[] a, int from, int to) {
        for (int i = from; i + 3 < to; i++) {
            if (a[i] == '\r' && a[i + 1] == '\n' && a[i + 2] == '\r' && a[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** The status code of an answer's head ({@code HTTP/1.1 200 ...}). */
    private static int status(String head) {
        return Integer.parseInt(head.substring(9, 12));
    }

    /** The answer's {@code Content-Length}, 0 when the head has none. */
    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                return Integer.parseInt(line.substring(colon + 1).trim());
            }
        }
        return 0;
    }

    /** One keep-alive connection: writes a request, reads the answer's status and body. Not thread-safe. */
    private final class Connection implements AutoCloseable {
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private final byte[] buffer = new byte[64 * 1024];
        private int start;
        private int end;

        private void open() throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(target.getHost(), target.getPort()), 5_000);
            socket.setSoTimeout(30_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
            start = 0;
            end = 0;
        }

        /** Sends one request and returns the answer's status; reconnects once if the connection was closed. */
        int exchange(byte[] request) throws IOException {
            if (socket == null) {
                open();
            }
            try {
                out.write(request);
                out.flush();
                return readResponse();
            } catch (IOException e) {
                close();
                open();
                out.write(request);
                out.flush();
                return readResponse();
            }
        }

        private int readResponse() throws IOException {
            int headEnd;
            while ((headEnd = headEnd(buffer, start, end)) < 0) {
                fill();
            }
            String head = new String(buffer, start, headEnd - start, StandardCharsets.ISO_8859_1);
            int status = status(head);
            int length = contentLength(head);
            start = headEnd + 4;
            while (end - start < length) {
                fill();
            }
            start += length;
            return status;
        }

        private void fill() throws IOException {
            if (start == end) {
                start = 0;
                end = 0;
            } else if (end == buffer.length) {
                System.arraycopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            int n = in.read(buffer, end, buffer.length - end);
            if (n < 0) {
                throw new IOException("connection closed by the server");
            }
            end += n;
        }

        @Override
        public void close() {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // closing anyway
                }
                socket = null;
            }
        }
    }

    // ---------------------------------------------------------------- fill

    private void fill() throws IOException {
        int count = (int) longArg("count", 100_000);
        int batch = (int) longArg("batch", 1_000);
        String ttl = args.get("ttl");
        // Every request is built before the clock starts: the figure is the gateway's, not the
        // time this (cold) JVM takes to format 100,000 instances.
        List<byte[]> requests = new ArrayList<>();
        for (int from = 0; from < count; from += batch) {
            StringBuilder body = new StringBuilder(batch * 200).append("{\"instances\":[");
            for (int n = from; n < Math.min(count, from + batch); n++) {
                if (n > from) {
                    body.append(',');
                }
                body.append(instanceJson(filledId(n), n, ttl != null && n % 2 == 0 ? ttl : null));
            }
            body.append("]}");
            requests.add(request("POST", "/v1/instances/batch", body.toString()));
        }
        // --connections n: the batches in order, each sent by the first of n connections to be
        // free (a bulk registrar with n requests in flight); 1 sends them one after another.
        int connections = (int) longArg("connections", 1);
        AtomicLong next = new AtomicLong();
        AtomicLong non2xx = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        List<Connection> open = new ArrayList<>();
        try {
            for (int i = 0; i < connections; i++) {
                Connection c = new Connection();
                open.add(c);
                c.open();
            }
            List<Thread> senders = new ArrayList<>();
            long[] ends = new long[requests.size()];
            long startNanos = System.nanoTime();
            for (Connection c : open) {
                senders.add(Thread.ofPlatform().start(() -> {
                    for (long i; (i = next.getAndIncrement()) < requests.size(); ) {
                        try {
                            int status = c.exchange(requests.get((int) i));
                            ends[(int) i] = System.nanoTime();
                            if (status / 100 != 2) {
                                non2xx.incrementAndGet();
                            }
                        } catch (IOException e) {
                            errors.incrementAndGet();
                        }
                    }
                }));
            }
            for (Thread sender : senders) {
                sender.join();
            }
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            if (args.containsKey("timeline")) {
                // --timeline 1: when each tenth of the batches had been answered, from the first
                // request (in the order the answers came: on several connections they may overtake)
                long[] answered = ends.clone();
                Arrays.sort(answered);
                StringBuilder t = new StringBuilder("FILL_TIMELINE ms at each tenth of the batches:");
                for (int tenth = 1; tenth <= 10; tenth++) {
                    int i = Math.max(0, answered.length * tenth / 10 - 1);
                    t.append(' ').append((answered[i] - startNanos) / 1_000_000);
                }
                System.out.println(t);
            }
            System.out.printf(
                    Locale.ROOT,
                    "RESULT class=fill instances=%d seconds=%.3f rps=%.0f connections=%d non2xx=%d errors=%d%n",
                    count,
                    seconds,
                    count / seconds,
                    connections,
                    non2xx.get(),
                    errors.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
        if (non2xx.get() + errors.get() > 0) {
            System.exit(1);
        }
    }

    // ---------------------------------------------------------------- closed loop

    private void closed() throws Exception {
        int connections = (int) longArg("connections", 64);
        long warmupNanos = (long) (doubleArg("warmup", 3) * 1e9);
        long durationNanos = (long) (doubleArg("duration", 10) * 1e9);
        AtomicLong next = new AtomicLong();
        Recorder recorder = new Recorder();
        AtomicLong non2xx = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long start = System.nanoTime();
        long measureFrom = start + warmupNanos;
        long stopAt = measureFrom + durationNanos;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < connections; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try (Connection c = new Connection()) {
                    long now;
                    while ((now = System.nanoTime()) < stopAt) {
                        int n = (int) next.getAndIncrement();
                        byte[] request = request(
                                "POST", "/v1/instances", instanceJson(service + "-" + prefix + "-" + n, n, null));
                        try {
                            int status = c.exchange(request);
                            long done = System.nanoTime();
                            if (now >= measureFrom && done <= stopAt) {
                                recorder.add(done - now, now);
                                if (status / 100 != 2) {
                                    non2xx.incrementAndGet();
                                }
                            }
                        } catch (IOException e) {
                            errors.incrementAndGet();
                        }
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        recorder.print("closed", durationNanos, non2xx.get(), errors.get(), "sent=" + next.get());
    }

    // ---------------------------------------------------------------- open loop

    /** A request due at a time, of one class. */
    private record Due(long dueNanos, byte[] request, Recorder recorder) {}

    private void open() throws Exception {
        int connections = (int) longArg("connections", 64);
        double rate = doubleArg("rate", 3_333);
        int pool = (int) longArg("pool", 100_000);
        long durationNanos = (long) (doubleArg("duration", 20) * 1e9);
        int burst = (int) longArg("burst", 10_000);
        double burstRate = doubleArg("burst-rate", 5_000);
        long burstAtNanos = (long) (doubleArg("burst-at", 5) * 1e9);
        String burstPrefix = arg("burst-prefix", "burst");

        Recorder steady = new Recorder();
        Recorder bursts = new Recorder();
        int burstConnections = (int) longArg("burst-connections", 0);
        // One schedule merging the two streams, every request built before the clock starts: this
        // JVM allocates next to nothing while it measures, so its own pauses do not count as the
        // gateway's. The first --warmup seconds of steady traffic are sent but not recorded (this
        // JVM's code is interpreted at first).
        long warmupNanos = (long) (doubleArg("warmup", 2) * 1e9);
        Recorder discarded = new Recorder();
        long warmupCount = (long) (rate * warmupNanos / 1e9);
        long steadyCount = (long) (rate * durationNanos / 1e9);
        List<Due> schedule = new ArrayList<>((int) (warmupCount + steadyCount + burst));
        long s = 0;
        long b = 0;
        while (s < warmupCount + steadyCount || b < burst) {
            long steadyDue = s < warmupCount + steadyCount ? (long) (s * 1e9 / rate) : Long.MAX_VALUE;
            long burstDue = b < burst ? warmupNanos + burstAtNanos + (long) (b * 1e9 / burstRate) : Long.MAX_VALUE;
            if (steadyDue <= burstDue) {
                int n = (int) ((s * 7_919L) % pool);
                byte[] request = n % 2 == 0
                        ? request("PUT", "/v1/instances/" + filledId(n) + "/heartbeat", null)
                        : request("POST", "/v1/instances", instanceJson(filledId(n), n, null));
                schedule.add(new Due(steadyDue, request, s < warmupCount ? discarded : steady));
                s++;
            } else {
                int n = (int) b;
                schedule.add(new Due(
                        burstDue,
                        request(
                                "POST",
                                "/v1/instances",
                                instanceJson(service + "-" + burstPrefix + "-" + n, pool + n, null)),
                        bursts));
                b++;
            }
        }
        // With --burst-connections, the burst has connections of its own (other agents'), so its
        // requests waiting for durability do not hold the connections the steady traffic needs.
        ConnectionPool steadyPool = new ConnectionPool();
        ConnectionPool burstPool = burstConnections > 0 ? new ConnectionPool() : steadyPool;
        try (OpenLoop loop = new OpenLoop()) {
            for (int i = 0; i < connections; i++) {
                loop.connect(steadyPool);
            }
            for (int i = 0; i < burstConnections; i++) {
                loop.connect(burstPool);
            }
            Thread reader = Thread.ofPlatform().name("reader").daemon().start(loop::readLoop);
            // The schedule: this thread sleeps until each request is due and writes it on a free
            // connection of its pool at once, or queues it for the first connection to be freed
            // (that wait counts); one reader thread takes every answer off a selector.
            long start = System.nanoTime() + 50_000_000L;
            for (Due planned : schedule) {
                long dueNanos = start + planned.dueNanos();
                long wait = dueNanos - System.nanoTime();
                if (wait > 20_000) {
                    LockSupport.parkNanos(wait - 10_000);
                }
                loop.submit(
                        planned.recorder() == bursts ? burstPool : steadyPool,
                        new Due(dueNanos, planned.request(), planned.recorder()));
            }
            loop.awaitIdle(steadyPool, burstPool, 60_000);
            reader.interrupt();
            reader.join(5_000);
            long non2xx = loop.non2xx.get();
            long errors = loop.errors.get();
            steady.print("steady", durationNanos, non2xx, errors, "rate=" + rate);
            if (args.containsKey("slow-ms")) {
                long slow = (long) (doubleArg("slow-ms", 5) * 1e6);
                steady.timeline("steady", start + warmupNanos, slow);
                bursts.timeline("burst", start + warmupNanos, slow);
            }
            bursts.print("burst", (long) (burst / burstRate * 1e9), 0, 0, "rate=" + burstRate);
            Recorder all = new Recorder();
            all.addAll(steady);
            all.addAll(bursts);
            all.print("all", durationNanos, non2xx, errors, "");
        }
    }

    /** One class of traffic's connections: the free ones and the requests waiting for one. Guarded by itself. */
    private static final class ConnectionPool {
        final ArrayDeque<NioConnection> free = new ArrayDeque<>();
        final ArrayDeque<Due> waiting = new ArrayDeque<>();
        int size;
    }

    /**
     * A non-blocking keep-alive connection with at most one request outstanding. The thread that
     * took it from its pool writes the request; the reader thread reads the answer and hands the
     * connection on.
     */
    private static final class NioConnection {
        final SocketChannel channel;
        final ConnectionPool pool;
        /** Read by the reader thread only: answer bytes in [0, position). */
        final ByteBuffer in = ByteBuffer.allocate(64 * 1024);

        volatile Due current;

        NioConnection(SocketChannel channel, ConnectionPool pool) {
            this.channel = channel;
            this.pool = pool;
        }

        /** The status of the complete answer at the buffer's start (removed from it), or 0 while it is incomplete. */
        int answer() {
            byte[] a = in.array();
            int end = in.position();
            int headEnd = headEnd(a, 0, end);
            if (headEnd < 0) {
                return 0;
            }
            String head = new String(a, 0, headEnd, StandardCharsets.ISO_8859_1);
            int total = headEnd + 4 + contentLength(head);
            if (end < total) {
                return 0;
            }
            System.arraycopy(a, total, a, 0, end - total);
            in.position(end - total);
            return status(head);
        }
    }

    /**
     * The open loop's connections: requests are written by whoever frees or finds a connection,
     * answers are read by one thread off a selector (no hand-off to a pool of blocked threads,
     * whose wake-ups would count as the gateway's latency).
     */
    private final class OpenLoop implements AutoCloseable {
        private final Selector selector = Selector.open();
        private final List<NioConnection> connections = new ArrayList<>();
        final AtomicLong non2xx = new AtomicLong();
        final AtomicLong errors = new AtomicLong();

        OpenLoop() throws IOException {}

        void connect(ConnectionPool pool) throws IOException {
            SocketChannel channel = SocketChannel.open(new InetSocketAddress(target.getHost(), target.getPort()));
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.configureBlocking(false);
            NioConnection c = new NioConnection(channel, pool);
            channel.register(selector, SelectionKey.OP_READ, c);
            connections.add(c);
            synchronized (pool) {
                pool.size++;
                pool.free.add(c);
            }
        }

        /** Sends {@code due} on a free connection of {@code pool}, or queues it for the next one freed. */
        void submit(ConnectionPool pool, Due due) {
            NioConnection c;
            synchronized (pool) {
                c = pool.free.poll();
                if (c == null) {
                    pool.waiting.add(due);
                    return;
                }
            }
            send(c, due);
        }

        private void send(NioConnection c, Due due) {
            c.current = due;
            ByteBuffer out = ByteBuffer.wrap(due.request());
            try {
                while (out.hasRemaining()) {
                    if (c.channel.write(out) == 0) {
                        Thread.onSpinWait();
                    }
                }
            } catch (IOException e) {
                c.current = null;
                drop(c);
            }
        }

        /** The reader thread: every answer, until interrupted. */
        void readLoop() {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    selector.select();
                    for (SelectionKey key : selector.selectedKeys()) {
                        read((NioConnection) key.attachment());
                    }
                    selector.selectedKeys().clear();
                }
            } catch (IOException | ClosedSelectorException e) {
                // closed: the run is over
            }
        }

        private void read(NioConnection c) {
            int n;
            try {
                n = c.channel.read(c.in);
            } catch (IOException e) {
                n = -1;
            }
            if (n < 0) {
                drop(c);
                return;
            }
            int status = c.answer();
            if (status == 0) {
                return;
            }
            Due due = c.current;
            c.current = null;
            if (due != null) {
                due.recorder().add(System.nanoTime() - due.dueNanos(), due.dueNanos());
                if (status / 100 != 2) {
                    non2xx.incrementAndGet();
                }
            }
            Due next;
            synchronized (c.pool) {
                next = c.pool.waiting.poll();
                if (next == null) {
                    c.pool.free.add(c);
                }
            }
            if (next != null) {
                send(c, next);
            }
        }

        /** A connection the server closed or broke: its request counts as an error, the pool shrinks. */
        private void drop(NioConnection c) {
            errors.incrementAndGet();
            try {
                c.channel.close();
            } catch (IOException e) {
                // closing anyway
            }
            synchronized (c.pool) {
                c.pool.size--;
            }
        }

        /** Waits until no request is outstanding or waiting in either pool, for at most {@code millis}. */
        void awaitIdle(ConnectionPool a, ConnectionPool b, long millis) throws InterruptedException {
            long deadline = System.currentTimeMillis() + millis;
            while (System.currentTimeMillis() < deadline && !(idle(a) && idle(b))) {
                Thread.sleep(10);
            }
        }

        private boolean idle(ConnectionPool pool) {
            synchronized (pool) {
                return pool.waiting.isEmpty() && pool.free.size() == pool.size;
            }
        }

        @Override
        public void close() throws IOException {
            for (NioConnection c : connections) {
                c.channel.close();
            }
            selector.close();
        }
    }

    // ---------------------------------------------------------------- latencies

    /** Latencies in ns, each with its request's due time ({@link System#nanoTime()}); any thread. */
    private static final class Recorder {
        private long[] values = new long[1 << 16];
        private long[] dues = new long[1 << 16];
        private int size;

        synchronized void add(long nanos, long dueNanos) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
                dues = Arrays.copyOf(dues, size * 2);
            }
            dues[size] = dueNanos;
            values[size++] = nanos;
        }

        synchronized void addAll(Recorder other) {
            for (int i = 0; i < other.size; i++) {
                add(other.values[i], other.dues[i]);
            }
        }

        /**
         * When the slow requests were due: one {@code TIMELINE} line with, for every 250 ms from
         * {@code originNanos} (also given in wall-clock time, to set beside a log) that held requests
         * slower than {@code slowNanos}, its start in seconds and how many ("5.25s:31").
         */
        synchronized void timeline(String name, long originNanos, long slowNanos) {
            TreeMap<Long, Integer> buckets = new TreeMap<>();
            for (int i = 0; i < size; i++) {
                if (values[i] > slowNanos) {
                    buckets.merge((dues[i] - originNanos) / 250_000_000L, 1, Integer::sum);
                }
            }
            long originMillis = System.currentTimeMillis() - (System.nanoTime() - originNanos) / 1_000_000;
            StringBuilder line = new StringBuilder("TIMELINE class=" + name + " slow-ms=" + slowNanos / 1_000_000
                    + " origin-epoch-ms=" + originMillis);
            buckets.forEach(
                    (bucket, count) -> line.append(String.format(Locale.ROOT, " %.2fs:%d", bucket / 4.0, count)));
            System.out.println(line);
        }

        synchronized void print(String name, long windowNanos, long non2xx, long errors, String extra) {
            long[] sorted = Arrays.copyOf(values, size);
            Arrays.sort(sorted);
            System.out.printf(
                    Locale.ROOT,
                    "RESULT class=%s requests=%d rps=%.0f p50=%d p90=%d p99=%d p999=%d max=%d non2xx=%d errors=%d %s%n",
                    name,
                    size,
                    size / (windowNanos / 1e9),
                    at(sorted, 0.50),
                    at(sorted, 0.90),
                    at(sorted, 0.99),
                    at(sorted, 0.999),
                    sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1_000,
                    non2xx,
                    errors,
                    extra);
        }

        private static long at(long[] sorted, double q) {
            if (sorted.length == 0) {
                return 0;
            }
            return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1_000;
        }
    }
}
