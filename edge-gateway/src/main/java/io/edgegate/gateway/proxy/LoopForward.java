package io.edgegate.gateway.proxy;

import io.edgegate.gateway.proxy.Forwarder.Failure;
import io.edgegate.gateway.proxy.Forwarder.Kind;
import io.helidon.common.concurrency.limits.LimitAlgorithm;
import io.helidon.http.Method;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * One lean connection's forwarded request on its {@link EventLoop}: {@link Forwarder#forward}'s
 * attempts, retries, timeouts and relay as steps the loop runs when a socket is ready or a tick
 * comes, with the same decisions, counters and answers as the blocking path (the two share
 * {@link Forwarder}'s failure kinds, classification and answers, the pools' balancers, the
 * services' retry budgets and outlier detection).
 *
 * <ul>
 *   <li>The request's body, if any, is whole in the connection's buffer (the loop takes no other
 *       request), so every attempt can send it again.
 *   <li>Upstream connections are the loop's own (plain HTTP to IP literals; {@link #loopable}),
 *       opened without blocking, kept idle per loop ({@link EventLoop#takeIdle}).
 *   <li>A small answer of known length is read whole before the client sees it (retried when it
 *       breaks, as on the blocking path); any other body is copied as it comes, flushed after each
 *       read for event streams and bodies of unknown length, and reading the upstream pauses while
 *       the client has not taken {@link #PAUSE_BYTES}.
 * </ul>
 *
 * <p>Not thread-safe: owned by the loop's thread, reused for each request of its connection.
 */
final class LoopForward implements EventLoop.Handler, EventLoop.Timed {
    /** Bytes the client may leave untaken before reading the upstream pauses. */
    static final int PAUSE_BYTES = 256 * 1024;

    private static final int COPY_BUFFER_BYTES = 16 * 1024;

    private enum Phase {
        IDLE,
        CONNECTING,
        WRITING,
        HEAD,
        WHOLE_BODY,
        STREAM
    }

    private final Forwarder forwarder;
    private final LeanConnection conn;
    private final EventLoop loop;

    // the request
    private LeanExchange ex;
    private Forwarder.Call call;
    private Method method;
    private byte[] body;
    /**
     * Whether the request can be sent again: it has no body, or the proxy read it for its own use
     * (model routing). A body taken from the client's stream is not, as on the blocking path: an
     * upstream may have acted on it.
     */
    private boolean replayable;

    private boolean idempotent;
    private int maxAttempts;
    private Upstream[] tried;
    private int triedCount;
    private Failure last;
    private int attempts;
    private int attempt;
    private ProxyObserver.RouteRecorder routeRecorder;
    private LimitAlgorithm.Token token;

    // the attempt
    private Phase phase = Phase.IDLE;
    private Upstream u;
    private boolean more;
    private boolean retryWanted;
    private boolean mayRetry;
    private ConnectionPool pool;
    private SocketChannel connecting;
    private UpstreamConnection c;
    private SelectionKey key;
    private boolean reused;
    private long startNanos;
    private long connectDeadline;
    private long totalDeadline;
    private long idleDeadline;
    private boolean idleOnly;
    private boolean ticking;

    // the answer
    private byte[] whole;
    private int wholeLength;
    private OutputStream out;
    private byte[] copy;
    private boolean flushEachRead;
    private boolean paused;

    LoopForward(Forwarder forwarder, LeanConnection conn, EventLoop loop) {
        this.forwarder = forwarder;
        this.conn = conn;
        this.loop = loop;
    }

    /**
     * Whether the loop can forward this call: plain HTTP to instances whose addresses are IP
     * literals (TLS handshakes and name lookups block, so they stay on the connection's thread).
     */
    static boolean loopable(Forwarder.Call call) {
        return call.route().tls() == null && call.pool().plainLiterals;
    }

    /** Whether a request is being forwarded. */
    boolean active() {
        return phase != Phase.IDLE;
    }

    /**
     * Starts forwarding the connection's current request; the connection hears of its end through
     * {@link LeanConnection#loopRequestDone}.
     *
     * @param requestBody the request's body, whole (null for none)
     * @param recorder the route's recorder of the answer's status, or null
     * @param permit the request's permit of the listener's limit, settled at the end
     */
    void start(
            LeanExchange exchange,
            Forwarder.Call decided,
            byte[] requestBody,
            ProxyObserver.RouteRecorder recorder,
            LimitAlgorithm.Token permit) {
        ex = exchange;
        call = decided;
        method = exchange.method();
        body = requestBody;
        replayable = decided.body() != null || requestBody == null;
        idempotent = Forwarder.idempotent(method);
        maxAttempts = 1 + decided.route().retries();
        tried = null;
        triedCount = 0;
        last = null;
        attempts = 0;
        attempt = 0;
        routeRecorder = recorder;
        token = permit;
        nextAttempt();
    }

    // ---------------------------------------------------------------- attempts

    private void nextAttempt() {
        long now = System.nanoTime();
        Upstream up =
                call.pool().pick(call.balancer(), call.hash(), call.hashed(), call.scored(), tried, triedCount, now);
        if (up == null) {
            failed();
            return;
        }
        RetryBudget budget = up.service.budget;
        if (attempt == 0) {
            budget.deposit();
            up.service.requests.increment();
        }
        more = attempt + 1 < maxAttempts && triedCount + 1 < call.pool().size();
        retryWanted = more && idempotent && replayable;
        mayRetry = retryWanted && budget.canRetry();
        attempts++;
        u = up;
        up.inFlight.incrementAndGet();
        ProxyObserver.ServiceRecorder recorder = up.service.recorder;
        startNanos = recorder == null ? 0 : now;
        totalDeadline = now + TimeUnit.MILLISECONDS.toNanos(call.route().timeoutMillis());
        idleDeadline = now + TimeUnit.MILLISECONDS.toNanos(call.route().idleTimeoutMillis());
        idleOnly = false;
        pool = forwarder.pools.of(up);
        if (!ticking) {
            ticking = true;
            loop.ticks(this);
        }
        connect(false, now);
    }

    /** Takes an idle connection of the loop (unless {@code fresh}) or opens a new one. */
    private void connect(boolean fresh, long now) {
        UpstreamConnection idle = fresh ? null : loop.takeIdle(pool);
        if (idle != null) {
            reused = true;
            c = idle;
            key = idle.channel().keyFor(loop.selector());
            key.attach(this);
            send();
            return;
        }
        reused = false;
        SocketChannel channel;
        try {
            channel = pool.startConnect(now);
        } catch (IOException | RuntimeException e) {
            attemptFailed(e, false);
            return;
        }
        try {
            if (channel.isConnectionPending()) {
                connecting = channel;
                connectDeadline =
                        now + TimeUnit.MILLISECONDS.toNanos(call.route().connectTimeoutMillis());
                key = loop.register(channel, SelectionKey.OP_CONNECT, this);
                phase = Phase.CONNECTING;
                return;
            }
            c = pool.connected(channel, loop.io());
            key = loop.register(channel, SelectionKey.OP_READ, this);
        } catch (IOException | RuntimeException e) {
            close(channel);
            attemptFailed(e, false);
            return;
        }
        send();
    }

    private void connected() {
        SocketChannel channel = connecting;
        connecting = null;
        try {
            channel.finishConnect();
            c = pool.connected(channel, loop.io());
            key.interestOps(SelectionKey.OP_READ);
        } catch (IOException | RuntimeException e) {
            key.cancel();
            close(channel);
            attemptFailed(e, false);
            return;
        }
        send();
    }

    /** Writes the request (head and body); what the socket does not take waits for {@code OP_WRITE}. */
    private void send() {
        try {
            c.startHead(method.text(), call.rawPath(), call.rawQuery());
            ex.forwardHeaders(c, call.gatewayAuthorization());
            if (body != null) {
                c.header("Content-Length", body.length);
            } else if (method == Method.POST || method == Method.PUT || method == Method.PATCH) {
                c.header("Content-Length", 0);
            }
            c.flushHead(body);
            if (!c.flushPending()) {
                phase = Phase.WRITING;
                key.interestOps(SelectionKey.OP_WRITE);
                return;
            }
        } catch (IOException | RuntimeException e) {
            exchangeFailed(e);
            return;
        }
        phase = Phase.HEAD;
    }

    @Override
    public void ready(SelectionKey k) {
        try {
            step(k);
        } catch (RuntimeException e) {
            abort(); // a defect: the request ends (its connection closed) rather than hang
            throw e;
        }
    }

    private void step(SelectionKey k) {
        if (!k.isValid()) {
            return;
        }
        switch (phase) {
            case CONNECTING -> {
                if (k.isConnectable()) {
                    connected();
                }
            }
            case WRITING -> {
                try {
                    if (c.flushPending()) {
                        phase = Phase.HEAD;
                        k.interestOps(SelectionKey.OP_READ);
                    }
                } catch (IOException | RuntimeException e) {
                    exchangeFailed(e);
                }
            }
            case HEAD -> readHead();
            case WHOLE_BODY -> readWholeBody();
            case STREAM -> pump();
            case IDLE -> k.interestOps(0); // not expected: an idle connection has its own handler
        }
    }

    private void readHead() {
        idleDeadline =
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(call.route().idleTimeoutMillis());
        try {
            c.readHead(method == Method.HEAD);
        } catch (WouldBlock e) {
            return;
        } catch (IOException | RuntimeException e) {
            exchangeFailed(e);
            return;
        }
        ProxyObserver.ServiceRecorder recorder = u.service.recorder;
        if (recorder != null) {
            recorder.upstreamAnswered(System.nanoTime() - startNanos);
        }
        int status = c.status;
        ServiceRuntime service = u.service;
        if (status == 502 || status == 503 || status == 504) {
            service.onFailure(u, System.nanoTime());
        } else {
            service.onSuccess(u);
        }
        if (status == 502 || status == 503) {
            if (mayRetry) {
                Failure f = new Failure(Kind.STATUS, u, status, "answered " + status, false, false);
                endAttempt();
                afterFailure(f);
                return;
            }
            if (retryWanted) {
                forwarder.retriesRefused.increment(); // the budget is spent: the client gets this answer
            }
        }
        relay();
    }

    /** Starts the answer to the client, as {@link Forwarder}'s relay does. */
    private void relay() {
        boolean stream = Forwarder.streaming(c);
        if (stream) {
            idleOnly = true; // a stream has only the idle timeout
        }
        long length = c.contentLength;
        try {
            if (c.noBody) {
                ex.relay(c, method == Method.HEAD ? length : -1);
                succeeded();
                return;
            }
            if (!stream && length >= 0 && length <= forwarder.retryBufferBytes()) {
                wholeLength = (int) length;
                whole = ex.bodyBuffer(wholeLength);
                phase = Phase.WHOLE_BODY;
                if (c.bodyBuffered(wholeLength)) {
                    answerWhole();
                } else {
                    // A read now acknowledges the head at once: an upstream holding its body for
                    // that ACK (Nagle) sends it without the delayed-ACK timer.
                    readWholeBody();
                }
                return;
            }
            out = ex.relayStream(c, length);
        } catch (UncheckedIOException e) {
            clientGone();
            return;
        }
        if (copy == null) {
            copy = new byte[COPY_BUFFER_BYTES];
        }
        flushEachRead = stream || length < 0;
        paused = false;
        phase = Phase.STREAM;
        pump();
    }

    private void readWholeBody() {
        idleDeadline =
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(call.route().idleTimeoutMillis());
        try {
            while (!c.bodyBuffered(wholeLength)) {
                int n = c.readAvailable();
                if (n == 0) {
                    return;
                }
                if (n < 0) {
                    throw new EOFException("upstream closed within a body of " + wholeLength + " bytes");
                }
            }
        } catch (IOException | RuntimeException e) {
            bodyBroke(e);
            return;
        }
        answerWhole();
    }

    /**
     * A small body broke before the client saw anything: a failed attempt (retried when allowed),
     * as on the blocking path.
     */
    private void bodyBroke(Throwable e) {
        u.service.onFailure(u, System.nanoTime());
        Failure f = new Failure(Kind.RESET, u, 0, detail(e), false, false);
        endAttempt();
        afterFailure(f);
    }

    private void answerWhole() {
        try {
            c.readWhole(whole, wholeLength); // all in the buffer: no read
        } catch (IOException | RuntimeException e) {
            bodyBroke(e);
            return;
        }
        try {
            ex.relay(c, whole, wholeLength);
        } catch (UncheckedIOException e) {
            clientGone();
            return;
        }
        succeeded();
    }

    /** Copies the body from the upstream to the client while both can go on. */
    private void pump() {
        idleDeadline =
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(call.route().idleTimeoutMillis());
        while (true) {
            if (conn.pendingOutput() > PAUSE_BYTES) {
                paused = true;
                key.interestOps(0);
                return;
            }
            int n;
            try {
                n = c.body().read(copy);
            } catch (WouldBlock e) {
                return;
            } catch (IOException | RuntimeException e) {
                midBodyFailure();
                return;
            }
            if (n < 0) {
                break;
            }
            try {
                out.write(copy, 0, n);
                if (flushEachRead) {
                    out.flush();
                }
            } catch (IOException | UncheckedIOException e) {
                clientGone();
                return;
            }
        }
        try {
            out.close();
        } catch (IOException | UncheckedIOException e) {
            clientGone();
            return;
        }
        succeeded();
    }

    /** The client took what was waiting: a paused copy goes on. */
    void clientDrained() {
        if (phase == Phase.STREAM && paused && conn.pendingOutput() <= PAUSE_BYTES / 2) {
            paused = false;
            key.interestOps(SelectionKey.OP_READ);
            pump();
        }
    }

    @Override
    public boolean tick(long now) {
        try {
            return checkDeadlines(now);
        } catch (RuntimeException e) {
            abort();
            throw e;
        }
    }

    private boolean checkDeadlines(long now) {
        switch (phase) {
            case IDLE -> {
                ticking = false;
                return false;
            }
            case CONNECTING -> {
                if (now - connectDeadline > 0) {
                    key.cancel();
                    close(connecting);
                    connecting = null;
                    attemptFailed(
                            new SocketTimeoutException(
                                    "connect timed out after " + call.route().connectTimeoutMillis() + " ms"),
                            false);
                }
            }
            case STREAM -> {
                boolean idle = now - idleDeadline > 0 && !paused;
                if (idle || !idleOnly && now - totalDeadline > 0) {
                    midBodyFailure();
                }
            }
            default -> {
                boolean idle = now - idleDeadline > 0;
                if (idle || now - totalDeadline > 0) {
                    timedOut(idle);
                }
            }
        }
        return true;
    }

    /** A deadline passed before the client had anything: the attempt failed (not retried, as a timeout). */
    private void timedOut(boolean idle) {
        u.service.onFailure(u, System.nanoTime());
        closeConnection();
        Failure f = new Failure(Kind.TIMEOUT, u, 0, timeoutDetail(idle), false, false);
        endAttempt();
        afterFailure(f);
    }

    private String timeoutDetail(boolean idle) {
        return idle
                ? "silent for the idle timeout of " + call.route().idleTimeoutMillis() + " ms"
                : "no complete answer within the total timeout of "
                        + call.route().timeoutMillis() + " ms";
    }

    // ---------------------------------------------------------------- failures

    /**
     * The exchange failed before an answer's head: a reused connection that fails before any byte
     * of an answer was most likely closed by the upstream while idle, and the request goes once
     * more on a new connection (counted, not charged to the retry budget).
     */
    private void exchangeFailed(Throwable e) {
        boolean stale = reused
                && replayable
                && !c.answered()
                && !(e instanceof SocketTimeoutException)
                && !(e instanceof UpstreamProtocolException);
        closeConnection();
        if (stale) {
            forwarder.pools.counters.staleRetries.increment();
            connect(true, System.nanoTime());
            return;
        }
        attemptFailed(e, true);
    }

    /** An attempt failed before the client saw anything. */
    private void attemptFailed(Throwable e, boolean connectionOpened) {
        if (connectionOpened) {
            closeConnection();
        }
        Kind kind = Forwarder.classify(e, false);
        u.service.onFailure(u, System.nanoTime());
        Failure f = new Failure(kind, u, 0, detail(e), false, false);
        endAttempt();
        afterFailure(f);
    }

    private String detail(Throwable e) {
        return Forwarder.detail(e, false, false, call);
    }

    /** After a failed attempt: another instance, or the answer of the last failure. */
    private void afterFailure(Failure f) {
        last = f;
        forwarder.upstreamFailures.increment();
        boolean retriable =
                (f.kind() == Kind.CONNECT || f.kind() == Kind.FORBIDDEN || f.kind() == Kind.TLS) && !f.bodyConsumed()
                        || mayRetry && f.kind() != Kind.TIMEOUT;
        if (!more || !retriable) {
            failed();
            return;
        }
        if (!f.upstream().service.budget.tryRetry()) {
            forwarder.retriesRefused.increment();
            last = f.withBudgetSpent();
            failed();
            return;
        }
        forwarder.retries.increment();
        if (tried == null) {
            tried = new Upstream[maxAttempts];
        }
        tried[triedCount++] = f.upstream();
        attempt++;
        nextAttempt();
    }

    /** No instance gave an answer: the proxy's own (502, 503, 504). */
    private void failed() {
        ProxyException answer = last != null
                ? last.answer(call, attempts)
                : new ProxyException(
                        503,
                        "service",
                        "no-healthy-instance",
                        "no instance of service " + call.route().service() + " to send to",
                        call.route().service(),
                        call.route().name());
        try {
            ProxyJson.sendError(ex, answer);
        } catch (UncheckedIOException e) {
            end(answer.status(), false);
            return;
        }
        end(answer.status(), true);
    }

    /**
     * The upstream broke, or went silent, after the client had the status: the client's connection
     * is cut, so that it sees a broken body rather than a short one.
     */
    private void midBodyFailure() {
        u.service.onFailure(u, System.nanoTime());
        forwarder.abortedMidBody.increment();
        closeConnection();
        endAttempt();
        end(499, false);
    }

    /** The client went away while its answer was written. */
    private void clientGone() {
        forwarder.clientsGone.increment();
        closeConnection();
        endAttempt();
        end(499, false);
    }

    /** Ends the request at once (the connection is being closed). */
    void abort() {
        if (phase == Phase.IDLE) {
            return;
        }
        if (connecting != null) {
            key.cancel();
            close(connecting);
            connecting = null;
        }
        closeConnection();
        endAttempt();
        end(499, false);
    }

    // ---------------------------------------------------------------- the end

    private void succeeded() {
        endAttempt();
        end(ex.status(), true);
    }

    /** The attempt is over: its connection back to the loop's idle ones (when whole) or closed. */
    private void endAttempt() {
        if (c != null) {
            if (c.reusable()) {
                loop.releaseIdle(c, key, System.nanoTime());
            } else {
                closeConnection();
            }
        }
        c = null;
        key = null;
        if (u != null) {
            u.inFlight.decrementAndGet();
            u = null;
        }
        phase = Phase.IDLE;
    }

    private void closeConnection() {
        if (c != null) {
            if (key != null) {
                key.cancel();
            }
            c.close();
            c = null;
            key = null;
        }
    }

    private void end(int status, boolean keep) {
        phase = Phase.IDLE;
        out = null;
        ProxyObserver.RouteRecorder recorder = routeRecorder;
        routeRecorder = null;
        if (recorder != null) {
            recorder.answered(status);
        }
        LimitAlgorithm.Token t = token;
        token = null;
        if (keep) {
            t.success();
        } else {
            t.dropped();
        }
        ex = null;
        call = null;
        body = null;
        whole = null;
        conn.loopRequestDone(keep);
    }

    private static void close(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a channel that failed: nothing left to tell
        }
    }
}
