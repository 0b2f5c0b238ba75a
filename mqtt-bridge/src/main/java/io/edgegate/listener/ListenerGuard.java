package io.edgegate.listener;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Holds every connection of one listener to its bounds ({@link GuardOptions}), where the web
 * server alone has none: a client address may hold only so many connections; a request head must
 * arrive whole in time (slowloris: a client that trickles its request line or header fields would
 * otherwise hold its connection for ever); a kept-alive connection may idle only so long between
 * requests; request lines and header blocks are capped. Each breach is counted, and answered with a
 * 4xx where the client can still read one (429 for too many connections, 414 and 400 for heads too
 * large) or by closing the connection (a head that did not arrive in time). It also answers an
 * HTTP/1.0 request with a 505 naming the version, where the server alone closes without a word, and
 * closes a connection after the answer to a request that asked for it ({@code Connection: close},
 * RFC 9112 9.6), where the server alone waits for another request until its idle timeout.
 *
 * <p>How it is installed: {@link #selector} is the listener's only connection selector (protocol
 * discovery off), so the server hands it every connection as soon as it is accepted (and its TLS
 * handshake is done), before a byte is read; {@link #filter} goes on the listener's routing. A
 * listener may serve its connections with a {@link ConnectionHandler} of its own instead of
 * Helidon's HTTP/1.1 (the gateway's proxy does); the guard then counts, refuses and answers
 * HTTP/1.0 as before, and the handler keeps the connection's {@link Deadlines}.
 *
 * <p>Threads: each connection runs on its own virtual thread, which is also the thread of its
 * requests, so the connection's deadline is found through a thread-local without a lookup. One
 * platform daemon thread ({@code listener-guard}) scans the open connections every 100 ms and
 * interrupts the thread of one whose deadline passed: interrupting a virtual thread blocked in a
 * socket read closes the socket. A deadline is armed while the connection waits for a request head
 * and disarmed while a request is being answered, so neither a streamed answer nor a blocking query
 * is ever cut by it. Thread-safe.
 */
public final class ListenerGuard implements AutoCloseable {
    private static final long SCAN_MILLIS = 100;
    private static final ThreadLocal<Connection> CURRENT = new ThreadLocal<>();
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final byte[] HTTP_10 = " HTTP/1.0\r".getBytes(StandardCharsets.US_ASCII);

    private final GuardOptions options;
    private final byte[] tooManyAnswer;
    private final byte[] http10Answer;
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final Thread scanner;
    private final LongAdder refusedTooMany = new LongAdder();
    private final LongAdder headTimeouts = new LongAdder();
    private final LongAdder idleTimeouts = new LongAdder();
    private final LongAdder refusedHttp10 = new LongAdder();
    private final LongAdder refusedHeads = new LongAdder();
    private volatile boolean closed;

    public ListenerGuard(GuardOptions options) {
        this.options = options;
        this.tooManyAnswer = answer(
                "429 Too Many Requests",
                "connection",
                "max-connections-per-client",
                "too many connections from this address (max-connections-per-client="
                        + options.maxConnectionsPerClient() + ")");
        this.http10Answer = answer(
                "505 HTTP Version Not Supported",
                "version",
                "HTTP/1.1",
                "HTTP/1.0 is not supported: send the request as HTTP/1.1");
        this.scanner = Thread.ofPlatform().name("listener-guard").daemon().start(this::scan);
    }

