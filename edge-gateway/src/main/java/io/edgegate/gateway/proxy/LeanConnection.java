package io.edgegate.gateway.proxy;

import io.edgegate.listener.ListenerGuard;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.concurrency.limits.LimitAlgorithm;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.tls.TlsUtils;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * One client connection served by the proxy's own HTTP/1.1 handler: the data path's replacement
 * for Helidon's HTTP/1.1 connection, installed behind the listener's {@link ListenerGuard} (which
 * still counts connections per client, answers an HTTP/1.0 first request and closes slow heads).
 *
 * <p>The loop, on a platform thread of the handler's pool while the connection's virtual thread
 * waits for it ({@link PlatformLoop}), or on the virtual thread itself when the pool is full or
 * off ({@link LeanConnections}): read until a whole request head is buffered
 * (the guard's deadline runs meanwhile), parse it ({@link RequestHead}), and then either serve it
 * (the head's deadline off, {@link ProxyService#serve} with a {@link LeanExchange}, the keep-alive
 * deadline armed after the answer) or hand the connection to Helidon's HTTP/1.1 with every byte
 * read so far ({@link HandedOffContext}), which serves the connection from then on. A head is
 * handed over when its path is the gateway's API ({@link LeanConnections#serves}) or when it is
 * anything the lean parser does not accept (malformed, oversized, another version, a payload over
 * the listener's cap): Helidon and the guard answer those exactly as they would have.
 *
 * <p>With event loops ({@link LeanConnections#hasEventLoops}), a plain connection whose first
 * request is the proxy's is handed to a loop at its start, and its thread waits: the loop reads
 * heads, serves requests through the same {@link LeanExchange} (its writes non-blocking, what the
 * socket does not take kept until it can) and forwards them with {@link LoopForward}. A request the
 * loop does not serve (see {@link #step}) is given back at its head, or once decided (a call to an
 * upstream the loop does not reach), served here on the blocking path, and the connection goes to
 * the loop again.
 *
 * <p>Reads go through the connection's socket ({@link HelidonSocket#get}: one read into the
 * socket's own buffer, the bytes read returned as an array, which becomes the read buffer when
 * nothing is left over); writes through the connection's {@link DataWriter}. Per connection it
 * keeps the parsed head's index arrays and a small answer buffer, nothing sized for a body.
 *
 * <p>Not thread-safe: run by the connection's thread (one at a time: the platform thread's loop
 * ends before the virtual thread goes on, the latch between them orders their writes); {@link
 * #close} and {@link #idleTime} are called by the server's threads and touch only volatile state.
 */
final class LeanConnection implements ServerConnection {
    private static final byte[] EMPTY = {};
    /** {@link #readHead}: the client closed (or the guard's deadline closed it) before a whole head. */
    private static final int CLOSED = -1;
    /** {@link #readHead}: the head outgrew the listener's limits: Helidon answers it. */
    private static final int TOO_LONG = -2;
    /** The most of an unread request body read and dropped to keep a connection after an answer. */
    static final int MAX_DRAIN_BYTES = 256 * 1024;

    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    final LeanConnections owner;
    final ConnectionContext ctx;
    private final HelidonSocket socket;
    private final DataWriter writer;
    private final ListenerGuard.Deadlines deadlines;
    private final Function<ConnectionContext, ServerConnection> http1;
    final RequestHead head = new RequestHead();
    final RequestBody body = new RequestBody();
    private final LeanExchange exchange;
    /** The proxy serving the current request (made once). */
    private final Runnable serveCurrent;
    /** The lean API answering the current request, {@link #apiOperation} (made once). */
    private final Runnable serveApiCurrent;
    /** {@link #route}'s choice for the current request. */
    private int apiOperation;
    /** The listener's cap on a request body ({@code maxPayloadSize}); larger ones are Helidon's to refuse. */
    private final long maxPayloadBytes;

    /** See {@link #forwardedFor()} and {@link #clientName()}; made at the first request. */
    private byte[] forwardedFor;

    private byte[] clientName;

    /** Unread input: {@code in[pos, lim)}. */
    private byte[] in = EMPTY;

    private int pos;
    private int lim;

    /** The thread running the connection's loop: its virtual thread, or a platform thread meanwhile. */
    private volatile Thread thread;
    /** Held to interrupt {@link #thread}, and to take it back from a platform thread that is done. */
    private final Object interruptLock = new Object();
    /** Waiting for a request head: the server may interrupt the thread to close the connection. */
    private volatile boolean awaitingHead = true;
    /** The server asked the connection to close: no further request. */
    private volatile boolean closing;

    private volatile long idleSinceNanos = System.nanoTime();
    /** Helidon's connection, once this one was handed over. */
    private volatile ServerConnection handedTo;

    // ---------------------------------------------------------------- on an event loop
    /** {@link #onLoop}'s outcomes: the connection ended; its next request is in the buffer; a decided call is. */
    private static final int LOOP_CLOSED = 1;

    private static final int LOOP_REQUEST = 2;
    private static final int LOOP_CALL = 3;
    /** {@link #answer}'s outcomes besides true and false: the answer goes on elsewhere. */
    private static final int ANSWER_CLOSE = 0;

    private static final int ANSWER_KEEP = 1;
    private static final int ANSWER_PENDING = 2;
    /** {@link #serveNext}'s outcomes. */
    private static final int SERVED = 0;

    private static final int ENDED = 1;
    private static final int HAND_OFF = 2;
    /** {@link #route}: the request is the proxy's (else a {@link LeanApi} operation, or {@link LeanApi#NONE}: Helidon's). */
    private static final int PROXIED = -2;
    /** {@link #readHead}: nothing more to read now (on an event loop). */
    private static final int WOULD_BLOCK = -3;
    /** The input buffer of a connection on a loop: reads go into it, at {@code lim}. */
    private static final int LOOP_BUFFER_BYTES = 16 * 1024;

    /** The client's channel (plain HTTP), or null when no event loop can serve the connection. */
    private final SocketChannel channel;
    /** The loop serving the connection now, or null; written by the loop, read by the loop (and by the connection's thread once released). */
    private EventLoop loop;

    private SelectionKey key;
    private Limit loopLimit;
    private LoopForward forward;
    /** Answer bytes the client's socket has not taken yet: {@code pendingOut[pendingFrom, pendingTo)}. */
    private byte[] pendingOut;

    private int pendingFrom;
    private int pendingTo;
    /** The loop stopped reading the client (an exchange runs, or an answer waits to go out). */
    private boolean readsPaused;
    /** The connection ends once the pending answer bytes are out. */
    private boolean closeWhenFlushed;
    /** The loop has started giving the connection back. */
    private boolean releasing;
    /** A loop took the connection once (it is counted once). */
    private boolean adopted;

    /** Set by the loop before it releases the connection's thread (the latch orders it). */
    private int loopOutcome;

    private CountDownLatch loopDone;
    /** A call the proxy decided on the loop, to be forwarded there ({@link LoopForward}), and its body. */
    private Forwarder.Call loopCall;

    private byte[] loopBody;
    /** {@link #LOOP_CALL}: the request the loop decided and left to the connection's thread. */
    private Forwarder.Call handedCall;
    /** The route's recorder of a deferred call's answer, or null. */
    private ProxyObserver.RouteRecorder deferredRecorder;
    /** The permit of a deferred call. */
    private LimitAlgorithm.Token loopToken;
    /** An answer of the lean API the loop waits for (a write the registry makes durable first). */
    private CompletableFuture<LeanApi.Answer> apiPending;
    /** The loop waits for {@link #apiPending}'s answer: the client is not read meanwhile. */
    private boolean apiInFlight;

    LeanConnection(
            LeanConnections owner,
            ConnectionContext ctx,
            ListenerGuard.Deadlines deadlines,
            Function<ConnectionContext, ServerConnection> http1) {
        this.owner = owner;
        this.ctx = ctx;
        this.socket = ctx.serverSocket();
        this.writer = ctx.dataWriter();
        this.deadlines = deadlines;
        this.http1 = http1;
        this.exchange = new LeanExchange(this);
        long cap = ctx.listenerContext().config().maxPayloadSize();
        this.maxPayloadBytes = cap < 0 ? Long.MAX_VALUE : cap;
        this.channel = owner.hasEventLoops() && !ctx.isSecure() ? LeanConnections.channelOf(socket) : null;
        this.serveCurrent = () -> owner.proxy.serve(exchange);
        this.serveApiCurrent = this::serveApi;
    }

    @Override
    public void handle(Limit limit) throws InterruptedException {
        thread = Thread.currentThread();
        // What the guard (or the server) read already waits in the connection's reader.
        DataReader reader = ctx.dataReader();
        int ready = reader.available();
        if (ready > 0) {
            in = reader.readBytes(ready);
            lim = ready;
        }
        if (channel != null && !firstRequestIsHelidons()) {
            // On an event loop; each request it leaves is served here, then the loop takes the
            // connection again.
            while (true) {
                int outcome = onLoop(limit);
                if (outcome == LOOP_CLOSED) {
                    return;
                }
                int served = outcome == LOOP_CALL ? (serveHandedCall() ? SERVED : ENDED) : serveNext(limit);
                if (served == ENDED) {
                    return;
                }
                if (served == HAND_OFF) {
                    handOff(limit);
                    return;
                }
            }
        }
        PlatformLoop platform = owner.hasPlatformThreads() ? new PlatformLoop(limit) : null;
        boolean handOff =
                platform != null && owner.onPlatformThread(platform) ? platform.await() : serveRequests(limit);
        if (handOff) {
            // On the connection's own thread: Helidon's HTTP/1.1 and the guard keep per-thread state.
            handOff(limit);
        }
    }

    /**
     * Serves requests until the connection ends or a request is not the lean handler's.
     *
     * @return whether the connection is to be handed to Helidon's HTTP/1.1 (its next request is
     *     in the input buffer)
     */
    private boolean serveRequests(Limit limit) {
        while (!closing) {
            int served = serveNext(limit);
            if (served != SERVED) {
                return served == HAND_OFF;
            }
        }
        return false;
    }

    /**
     * Reads the next request and serves it.
     *
     * @return {@link #SERVED} (the connection takes the next request), {@link #ENDED}, or
     *     {@link #HAND_OFF} (the request is Helidon's, in the input buffer)
     */
    private int serveNext(Limit limit) {
        if (closing) {
            return ENDED;
        }
        int end = readHead();
        if (end == CLOSED) {
            return ENDED;
        }
        int route = parsedWithinLimits(end) ? route() : LeanApi.NONE;
        if (route == LeanApi.NONE) {
            return HAND_OFF;
        }
        pos = end;
        awaitingHead = false;
        deadlines.headArrived();
        if (serveParsed(limit, route) != ANSWER_KEEP) {
            return ENDED;
        }
        idleSinceNanos = System.nanoTime();
        awaitingHead = true;
        deadlines.answered();
        return SERVED;
    }

    /**
     * The connection's loop ({@link #serveRequests}) run by a platform thread of the handler's pool
     * while the connection's virtual thread waits for it in {@link #await}.
     *
     * <p>Interrupts: the server and the guard interrupt the connection's thread to close it. While
     * the loop runs, {@link #thread} is the platform thread, so {@link #close} reaches it directly;
     * the guard interrupts the virtual thread, which passes the interrupt on. Either way the
     * interrupt closes the socket its blocked read waits on (socket channels close on an interrupt
     * for platform threads too), and the loop ends. {@link #thread} goes back to the virtual thread
     * under {@link #interruptLock} before the platform thread is released, and the platform thread
     * then clears its interrupt status, so that a late interrupt never reaches the next connection
     * the pooled thread serves.
     */
    private final class PlatformLoop implements Runnable {
        private final Limit limit;
        private final Thread waiter = Thread.currentThread();
        private final CountDownLatch done = new CountDownLatch(1);
        private boolean handOff;
        private RuntimeException failed;
        private Error fatal;

        PlatformLoop(Limit limit) {
            this.limit = limit;
        }

        @Override
        public void run() {
            thread = Thread.currentThread();
            try {
                handOff = serveRequests(limit);
            } catch (RuntimeException e) {
                failed = e;
            } catch (Error e) {
                fatal = e;
            } finally {
                synchronized (interruptLock) {
                    thread = waiter;
                }
                Thread.interrupted();
                done.countDown();
            }
        }

        /**
         * Waits for the loop to end, passing any interrupt of the waiting thread on to it (the
         * waiting thread's interrupt status is set again after, as a blocked read would have left it).
         *
         * @return what {@link #serveRequests} returned
         */
        boolean await() {
            boolean interrupted = awaitPassingInterrupts(done, () -> {
                // A loop that has not started yet sees closing and ends at once; one that runs is
                // interrupted (closing is written before thread is read, the loop writes thread
                // before it reads closing: one of the two sees the other).
                closing = true;
                if (thread != waiter) {
                    interruptThread();
                }
            });
            if (interrupted) {
                waiter.interrupt();
            }
            // the latch orders the loop's writes before these reads
            if (fatal != null) {
                throw fatal;
            }
            if (failed != null) {
                throw failed;
            }
            return handOff;
        }
    }

    /**
     * Waits for the latch; each interrupt of the waiting thread meanwhile runs {@code onInterrupt}
     * (which passes it on to whoever serves the connection), and the wait goes on.
     *
     * @return whether the thread was interrupted
     */
    private static boolean awaitPassingInterrupts(CountDownLatch done, Runnable onInterrupt) {
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                return interrupted;
            } catch (InterruptedException e) {
                interrupted = true;
                onInterrupt.run();
            }
        }
    }

    /**
     * Whether the head read up to {@code end} parsed, within the listener's limits: else it is
     * Helidon's to serve or refuse.
     */
    private boolean parsedWithinLimits(int end) {
        return end != TOO_LONG
                && head.parse(in, pos, end)
                && head.lineLength < owner.maxRequestLineBytes
                && end - head.fieldsStart < owner.maxHeaderBytes
                && head.contentLength <= maxPayloadBytes;
    }

    /**
     * Who serves the request just parsed: {@link #PROXIED}, a {@link LeanApi} operation, or
     * {@link LeanApi#NONE} (Helidon's routing: the API's other requests, a body the lane does not
     * read whole).
     */
    private int route() {
        if (owner.proxies && LeanConnections.serves(head.rawPath)) {
            return PROXIED;
        }
        LeanApi api = owner.api;
        if (api == null
                || head.chunked
                || head.expectContinue
                || head.contentLength > LeanConnections.MAX_LOOP_BODY_BYTES) {
            return LeanApi.NONE;
        }
        return api.operation(head.method, head.rawPath, head.rawQuery, head.contentLength);
    }

    /**
     * Takes a permit of the listener's limit (a 503 and a close without one) and has the proxy, or
     * the lean API's {@code route}, answer the request just parsed; see {@link #answer} for what
     * it returns.
     */
    private int serveParsed(Limit limit, int route) {
        LimitAlgorithm.Outcome permit = limit.tryAcquireOutcome(true);
        body.start();
        exchange.start();
        if (!(permit instanceof LimitAlgorithm.Outcome.Accepted accepted)) {
            exchange.refuse(503, "Too Many Concurrent Requests");
            return ANSWER_CLOSE;
        }
        deferredRecorder = null;
        if (route == PROXIED) {
            owner.requests.increment();
            return answer(accepted.token(), serveCurrent);
        }
        owner.apiRequests.increment();
        apiOperation = route;
        return answer(accepted.token(), serveApiCurrent);
    }

    /**
     * Has the lean API answer the current request, its body read whole. On a loop, a write the
     * registry has yet to make durable is waited for without blocking ({@link #apiPending}); on
     * the connection's thread it is awaited.
     */
    private void serveApi() {
        byte[] requestBody;
        if (head.contentLength <= 0) {
            requestBody = EMPTY;
        } else if (loop != null) {
            requestBody = body.takeBuffered(); // step() waited for all of it
        } else {
            try {
                requestBody = body.readNBytes((int) head.contentLength);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (requestBody.length < head.contentLength) {
                throw new UncheckedIOException(new EOFException("client closed before the request body's end"));
            }
        }
        CompletableFuture<LeanApi.Answer> answer = owner.api.start(
                apiOperation,
                head.rawPath,
                head.header(ProxyService.TOKEN),
                head.header(HeaderNames.AUTHORIZATION),
                requestBody);
        if (loop != null && !answer.isDone()) {
            apiPending = answer;
            return;
        }
        exchange.send(awaitAnswer(answer));
    }

    /** The lean API's answer, waited for on the connection's thread (the API bounds the wait: its write timeout). */
    private static LeanApi.Answer awaitAnswer(CompletableFuture<LeanApi.Answer> answer) {
        try {
            return answer.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloseConnectionException("the connection closed while its write was in flight");
        } catch (ExecutionException e) {
            throw new IllegalStateException("the lean API failed", e.getCause());
        }
    }

    /**
     * Runs the proxy's work for the current request and settles its permit.
     *
     * @return {@link #ANSWER_KEEP} when the answer is out and the connection can take the next
     *     request, {@link #ANSWER_CLOSE} when the connection ends, {@link #ANSWER_PENDING} when
     *     the answer goes on on the event loop, or on the connection's thread (the permit with it)
     */
    private int answer(LimitAlgorithm.Token token, Runnable work) {
        try {
            work.run();
            if (deferred()) {
                loopToken = token;
                return ANSWER_PENDING;
            }
            token.success();
        } catch (CloseConnectionException e) {
            // The answer was broken off (upstream failure mid-body, client gone): the client sees a
            // cut connection rather than a short answer.
            token.dropped();
            dropDeferred();
            return ANSWER_CLOSE;
        } catch (UncheckedIOException e) {
            token.dropped(); // the client went away while its answer was written
            dropDeferred();
            return ANSWER_CLOSE;
        } catch (RuntimeException e) {
            token.dropped();
            dropDeferred();
            owner.errors.record(e);
            if (!exchange.isSent()) {
                try {
                    exchange.refuse(500, "Internal Server Error");
                } catch (UncheckedIOException gone) {
                    // nothing more to tell a client that went away
                }
            }
            return ANSWER_CLOSE;
        }
        return exchange.finish() ? ANSWER_KEEP : ANSWER_CLOSE;
    }

    /**
     * Reads until {@code in[pos ..]} holds a whole request head.
     *
     * @return the index just past the head's empty line; {@link #CLOSED}; or {@link #TOO_LONG}
     *     when the request line or the head outgrew the listener's limits
     */
    private int readHead() {
        int scanned = pos;
        boolean lineEnded = false;
        int maxHead = owner.maxRequestLineBytes + owner.maxHeaderBytes + 4;
        while (true) {
            byte[] b = in;
            for (int i = Math.max(scanned, pos + 3); i < lim; i++) {
                if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                    return i + 1;
                }
            }
            scanned = lim;
            int buffered = lim - pos;
            if (!lineEnded) {
                for (int i = pos; i < lim && !lineEnded; i++) {
                    lineEnded = b[i] == '\n';
                }
                if (!lineEnded && buffered > owner.maxRequestLineBytes + 1) {
                    return TOO_LONG;
                }
            }
            if (buffered > maxHead) {
                return TOO_LONG;
            }
            int before = pos;
            if (loop != null) {
                int n = fillOnLoop();
                if (n == 0) {
                    return WOULD_BLOCK;
                }
                if (n < 0) {
                    return CLOSED;
                }
            } else if (!fill()) {
                return CLOSED;
            }
            // fill() may have moved the unread bytes to the start of a new buffer
            scanned -= before - pos;
        }
    }

    /**
     * Reads once from the client into the input buffer.
     *
     * @return false when the client closed the connection or it failed (a reset, the guard's or
     *     the server's interrupt)
     */
    boolean fill() {
        byte[] got;
        try {
            got = socket.get();
        } catch (UncheckedIOException e) {
            return false;
        }
        if (got == null) {
            return false;
        }
        if (pos == lim) {
            // Nothing left over: the array read is the buffer (no copy).
            in = got;
            pos = 0;
            lim = got.length;
            return true;
        }
        int left = lim - pos;
        byte[] joined = new byte[left + got.length];
        System.arraycopy(in, pos, joined, 0, left);
        System.arraycopy(got, 0, joined, left, got.length);
        in = joined;
        pos = 0;
        lim = joined.length;
        return true;
    }

    /** Gives the connection, with every byte read and not served, to Helidon's HTTP/1.1. */
    private void handOff(Limit limit) throws InterruptedException {
        owner.handedOff.increment();
        byte[] unread = pos == lim ? null : Arrays.copyOfRange(in, pos, lim);
        in = EMPTY;
        pos = 0;
        lim = 0;
        ServerConnection helidon = http1.apply(new HandedOffContext(ctx, unread));
        handedTo = helidon;
        if (closing) {
            return;
        }
        helidon.handle(limit);
    }

    /** Writes bytes to the client (the whole array range, one write). */
    void write(byte[] bytes, int from, int length) {
        if (loop != null) {
            writeOnLoop(bytes, from, length);
            return;
        }
        writer.writeNow(BufferData.create(bytes, from, length));
    }

    /** Sends {@code 100 Continue} (the client waits for it before it sends its body). */
    void writeContinue() {
        write(CONTINUE, 0, CONTINUE.length);
    }

    /** {@code X-Forwarded-For: <client> CRLF}, for a request that has none: made once per connection. */
    byte[] forwardedFor() {
        byte[] line = forwardedFor;
        if (line == null) {
            line = ("X-Forwarded-For: " + clientAddress() + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            forwardedFor = line;
        }
        return line;
    }

    /**
     * {@code X-Helidon-Cn: <name> CRLF} for a client that presented a certificate (the field Helidon
     * sets from it, and which it never takes from a client), else empty: made once per connection.
     */
    byte[] clientName() {
        byte[] line = clientName;
        if (line == null) {
            line = ctx.remotePeer()
                    .tlsCertificates()
                    .flatMap(TlsUtils::parseCn)
                    .map(cn -> ("X-Helidon-Cn: " + cn + "\r\n").getBytes(StandardCharsets.ISO_8859_1))
                    .orElse(EMPTY);
            clientName = line;
        }
        return line;
    }

    /** The client's address as {@code X-Forwarded-For} names it. */
    String clientAddress() {
        return Forwarder.formatAddress(ctx.remotePeer().address());
    }

    boolean secure() {
        return ctx.isSecure();
    }

    @Override
    public Duration idleTime() {
        ServerConnection helidon = handedTo;
        if (helidon != null) {
            return helidon.idleTime();
        }
        return awaitingHead ? Duration.ofNanos(System.nanoTime() - idleSinceNanos) : Duration.ZERO;
    }

    @Override
    public void close(boolean interrupt) {
        closing = true;
        ServerConnection helidon = handedTo;
        if (helidon != null) {
            helidon.close(interrupt);
            return;
        }
        if (interrupt || awaitingHead) {
            interruptThread();
        }
    }

    /** Interrupts the thread that runs the connection's loop now (see {@link PlatformLoop}). */
    private void interruptThread() {
        synchronized (interruptLock) {
            Thread t = thread;
            if (t != null) {
                t.interrupt();
            }
        }
    }

    /** Whether the server asked the connection to close. */
    boolean closing() {
        return closing;
    }

    // ---------------------------------------------------------------- on an event loop

    /**
     * Whether the first request's head, already read, is Helidon's (the API's other requests, or
     * anything the lean parser leaves to Helidon): such a connection is not handed to an event loop.
     */
    private boolean firstRequestIsHelidons() {
        for (int i = pos + 3; i < lim; i++) {
            if (in[i] == '\n' && in[i - 1] == '\r' && in[i - 2] == '\n' && in[i - 3] == '\r') {
                return !head.parse(in, pos, i + 1) || route() == LeanApi.NONE;
            }
        }
        return false;
    }

    /**
     * Hands the connection to an event loop and waits until the loop gives it back: at its end, or
     * at a request the loop does not serve. An interrupt (the server closing the connection, the
     * guard's deadline) closes the connection on the loop, as it would close a blocked read.
     *
     * @return {@link #LOOP_CLOSED}, {@link #LOOP_REQUEST} or {@link #LOOP_CALL}
     */
    private int onLoop(Limit limit) {
        EventLoop l = owner.nextLoop();
        loopLimit = limit;
        CountDownLatch done = new CountDownLatch(1);
        loopDone = done;
        l.execute(() -> adopt(l));
        boolean interrupted = awaitPassingInterrupts(done, () -> {
            closing = true;
            l.execute(this::closeOnLoop);
        });
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        // the latch orders the loop's writes before these reads
        return interrupted ? LOOP_CLOSED : loopOutcome;
    }

    /** On the loop: registers the client's channel and serves what it already sent. */
    private void adopt(EventLoop l) {
        try {
            channel.configureBlocking(false);
            key = l.register(channel, SelectionKey.OP_READ, k -> clientReady());
        } catch (IOException | RuntimeException e) {
            loopOutcome = LOOP_CLOSED;
            loopDone.countDown();
            return;
        }
        loop = l;
        if (!adopted) {
            adopted = true;
            owner.onEventLoops.increment();
        }
        if (closing) {
            closeOnLoop();
            return;
        }
        guarded(this::step);
    }

    /** Runs loop work of the connection; a defect closes the connection rather than leave it hanging. */
    private void guarded(Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            owner.errors.record(e);
            closing = true;
            if (forward != null && forward.active()) {
                forward.abort();
            } else {
                pendingFrom = pendingTo;
                releaseLoop(LOOP_CLOSED);
            }
        }
    }

    /** On the loop: the client's socket is ready. */
    private void clientReady() {
        guarded(this::clientReadyNow);
    }

    private void clientReadyNow() {
        SelectionKey k = key;
        if (k == null || !k.isValid() || releasing) {
            return;
        }
        if (k.isWritable()) {
            if (!flushOut()) {
                return;
            }
            if (closeWhenFlushed) {
                releaseLoop(LOOP_CLOSED);
                return;
            }
            if (forward != null && forward.active()) {
                forward.clientDrained();
                return;
            }
        }
        step();
    }

    /** On the loop: serves the requests in the buffer and on the socket until one waits for something. */
    private void step() {
        while (!releasing) {
            if (forward != null && forward.active() || apiInFlight || pendingTo > pendingFrom) {
                pauseReads(); // the next request is read once this answer is out
                return;
            }
            if (closing) {
                releaseLoop(LOOP_CLOSED);
                return;
            }
            int end = readHead();
            if (end == WOULD_BLOCK) {
                resumeReads();
                return;
            }
            if (end == CLOSED) {
                releaseLoop(LOOP_CLOSED);
                return;
            }
            int route = parsedWithinLimits(end) ? route() : LeanApi.NONE;
            if (route == LeanApi.NONE
                    || head.expectContinue
                    || head.chunked
                    || head.contentLength > LeanConnections.MAX_LOOP_BODY_BYTES) {
                // Not the loop's: Helidon's, or a body streamed as it comes (on the connection's thread).
                releaseLoop(LOOP_REQUEST);
                return;
            }
            if (head.contentLength > lim - end) {
                // The rest of a small body is on its way: it is forwarded whole.
                int n = fillOnLoop();
                if (n == 0) {
                    resumeReads();
                    return;
                }
                if (n < 0) {
                    releaseLoop(LOOP_CLOSED);
                    return;
                }
                continue;
            }
            pos = end;
            awaitingHead = false;
            deadlines.headArrived();
            int answered = serveOnLoop(route);
            if (answered == ANSWER_PENDING) {
                return; // loopRequestDone goes on
            }
            if (!afterAnswer(answered == ANSWER_KEEP) || waitsForReadable()) {
                return;
            }
        }
    }

    /**
     * On the loop, after an answer: whether the connection can wait for its socket to be readable
     * rather than read now. A client sends its next request after this answer, so a read now would
     * mostly find nothing (a failed system call per request); the socket's read interest is on, and
     * the selector reports a request that did arrive (level-triggered).
     */
    private boolean waitsForReadable() {
        return pos == lim && !readsPaused && pendingTo == pendingFrom && !closing && !releasing;
    }

    /** On the loop: answers the request just parsed, or starts forwarding it. */
    private int serveOnLoop(int route) {
        int answered = serveParsed(loopLimit, route);
        if (answered != ANSWER_PENDING) {
            return answered;
        }
        if (apiPending != null) {
            awaitApiOnLoop();
            return ANSWER_PENDING;
        }
        if (handedCall != null) {
            // A call the loop does not forward (TLS, a name to look up): the connection's thread does.
            releaseLoop(LOOP_CALL);
            return ANSWER_PENDING;
        }
        Forwarder.Call call = loopCall;
        byte[] requestBody = loopBody;
        loopCall = null;
        loopBody = null;
        LimitAlgorithm.Token token = loopToken;
        loopToken = null;
        forward.start(exchange, call, requestBody, deferredRecorder, token);
        return ANSWER_PENDING;
    }

    /**
     * On the loop: a request's answer is done (or the connection is to end).
     *
     * @return whether the connection goes on with its next request
     */
    private boolean afterAnswer(boolean keep) {
        if (!keep) {
            releaseLoop(LOOP_CLOSED);
            return false;
        }
        idleSinceNanos = System.nanoTime();
        awaitingHead = true;
        deadlines.answered();
        return true;
    }

    /** Called by {@link LoopForward} when a forwarded request ended; {@code keep}: the answer is whole. */
    void loopRequestDone(boolean keep) {
        guarded(() -> {
            if (afterAnswer(keep && exchange.finish()) && !waitsForReadable()) {
                step();
            }
        });
    }

    /**
     * Called by the proxy (through {@link LeanExchange}) with a decided call on a loop: forwarded by
     * the loop when it can, else left to the connection's thread.
     */
    void deferCall(Forwarder forwarder, Forwarder.Call call) {
        if (!LoopForward.loopable(call)) {
            handedCall = call;
            return;
        }
        if (forward == null) {
            forward = new LoopForward(forwarder, this, loop);
        }
        byte[] requestBody = call.body();
        if (requestBody == null && head.contentLength > 0 && !body.done()) {
            // Whole in the buffer (the loop takes no other request): sent, and sent again on a
            // retry, from an array.
            requestBody = body.takeBuffered();
        }
        loopCall = call;
        loopBody = requestBody;
    }

    /**
     * On the loop: the lean API's answer is written once the registry's write is durable; the
     * client is not read meanwhile. A connection closed meanwhile drops it (the write stands).
     */
    private void awaitApiOnLoop() {
        CompletableFuture<LeanApi.Answer> pending = apiPending;
        LimitAlgorithm.Token token = loopToken;
        apiPending = null;
        loopToken = null;
        apiInFlight = true;
        EventLoop l = loop;
        pending.whenComplete((answer, failure) -> l.execute(() -> guarded(() -> {
            apiInFlight = false;
            if (loop != l || releasing) {
                token.dropped(); // the connection closed meanwhile
                return;
            }
            int answered = answer(token, () -> {
                if (failure != null) {
                    throw new IllegalStateException("the lean API failed", failure);
                }
                exchange.send(answer);
            });
            if (afterAnswer(answered == ANSWER_KEEP) && !waitsForReadable()) {
                step();
            }
        })));
    }

    /** Forgets a deferred call of a request that failed after deferring it (the connection ends). */
    private void dropDeferred() {
        apiPending = null;
        loopCall = null;
        loopBody = null;
        handedCall = null;
        deferredRecorder = null;
    }

    /** Whether the current request's answer was deferred: to the loop's forwarding, or to the connection's thread. */
    boolean deferred() {
        return loopCall != null || handedCall != null || apiPending != null;
    }

    /** The route's recorder of the deferred answer. */
    void deferRecorder(ProxyObserver.RouteRecorder recorder) {
        deferredRecorder = recorder;
    }

    /** Whether the connection is served by an event loop now (on its thread: the loop's). */
    boolean onLoop() {
        return loop != null;
    }

    /**
     * On the connection's thread: forwards the call the loop decided and left to it, as
     * {@link #serve} would have.
     *
     * @return whether the connection goes on
     */
    private boolean serveHandedCall() {
        Forwarder.Call call = handedCall;
        ProxyObserver.RouteRecorder recorder = deferredRecorder;
        LimitAlgorithm.Token token = loopToken;
        handedCall = null;
        deferredRecorder = null;
        loopToken = null;
        if (answer(token, () -> owner.proxy.forwardDecided(exchange, call, recorder)) != ANSWER_KEEP) {
            return false;
        }
        idleSinceNanos = System.nanoTime();
        awaitingHead = true;
        deadlines.answered();
        return true;
    }

    /** On the loop: the connection is to close (the server's or the guard's interrupt, or a shutdown). */
    private void closeOnLoop() {
        if (loop == null || releasing) {
            return;
        }
        closing = true;
        pendingFrom = pendingTo; // a client that does not read its answer is not waited for
        if (forward != null && forward.active()) {
            forward.abort(); // ends in loopRequestDone, which releases the connection
            return;
        }
        releaseLoop(LOOP_CLOSED);
    }

    /**
     * On the loop: gives the connection back to its thread. Its key is cancelled; once the
     * selector has dropped the channel it is made blocking again (unless it is closing), and the
     * thread goes on.
     */
    private void releaseLoop(int outcome) {
        if (releasing) {
            return;
        }
        if (outcome == LOOP_CLOSED && pendingTo > pendingFrom) {
            closeWhenFlushed = true; // after the answer's last bytes
            pauseReads();
            awaitingHead = true;
            deadlines.answered(); // a client that never takes them is closed after the keep-alive timeout
            return;
        }
        releasing = true;
        EventLoop l = loop;
        l.deregister(key, () -> {
            int result = outcome;
            if (result != LOOP_CLOSED) {
                try {
                    channel.configureBlocking(true);
                } catch (IOException | RuntimeException e) {
                    result = LOOP_CLOSED;
                }
            }
            loop = null;
            key = null;
            forward = null;
            readsPaused = false;
            releasing = false;
            loopOutcome = result;
            loopDone.countDown();
        });
    }

    private void pauseReads() {
        if (!readsPaused && key.isValid()) {
            readsPaused = true;
            key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
        }
    }

    private void resumeReads() {
        if (readsPaused && key.isValid()) {
            readsPaused = false;
            key.interestOps(key.interestOps() | SelectionKey.OP_READ);
        }
    }

    /**
     * On the loop: one non-blocking read into the input buffer (the loop's own array, compacted or
     * grown as needed).
     *
     * @return bytes read, 0 when there were none, -1 at the end of the stream (or a failure)
     */
    private int fillOnLoop() {
        int left = lim - pos;
        if (left == 0) {
            pos = 0;
            lim = 0;
            if (in.length < LOOP_BUFFER_BYTES) {
                in = new byte[LOOP_BUFFER_BYTES];
            }
        } else if (lim == in.length) {
            // No room after the unread bytes: to the start of this array, or of a larger one.
            byte[] b = pos > 0 && in.length >= LOOP_BUFFER_BYTES
                    ? in
                    : new byte[Math.max(LOOP_BUFFER_BYTES, in.length * 2)];
            System.arraycopy(in, pos, b, 0, left);
            in = b;
            pos = 0;
            lim = left;
        }
        int n;
        try {
            n = loop.io().read(channel, in, lim, in.length - lim);
        } catch (IOException e) {
            return -1;
        }
        if (n > 0) {
            lim += n;
        }
        return n;
    }

    /** On the loop: writes answer bytes; what the socket does not take waits for {@code OP_WRITE}. */
    private void writeOnLoop(byte[] bytes, int from, int length) {
        if (pendingTo == pendingFrom) {
            pendingFrom = 0;
            pendingTo = 0;
            int written;
            try {
                written = loop.io().write(channel, bytes, from, length);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (written == length) {
                return;
            }
            from += written;
            length -= written;
            key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
        }
        if (pendingOut == null || pendingOut.length - pendingTo < length) {
            int kept = pendingTo - pendingFrom;
            byte[] grown = new byte[Math.max(kept + length, pendingOut == null ? 0 : pendingOut.length)];
            if (kept > 0) {
                System.arraycopy(pendingOut, pendingFrom, grown, 0, kept);
            }
            pendingOut = grown;
            pendingFrom = 0;
            pendingTo = kept;
        }
        System.arraycopy(bytes, from, pendingOut, pendingTo, length);
        pendingTo += length;
    }

    /**
     * On the loop: writes pending answer bytes.
     *
     * @return whether none are left (the write interest is then off); a failed write drops them
     *     and ends the connection
     */
    private boolean flushOut() {
        if (pendingTo > pendingFrom) {
            try {
                pendingFrom += loop.io().write(channel, pendingOut, pendingFrom, pendingTo - pendingFrom);
            } catch (IOException e) {
                pendingFrom = pendingTo;
                if (forward != null && forward.active()) {
                    forward.abort();
                } else {
                    releaseLoop(LOOP_CLOSED);
                }
                return false;
            }
            if (pendingTo > pendingFrom) {
                return false;
            }
        }
        pendingFrom = 0;
        pendingTo = 0;
        if (pendingOut != null && pendingOut.length > LoopForward.PAUSE_BYTES * 2) {
            pendingOut = null; // an idle connection does not keep a large answer's buffer
        }
        key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
        return true;
    }

    /** Answer bytes the client's socket has not taken yet. */
    int pendingOutput() {
        return pendingTo - pendingFrom;
    }

    // ---------------------------------------------------------------- request body

    /**
     * The body of the current request, decoded from its framing (Content-Length or chunked), read
     * from the input buffer and then from the socket. Ends at the body's end, so that the next
     * request's bytes stay in the buffer. A malformed chunk, a body past the listener's payload cap
     * or a client that closes within the body is an {@link IOException}: the proxy then closes the
     * connection. Reused per request.
     */
    final class RequestBody extends InputStream {
        /** Bytes left in the body (length) or in the current chunk (chunked). */
        private long remaining;

        private long total;
        private boolean done;
        private boolean started;

        void start() {
            started = false;
            total = 0;
            if (head.chunked) {
                remaining = 0;
                done = false;
            } else {
                remaining = Math.max(0, head.contentLength);
                done = remaining == 0;
            }
        }

        /** Whether the whole body has been read. */
        boolean done() {
            return done;
        }

        /** The rest of a body of known length that is whole in the buffer, taken (the body is then read). */
        byte[] takeBuffered() {
            int n = (int) remaining;
            byte[] b = Arrays.copyOfRange(in, pos, pos + n);
            pos += n;
            remaining = 0;
            done = true;
            return b;
        }

        /** Whether any of the body has been asked for (a client waiting for 100 Continue has it by then). */
        boolean started() {
            return started;
        }

        /** Bytes left of a body of known length. */
        long remaining() {
            return head.chunked ? -1 : remaining;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (done) {
                return -1;
            }
            if (!started) {
                started = true;
                if (head.expectContinue && !exchange.isSent()) {
                    writeContinue();
                }
            }
            if (head.chunked && remaining == 0) {
                nextChunk();
                if (done) {
                    return -1;
                }
            }
            if (pos == lim && !fill()) {
                throw new EOFException("the client closed the connection within its request body");
            }
            int n = (int) Math.min(Math.min(len, remaining), lim - pos);
            System.arraycopy(in, pos, b, off, n);
            pos += n;
            remaining -= n;
            if (remaining == 0) {
                if (head.chunked) {
                    expectCrlf();
                } else {
                    done = true;
                }
            }
            return n;
        }

        private void nextChunk() throws IOException {
            long size = UpstreamConnection.chunkSize(readLine());
            if (size == 0) {
                // Trailer fields, then the empty line; trailers are not forwarded.
                int trailers = 0;
                while (!readLine().isEmpty()) {
                    if (++trailers > 64) {
                        throw new IOException("too many trailer fields in the request body");
                    }
                }
                done = true;
                return;
            }
            total += size;
            if (total > maxPayloadBytes) {
                throw new IOException(
                        "request body larger than the listener's payload cap of " + maxPayloadBytes + " bytes");
            }
            remaining = size;
        }

        private void expectCrlf() throws IOException {
            if (!readLine().isEmpty()) {
                throw new IOException("a chunk of the request body not followed by CRLF");
            }
        }

        /** One line of chunked framing, its CRLF removed (a bare LF is refused). */
        private String readLine() throws IOException {
            int scanned = pos;
            while (true) {
                for (int i = scanned; i < lim; i++) {
                    if (in[i] == '\n') {
                        if (i == pos || in[i - 1] != '\r') {
                            throw new IOException("bare LF in the chunked framing of the request body");
                        }
                        String line = RequestHead.ascii(in, pos, i - 1);
                        pos = i + 1;
                        return line;
                    }
                }
                if (lim - pos > 4096) {
                    throw new IOException("chunk header line of the request body too long");
                }
                int left = lim - pos;
                if (!fill()) {
                    throw new EOFException("the client closed the connection within its chunked request body");
                }
                scanned = pos + left;
            }
        }

        /**
         * Reads and drops what is left of the body, at most {@code max} bytes.
         *
         * @return whether the body was read to its end
         */
        boolean drain(int max) {
            byte[] sink = new byte[Math.min(max, 16 * 1024)];
            long dropped = 0;
            try {
                while (!done && dropped <= max) {
                    int n = read(sink, 0, sink.length);
                    if (n < 0) {
                        break;
                    }
                    dropped += n;
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
            return done;
        }
    }
}