    /** The APIs' error body {@code {"error","field","rule"}}. */
    private static byte[] errorBody(String field, String rule, String message) {
        Map<String, String> error = new LinkedHashMap<>();
        error.put("error", message);
        error.put("field", field);
        error.put("rule", rule);
        try {
            return JSON.writeValueAsBytes(error);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A whole answer with the APIs' error body, and a close. */
    private static byte[] answer(String status, String field, String rule, String message) {
        byte[] body = errorBody(field, rule, message);
        byte[] head = ("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                        + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /**
     * The listener's one connection selector: HTTP/1.1 with {@code http1}'s settings plus this
     * guard's head limits, behind the guard. Install it with {@code addConnectionSelector} and no
     * protocols ({@code protocolsDiscoverServices(false)}).
     */
    public ServerConnectionSelector selector(Http1Config http1) {
        return new Selector(guardedHttp1(http1), null);
    }

    private Http1ConnectionSelector guardedHttp1(Http1Config http1) {
        Http1Config guarded = Http1Config.builder()
                .from(http1)
                .maxPrologueLength(options.maxRequestLineBytes())
                .maxHeadersSize(options.maxHeaderBytes())
                // The only receive listener: the server's composite of several forwards no event.
                .receiveListeners(List.of(new HeadListener()))
                .build();
        return Http1ConnectionSelector.builder().config(guarded).build();
    }

    /**
     * As {@link #selector(Http1Config)}, with {@code handler} serving each admitted connection in
     * place of Helidon's HTTP/1.1, which it may hand the connection to.
     */
    public ServerConnectionSelector selector(Http1Config http1, ConnectionHandler handler) {
        return new Selector(guardedHttp1(http1), handler);
    }

    /**
     * Serves the connections a guard admits, in place of Helidon's HTTP/1.1. Called on the
     * connection's own thread after the guard's checks (connections per client address, the
     * HTTP/1.0 answer to a first request), with the first bytes of the connection in its reader.
     */
    @FunctionalInterface
    public interface ConnectionHandler {
        /**
         * The connection that serves {@code ctx}.
         *
         * @param ctx the accepted connection
         * @param deadlines the connection's request-head deadlines, which the handler keeps
         * @param http1 Helidon's HTTP/1.1 connection over a context, with the guard's limits and
         *     head listener: where the handler hands over what it does not serve itself
         */
        ServerConnection connection(
                ConnectionContext ctx, Deadlines deadlines, Function<ConnectionContext, ServerConnection> http1);
    }

    /**
     * A connection's request-head deadlines, as a {@link ConnectionHandler} keeps them, on the
     * connection's thread: the first head is due within {@code request-head-timeout} of the
     * connection's start (armed by the guard), each next one within {@code keep-alive-timeout} of
     * the previous answer; none runs while a request is being answered.
     */
    public interface Deadlines {
        /** A whole request head has arrived: no deadline while the request is answered. */
        void headArrived();

        /** The answer is out: the next request head must arrive within {@code keep-alive-timeout}. */
        void answered();
    }

    /**
     * The answers the web server gives itself to a request it cannot route (a malformed or
     * oversized head, a body past the listener's cap), as the APIs' JSON error body naming what
     * was wrong ({@code max-request-line-bytes} with a 414, {@code max-header-bytes} with a 400 for a
     * header block the server refused), and a close. Install with the listener's
     * {@code directHandlers}.
     */
    public DirectHandlers directHandlers() {
        DirectHandler handler = new DirectHandler() {
            @Override
            public TransportResponse handle(
                    TransportRequest request,
                    EventType type,
                    Status status,
                    ServerResponseHeaders headers,
                    Throwable thrown) {
                return direct(type, status, headers, thrown == null ? null : thrown.getMessage());
            }

            @Override
            public TransportResponse handle(
                    TransportRequest request,
                    EventType type,
                    Status status,
                    ServerResponseHeaders headers,
                    String message) {
                return direct(type, status, headers, message);
            }
        };
        DirectHandlers.Builder builder = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            builder.addHandler(type, handler);
        }
        return builder.build();
    }

    private DirectHandler.TransportResponse direct(
            DirectHandler.EventType type, Status status, ServerResponseHeaders headers, String message) {
        String field = "request";
        String rule = "http";
        Connection c = CURRENT.get();
        if (status.code() == Status.REQUEST_URI_TOO_LONG_414.code()) {
            field = "request-line";
            rule = "max-request-line-bytes";
            message = "request line too long (max-request-line-bytes=" + options.maxRequestLineBytes() + ")";
        } else if (status.code() == Status.BAD_REQUEST_400.code() && c != null && c.readingHeaders) {
            // The server does not say why it refused the header block (its message is not "safe"
            // to show): past the cap, or malformed. The answer says both.
            field = "headers";
            rule = "max-header-bytes";
            message = "header fields malformed or larger than max-header-bytes=" + options.maxHeaderBytes();
        } else if (message == null || message.isEmpty()) {
            message = status.reasonPhrase();
        }
        refusedHeads.increment();
        headers.set(HeaderValues.CONTENT_TYPE_JSON);
        return DirectHandler.TransportResponse.builder()
                .status(status)
                .headers(headers)
                .keepAlive(false)
                .entity(errorBody(field, rule, message))
                .build();
    }

    /**
     * The filter for the listener's routing: after each answer it closes the connection when the
     * request asked for that, and otherwise starts the wait for the next request head.
     */
    public Filter filter() {
        return this::afterAnswer;
    }

    private void afterAnswer(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        chain.proceed();
        if (res.isSent() && req.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
            // Raised after the answer is out: the server ends the connection's loop and closes it.
            throw new CloseConnectionException("the client asked for the connection to close after the answer");
        }
        Connection c = CURRENT.get();
        if (c != null) {
            c.arm(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.keepAliveTimeoutMillis()), false);
        }
    }

    /** The bounds this guard holds its listener's connections to. */
    public GuardOptions options() {
        return options;
    }

    /** Connections refused because their address held too many ({@code max-connections-per-client}). */
    public long refusedTooMany() {
        return refusedTooMany.sum();
    }

    /** Connections closed because a request head did not arrive whole in time. */
    public long headTimeouts() {
        return headTimeouts.sum();
    }

    /** Kept-alive connections closed after idling past {@code keep-alive-timeout}. */
    public long idleTimeouts() {
        return idleTimeouts.sum();
    }

    /** HTTP/1.0 requests answered 505. */
    public long refusedHttp10() {
        return refusedHttp10.sum();
    }

    /** Requests the server could not read (malformed or oversized heads), answered 4xx and closed. */
    public long refusedHeads() {
        return refusedHeads.sum();
    }

    /** Connections open now. */
    public int openConnections() {
        return open.size();
    }

    @Override
    public void close() {
        closed = true;
        scanner.interrupt();
    }

    private void scan() {
        while (!closed) {
            try {
                Thread.sleep(SCAN_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Connection c : open) {
                long deadline = c.deadline;
                if (deadline != 0 && now - deadline > 0 && c.expire(deadline)) {
                    (c.waitingForFirstHead ? headTimeouts : idleTimeouts).increment();
                    c.thread.interrupt();
                }
            }
        }
    }

    /** One connection's deadline; armed and disarmed by its own thread, expired by the scanner. */
    private static final class Connection implements Deadlines {
        final Thread thread;
        private final long keepAliveNanos;
        volatile long deadline;
        volatile boolean waitingForFirstHead = true;
        /** Between a request line and the end of its header fields. */
        volatile boolean readingHeaders;

        Connection(Thread thread, long keepAliveNanos) {
            this.thread = thread;
            this.keepAliveNanos = keepAliveNanos;
        }

        @Override
        public void headArrived() {
            readingHeaders = false;
            disarm();
        }

        @Override
        public void answered() {
            arm(System.nanoTime() + keepAliveNanos, false);
        }

        void arm(long deadlineNanos, boolean firstHead) {
            waitingForFirstHead = firstHead;
            deadline = deadlineNanos == 0 ? 1 : deadlineNanos;
        }

        void disarm() {
            deadline = 0;
        }

        /**
         * Claims an expiry: false when the thread disarmed (or re-armed) it meanwhile. A disarm
         * racing past this check is harmless: the connection was idle at the deadline anyway.
         */
        boolean expire(long seen) {
            if (deadline != seen) {
                return false;
            }
            deadline = 0;
            return true;
        }
    }

    /** Disarms the deadline once a request head has arrived whole. Runs on the connection's thread. */
    private static final class HeadListener implements Http1ConnectionListener {
        @Override
        public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
            Connection c = CURRENT.get();
            if (c != null) {
                c.readingHeaders = true;
            }
        }

        @Override
        public void headers(ConnectionContext ctx, Headers headers) {
            Connection c = CURRENT.get();
            if (c != null) {
                c.readingHeaders = false;
                c.disarm();
            }
        }
    }

    private final class Selector implements ServerConnectionSelector {
        private final Http1ConnectionSelector http1;
        /** Serves admitted connections in place of {@link #http1}; null: HTTP/1.1 does. */
        private final ConnectionHandler handler;

        Selector(Http1ConnectionSelector http1, ConnectionHandler handler) {
            this.http1 = http1;
            this.handler = handler;
        }

        @Override
        public int bytesToIdentifyConnection() {
            return 0;
        }

        @Override
        public Support supports(BufferData request) {
            return Support.SUPPORTED;
        }

        @Override
        public Set<String> supportedApplicationProtocols() {
            return http1.supportedApplicationProtocols();
        }

        @Override
        public ServerConnection connection(ConnectionContext ctx) {
            return new Guarded(ctx, http1, handler);
        }
    }

    /** A connection behind the guard: counted, deadlined, then handed to HTTP/1.1 (or the listener's handler). */
    private final class Guarded implements ServerConnection {
        private final ConnectionContext ctx;
        private final Http1ConnectionSelector http1;
        private final ConnectionHandler handler;
        private final long startNanos = System.nanoTime();
        private volatile ServerConnection delegate;
        private volatile Thread thread;

        Guarded(ConnectionContext ctx, Http1ConnectionSelector http1, ConnectionHandler handler) {
            this.ctx = ctx;
            this.http1 = http1;
            this.handler = handler;
        }

        @Override
        public void handle(Limit limit) throws InterruptedException {
            thread = Thread.currentThread();
            InetAddress client = client(ctx.remotePeer().address());
            AtomicInteger count = client == null ? null : perClient.computeIfAbsent(client, a -> new AtomicInteger());
            int held = count == null ? 0 : count.incrementAndGet();
            Connection c = new Connection(thread, TimeUnit.MILLISECONDS.toNanos(options.keepAliveTimeoutMillis()));
            try {
                if (held > options.maxConnectionsPerClient()) {
                    refusedTooMany.increment();
                    refuse(tooManyAnswer);
                    return;
                }
                c.arm(startNanos + TimeUnit.MILLISECONDS.toNanos(options.headTimeoutMillis()), true);
                open.add(c);
                CURRENT.set(c);
                DataReader reader = ctx.dataReader();
                try {
                    reader.ensureAvailable();
                } catch (DataReader.InsufficientDataAvailableException e) {
                    throw new CloseConnectionException("closed before a request", e);
                }
                if (http10(reader.getBuffer(reader.available()))) {
                    refusedHttp10.increment();
                    refuse(http10Answer);
                    return;
                }
                ServerConnection http =
                        handler == null ? http1.connection(ctx) : handler.connection(ctx, c, http1::connection);
                delegate = http;
                http.handle(limit);
            } finally {
                CURRENT.remove();
                open.remove(c);
                if (count != null && count.decrementAndGet() == 0) {
                    perClient.remove(client, count);
                }
            }
        }

        /** Answers and returns (the server then closes): what has arrived is read first, so that closing does not reset the connection before the client reads the answer. */
        private void refuse(byte[] answer) {
            DataReader reader = ctx.dataReader();
            reader.skip(reader.available());
            ctx.dataWriter().writeNow(BufferData.create(answer));
        }

        @Override
        public Duration idleTime() {
            ServerConnection d = delegate;
            return d != null ? d.idleTime() : Duration.ofNanos(System.nanoTime() - startNanos);
        }

        @Override
        public void close(boolean interrupt) {
            ServerConnection d = delegate;
            if (d != null) {
                d.close(interrupt);
            } else if (thread != null) {
                thread.interrupt();
            }
        }
    }

    /** Whether the first request line has arrived whole and ends in {@code HTTP/1.0}. */
    static boolean http10(BufferData data) {
        int lf = data.indexOf((byte) '\n');
        if (lf < HTTP_10.length) {
            return false;
        }
        for (int i = 0; i < HTTP_10.length; i++) {
            if (data.get(lf - HTTP_10.length + i) != HTTP_10[i]) {
                return false;
            }
        }
        return true;
    }

    private static InetAddress client(SocketAddress address) {
        return address instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }
}
