package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.ForbiddenAddresses;
import io.edgegate.tls.ReloadingTrustManager;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Forwards one request to an instance of its pool and relays the answer (a lean connection on an
 * event loop has {@link LoopForward} do the same there, with this class's failure kinds, answers
 * and counters), on the request's
 * virtual thread, over the proxy's own HTTP/1.1 keep-alive connections ({@link UpstreamConnection},
 * pooled per address, port and TLS setting by {@link ConnectionPools}). A connection is plain, or
 * TLS ({@link UpstreamTls}) when the route has {@code upstream-tls} or the instance says
 * {@code scheme: https}.
 *
 * <ul>
 *   <li>Bodies stream both ways. A request body is copied as it arrives (an inference body was
 *       already read, to find its model, and is sent from that array). A response body is copied
 *       with a flush after every read, so a server-sent-event stream reaches the client event by
 *       event.
 *   <li>Timeouts, all in milliseconds and resolved once per route ({@link Route}): connect (the
 *       socket's connect, and a TLS handshake within the same time again); idle, the longest the
 *       upstream may stay silent, before and during its answer (all a streaming answer gets); total,
 *       for a whole non-streaming exchange. Upstream sockets have no read timeout: the idle and total
 *       timeouts are enforced by the {@link Watchdog}, which interrupts the request's thread (and so
 *       closes the upstream connection).
 *   <li>Retries on another instance: after a connect failure for any request (its body was not
 *       touched), and for idempotent requests whose body can be sent again after a reset or a 502
 *       or 503. Each retry takes a token from the service's {@link RetryBudget}. A small response
 *       of a retriable request is read whole before the client sees it, so that an upstream dying
 *       mid-body is retried, not shown.
 *   <li>Every gateway failure and every success goes to the service's passive outlier detection.
 * </ul>
 *
 * Hop-by-hop headers (those of RFC 9110 section 7.6.1, {@code Proxy-*} and those the
 * {@code Connection} header names) are not forwarded either way; {@code X-Forwarded-For} is
 * appended to, {@code X-Forwarded-Proto} and {@code X-Forwarded-Host} are set to what this hop
 * saw. The upstream gets its own {@code Host}. When the answer breaks after the client has its
 * status (upstream failure mid-body, client gone), the client's connection is closed without the
 * body's end ({@link CloseConnectionException}, which Helidon handles without logging a trace), so
 * the client sees a broken body rather than a short one. Thread-safe.
 */
final class Forwarder implements AutoCloseable {
    static final HeaderName X_FORWARDED_FOR = HeaderNames.create("X-Forwarded-For");
    static final HeaderName X_FORWARDED_PROTO = HeaderNames.create("X-Forwarded-Proto");
    static final HeaderName X_FORWARDED_HOST = HeaderNames.create("X-Forwarded-Host");

    private static final int BUFFER_BYTES = 16 * 1024;
    static final Set<String> HOP_BY_HOP =
            Set.of("connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade");

    private static final String[] HOP_BY_HOP_NAMES = HOP_BY_HOP.toArray(new String[0]);
    /** Request headers this hop sets itself. */
    static final Set<String> REQUEST_OWN = Set.of(
            "host",
            "content-length",
            "expect",
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "x-consul-token");

    /** The policy of instances that say {@code scheme: https} (and of {@code upstream-tls: {}}). */
    private static final RouteSpec.TlsPolicy DEFAULT_TLS = new RouteSpec.TlsPolicy(null, null, false);

    private final ProxyOptions options;
    private final ErrorLog errors;
    private final Watchdog watchdog = new Watchdog();
    final ConnectionPools pools;
    /** One TLS setting per distinct route policy, so equal policies share their pools. */
    private final ConcurrentHashMap<RouteSpec.TlsPolicy, UpstreamTls> tlsByPolicy = new ConcurrentHashMap<>();
    /** One watched CA bundle per file. */
    private final ConcurrentHashMap<String, ReloadingTrustManager> bundles = new ConcurrentHashMap<>();
    /** For instances with {@code scheme: https}; made on first use (a TLS context costs start-up time). */
    private volatile UpstreamTls defaultTls;

    final LongAdder retries = new LongAdder();
    final LongAdder retriesRefused = new LongAdder();
    final LongAdder upstreamFailures = new LongAdder();
    final LongAdder abortedMidBody = new LongAdder();
    final LongAdder clientsGone = new LongAdder();

    Forwarder(ProxyOptions options, ErrorLog errors) {
        this.options = options;
        this.errors = errors;
        this.pools = new ConnectionPools(options.maxIdleConnections());
        watchdog.every(1000, () -> {
            try {
                pools.sweep(System.nanoTime());
            } catch (RuntimeException e) {
                errors.record(e);
            }
        });
    }

    /**
     * The TLS setting of a route's {@code upstream-tls}: its CA bundle (else the gateway's
     * {@code upstream-ca-file}, else the JVM's trust store), server name and verification.
     */
    UpstreamTls tls(RouteSpec.TlsPolicy policy) {
        return tlsByPolicy.computeIfAbsent(policy, p -> {
            if (p.skipVerify()) {
                return UpstreamTls.trustingAnyCertificate(p.serverName());
            }
            if (p.caFile() != null) {
                return UpstreamTls.verifying(bundle(Path.of(p.caFile())), p.serverName());
            }
            return options.upstreamCaFile() != null
                    ? UpstreamTls.verifying(bundle(options.upstreamCaFile()), p.serverName())
                    : UpstreamTls.verifyingWithJvmTrust(p.serverName());
        });
    }

    /** The TLS of instances that say {@code scheme: https}, without a route's {@code upstream-tls}. */
    UpstreamTls defaultTls() {
        UpstreamTls t = defaultTls;
        if (t == null) {
            t = tls(DEFAULT_TLS);
            defaultTls = t; // racing threads get the same object from the map
        }
        return t;
    }

    /**
     * Forgets the TLS settings (and CA bundles) of policies no route has any more, so that routes
     * stored and replaced over months leave nothing behind; their pools retire when unused. Called
     * when the routes change.
     */
    void keepTls(Set<RouteSpec.TlsPolicy> inUse) {
        tlsByPolicy.keySet().removeIf(p -> !p.equals(DEFAULT_TLS) && !inUse.contains(p));
        Set<String> files = new HashSet<>();
        for (RouteSpec.TlsPolicy p : tlsByPolicy.keySet()) {
            if (p.caFile() != null) {
                files.add(p.caFile());
            }
        }
        if (options.upstreamCaFile() != null) {
            files.add(options.upstreamCaFile().toString());
        }
        bundles.keySet().retainAll(files);
    }

    /**
     * The watched CA bundle of a file, lenient: a bundle that went missing since the route was
     * checked fails the handshakes naming it, and is taken up when it is back.
     */
    private ReloadingTrustManager bundle(Path file) {
        return bundles.computeIfAbsent(file.toString(), f -> ReloadingTrustManager.lenient(file));
    }

    /**
     * How requests through one route are forwarded, resolved once: when the route is built
     * ({@link RouteRuntime}), and from the proxy's defaults for routing by model
     * ({@link #defaults}, named per model with {@link #named}). Immutable.
     *
     * @param service the service named in answers (for a model pool across services, their list)
     * @param name the route named in answers
     * @param connectTimeoutMillis the connect timeout of a new upstream connection (and of its TLS
     *     handshake, again)
     * @param idleTimeoutMillis the longest the upstream may stay silent, before and during its
     *     answer; enforced by the {@link Watchdog} (upstream sockets have no read timeout)
     * @param timeoutMillis the total timeout of a non-streaming exchange (the {@link Watchdog})
     * @param retries attempts beyond the first
     * @param tls the route's upstream TLS; null for what each instance says ({@link Upstream#https})
     */
    record Route(
            String service,
            String name,
            long connectTimeoutMillis,
            long idleTimeoutMillis,
            long timeoutMillis,
            int retries,
            UpstreamTls tls) {
        /** The proxy's defaults, no TLS of a route, no names yet. */
        static Route defaults(ProxyOptions options) {
            return new Route(
                    null,
                    null,
                    options.connectTimeoutMillis(),
                    options.idleTimeoutMillis(),
                    options.timeoutMillis(),
                    options.retries(),
                    null);
        }

        /** The same forwarding, named for answers. */
        Route named(String service, String name) {
            return new Route(service, name, connectTimeoutMillis, idleTimeoutMillis, timeoutMillis, retries, tls);
        }
    }

    /**
     * What the router decided for one request.
     *
     * @param route how the route forwards (names, timeouts, retries, TLS), resolved once per route
     * @param pool the instances to choose from
     * @param balancer the effective balancer
     * @param hash the key hash, for consistent hashing
     * @param hashed whether the request has a key
     * @param rawPath the path to send, as it came (percent-encoded)
     * @param rawQuery the query to send, as it came, empty for none
     * @param body the request body already read (inference), or null to stream it
     * @param gatewayAuthorization whether the client's {@code Authorization} carried the gateway's
     *     token (then it is not forwarded)
     * @param scored the request's scoring state for {@link Balancer#SCORE}; null otherwise
     */
    record Call(
            Route route,
            Pool pool,
            Balancer balancer,
            long hash,
            boolean hashed,
            String rawPath,
            String rawQuery,
            byte[] body,
            boolean gatewayAuthorization,
            InstanceScorer.Scored scored) {}

    /** The largest answer of a retriable request read whole before the client sees it. */
    int retryBufferBytes() {
        return options.retryBufferBytes();
    }

    /**
     * Forwards the request and relays the answer.
     *
     * @throws ProxyException the answer when no instance could give one (502, 503, 504), before
     *     anything was sent to the client
     */
    void forward(ClientExchange ex, Call call) {
        if (ex.defer(this, call)) {
            return; // forwarded by the connection's event loop (or its thread) once the proxy returns
        }
        Method method = ex.method();
        boolean idempotent = idempotent(method);
        boolean replayable = call.body() != null || !ex.hasEntity();
        int maxAttempts = 1 + call.route().retries();
        Upstream[] tried = null;
        int triedCount = 0;
        Failure last = null;
        int attempts = 0;
        for (int attempt = 0; ; attempt++) {
            Upstream u = call.pool()
                    .pick(
                            call.balancer(),
                            call.hash(),
                            call.hashed(),
                            call.scored(),
                            tried,
                            triedCount,
                            System.nanoTime());
            if (u == null) {
                break;
            }
            RetryBudget budget = u.service.budget;
            if (attempt == 0) {
                budget.deposit();
                u.service.requests.increment();
            }
            boolean more =
                    attempt + 1 < maxAttempts && triedCount + 1 < call.pool().size();
            boolean retryWanted = more && idempotent && replayable;
            boolean mayRetry = retryWanted && budget.canRetry();
            attempts++;
            Failure f = attempt(ex, call, method, u, mayRetry, retryWanted);
            if (f == null) {
                // The answer is out and the upstream connection back in its pool: the client's next
                // request is likely on its way while others run.
                yieldCarrier();
                return;
            }
            last = f;
            upstreamFailures.increment();
            boolean retriable =
                    (f.kind == Kind.CONNECT || f.kind == Kind.FORBIDDEN || f.kind == Kind.TLS) && !f.bodyConsumed
                            || mayRetry && f.kind != Kind.TIMEOUT;
            if (!more || !retriable) {
                break;
            }
            if (!budget.tryRetry()) {
                retriesRefused.increment();
                last = f.withBudgetSpent();
                break;
            }
            retries.increment();
            if (tried == null) {
                tried = new Upstream[maxAttempts];
            }
            tried[triedCount++] = u;
        }
        if (last == null) {
            throw new ProxyException(
                    503,
                    "service",
                    "no-healthy-instance",
                    "no instance of service " + call.route().service() + " to send to",
                    call.route().service(),
                    call.route().name());
        }
        throw last.answer(call, attempts);
    }

    /**
     * One attempt on one instance.
     *
     * @return null once the client has its answer (or is gone); the failure when nothing was sent
     *     to the client yet and another instance may be tried
     */
    private Failure attempt(
            ClientExchange ex, Call call, Method method, Upstream u, boolean mayRetry, boolean retryWanted) {
        ServiceRuntime service = u.service;
        Attempt a = new Attempt();
        UpstreamConnection c = null;
        u.inFlight.incrementAndGet();
        ProxyObserver.ServiceRecorder recorder = service.recorder;
        long start = recorder == null ? 0 : System.nanoTime();
        try {
            try {
                c = exchange(ex, call, method, u, a);
                if (recorder != null) {
                    recorder.upstreamAnswered(System.nanoTime() - start);
                }
            } catch (IOException | RuntimeException e) {
                boolean fired = a.disarm();
                if (a.clientGone) {
                    clientsGone.increment();
                    throw new CloseConnectionException("client went away while sending its body", e);
                }
                Kind kind = classify(e, fired);
                service.onFailure(u, System.nanoTime());
                return new Failure(kind, u, 0, detail(e, fired, a.idle(), call), a.bodyConsumed, false);
            }
            int status = c.status;
            boolean gatewayFailure = status == 502 || status == 503 || status == 504;
            if (gatewayFailure) {
                service.onFailure(u, System.nanoTime());
            } else {
                service.onSuccess(u);
            }
            if (status == 502 || status == 503) {
                if (mayRetry) {
                    a.disarm();
                    return new Failure(Kind.STATUS, u, status, "answered " + status, false, false);
                }
                if (retryWanted) {
                    retriesRefused.increment(); // the budget is spent: the client gets this answer
                }
            }
            return relay(ex, call, method, u, c, a);
        } finally {
            boolean fired = a.disarm();
            if (c != null) {
                // Back to the pool only when the answer was read to its end and nothing interrupted
                // the thread; any other connection is closed (a generating upstream sees its client go).
                if (!fired && c.reusable()) {
                    c.pool.release(c, System.nanoTime());
                } else {
                    c.close();
                }
            }
            u.inFlight.decrementAndGet();
        }
    }

    /**
     * Sends the request on a pooled connection (or a new one) and reads the answer's head. A
     * reused connection that fails before any byte of an answer was most likely closed by the
     * upstream while idle: a replayable request is sent once more on a new connection (counted,
     * not charged to the retry budget: the instance did not fail).
     */
    private UpstreamConnection exchange(ClientExchange ex, Call call, Method method, Upstream u, Attempt a)
            throws IOException {
        // Plain HTTP, the common case, costs one null test and one field read here.
        UpstreamTls tls = call.route().tls();
        if (tls == null && u.https) {
            tls = defaultTls();
        }
        ConnectionPool pool = tls == null ? pools.of(u) : pools.of(u, tls);
        boolean replayable = call.body() != null || !ex.hasEntity();
        // Armed before the upload: an upstream that stops reading would otherwise block the copy
        // for good. The upload is part of the exchange the total timeout bounds.
        a.arm(watchdog, call.route().timeoutMillis(), call.route().idleTimeoutMillis());
        boolean fresh = false;
        while (true) {
            long now = System.nanoTime();
            UpstreamConnection c = fresh ? null : pool.take(now);
            boolean reused = c != null;
            if (c == null) {
                c = pool.connect(call.route().connectTimeoutMillis(), now);
            }
            try {
                writeRequest(ex, call, method, c, a);
                a.awaitUpstream();
                c.readHead(method == Method.HEAD);
                a.gotUpstream();
                return c;
            } catch (IOException | RuntimeException e) {
                c.close();
                boolean stale = reused
                        && replayable
                        && !c.answered()
                        && !a.clientGone
                        && !a.firedYet()
                        && !(e instanceof SocketTimeoutException)
                        && !(e instanceof UpstreamProtocolException);
                if (!stale) {
                    throw e;
                }
                pools.counters.staleRetries.increment();
                fresh = true;
            }
        }
    }

    private static void writeRequest(ClientExchange ex, Call call, Method method, UpstreamConnection c, Attempt a)
            throws IOException {
        c.startHead(method.text(), call.rawPath(), call.rawQuery());
        ex.forwardHeaders(c, call.gatewayAuthorization());
        byte[] body = call.body();
        if (body != null) {
            c.header("Content-Length", body.length);
            c.flushHead(body);
            return;
        }
        if (!ex.hasEntity()) {
            if (method == Method.POST || method == Method.PUT || method == Method.PATCH) {
                c.header("Content-Length", 0);
            }
            c.flushHead(null);
            return;
        }
        long length = ex.contentLength();
        boolean chunked = length < 0;
        if (chunked) {
            c.header("Transfer-Encoding", "chunked");
        } else {
            c.header("Content-Length", length);
        }
        c.flushHead(null);
        a.bodyConsumed = true;
        InputStream in = ex.body();
        byte[] buffer = new byte[BUFFER_BYTES];
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (IOException | RuntimeException e) {
                a.clientGone = true;
                throw e;
            }
            if (n < 0) {
                break;
            }
            c.writeBody(buffer, 0, n, chunked);
        }
        if (chunked) {
            c.endChunkedBody();
        }
    }

    /** Relays status, headers and body to the client. */
    private Failure relay(ClientExchange ex, Call call, Method method, Upstream u, UpstreamConnection c, Attempt a) {
        boolean stream = streaming(c);
        if (stream) {
            a.idleOnly(); // a stream has only the idle timeout
        }
        long length = c.contentLength;
        if (c.noBody) {
            a.disarm();
            ex.relay(c, method == Method.HEAD ? length : -1);
            return null;
        }
        if (!stream && length >= 0 && length <= options.retryBufferBytes()) {
            // A small body of known length is read whole and sent in one write: one array sized
            // once, no copy loop, and an upstream failing mid-body is retried (when allowed) or
            // answered 502, never shown as a cut body.
            byte[] whole = ex.bodyBuffer((int) length);
            try {
                a.awaitUpstream();
                c.readWhole(whole, (int) length);
            } catch (IOException | RuntimeException e) {
                boolean fired = a.disarm();
                u.service.onFailure(u, System.nanoTime());
                return new Failure(
                        fired ? Kind.TIMEOUT : Kind.RESET, u, 0, detail(e, fired, a.idle(), call), false, false);
            }
            a.disarm();
            ex.relay(c, whole, (int) length);
            return null;
        }
        OutputStream out = ex.relayStream(c, length);
        InputStream in = c.body();
        byte[] buffer = new byte[BUFFER_BYTES];
        // Event streams go out read by read; other bodies leave it to the server's own buffering.
        boolean flushEachRead = stream || length < 0;
        while (true) {
            int n;
            try {
                a.awaitUpstream();
                n = in.read(buffer);
                a.gotUpstream();
            } catch (IOException | RuntimeException e) {
                // The client has the status already: all that is left is to cut its connection, so
                // that it sees a broken body rather than a short one.
                boolean fired = a.disarm();
                u.service.onFailure(u, System.nanoTime());
                abortedMidBody.increment();
                throw new CloseConnectionException(
                        "upstream " + u.id + " failed mid-body: " + detail(e, fired, a.idle(), call), e);
            }
            if (n < 0) {
                break;
            }
            try {
                out.write(buffer, 0, n);
                if (flushEachRead) {
                    out.flush();
                }
            } catch (IOException | UncheckedIOException e) {
                throw clientGone(e);
            }
        }
        a.disarm();
        try {
            out.close();
        } catch (IOException | UncheckedIOException e) {
            throw clientGone(e);
        }
        return null;
    }

    /**
     * Lets the other virtual threads ready on this carrier run before this one blocks on a socket
     * whose bytes are on their way: the upstream's answer to a request just written, or the
     * client's next request after an answer. Under load, by the time the thread runs again the
     * bytes are mostly there and its read returns them at once; a read that finds nothing parks
     * the thread, which costs a failed read, registering the socket with the poller, and a wake-up
     * (measured: 1.5 µs less system CPU per proxied request under load, see the benchmarks
     * README). With nothing else ready the thread goes on, possibly on another carrier: a lone
     * client's p99 rose from 0.23-0.54 ms to 0.76-1.28 ms. Yielding only while more requests to the
     * instance were in flight than there are carriers kept that p99 but lost most of the gain under
     * load, where few requests are in the handler at any moment. Not on a platform thread (a system
     * call to no end).
     */
    static void yieldCarrier() {
        if (Thread.currentThread().isVirtual()) {
            Thread.yield();
        }
    }

    static Status status(UpstreamConnection c) {
        Status known = Status.create(c.status);
        return known.reasonPhrase().isEmpty() && !c.reason.isEmpty() ? Status.create(c.status, c.reason) : known;
    }

    /**
     * The client's connection failed while the answer was being relayed: the upstream connection is
     * closed (the caller closes the unread response), which tells a generating backend to stop.
     */
    private CloseConnectionException clientGone(Exception e) {
        clientsGone.increment();
        return new CloseConnectionException("client went away during the response", e);
    }

    // ---------------------------------------------------------------- headers

    private static final byte RELAY = 1;
    private static final byte DROP = 2;
    private static final byte CONNECTION = 3;
    /** Relayed, and the answer's {@code Date}: a server that finds none adds its own. */
    static final byte DATE = 4;

    /**
     * Classifies the fields of the upstream's answer (each name once per position, kept while the
     * upstream repeats it; see {@link UpstreamConnection#kinds}) and returns the names its
     * {@code Connection} field lists, or null when there are none: what {@link #relayed} needs.
     */
    static Set<String> classifyResponseFields(UpstreamConnection in) {
        int count = in.headerCount;
        byte[] kinds = in.kinds;
        Set<String> named = null;
        for (int i = 0; i < count; i++) {
            if (kinds[i] == 0) {
                kinds[i] = responseFieldKind(in.names[i].lowerCase());
            }
            if (kinds[i] == CONNECTION) {
                named = connectionTokens(in.headers[2 * i + 1], named);
            }
        }
        return named;
    }

    /**
     * Whether field {@code i} of the upstream's answer goes to the client: not hop-by-hop, not
     * {@code Content-Length} (the server declares the length it sends), not named by
     * {@code Connection} ({@code named}, from {@link #classifyResponseFields}).
     */
    static boolean relayed(UpstreamConnection in, int i, Set<String> named) {
        byte kind = in.kinds[i];
        return (kind == RELAY || kind == DATE) && (named == null || !named.contains(in.names[i].lowerCase()));
    }

    /** What happens to a response field of this (lower-case) name: relayed, dropped, or read for the names it lists. */
    private static byte responseFieldKind(String lower) {
        if (lower.equals("connection")) {
            return CONNECTION;
        }
        if (lower.equals("date")) {
            return DATE;
        }
        return HOP_BY_HOP.contains(lower) || lower.equals("content-length") || lower.startsWith("proxy-")
                ? DROP
                : RELAY;
    }

    /** The header names listed in {@code Connection} (hop-by-hop as well), or null when there are none. */
    static Set<String> connectionTokens(Headers headers) {
        if (!headers.contains(HeaderNames.CONNECTION)) {
            return null;
        }
        Set<String> names = null;
        for (String value : headers.get(HeaderNames.CONNECTION).allValues()) {
            names = connectionTokens(value, names);
        }
        return names;
    }

    /**
     * Adds the names a {@code Connection} value lists, lower-cased, but for the hop-by-hop ones
     * (dropped anyway); returns {@code names}, made when the first is added. The usual values
     * ({@code keep-alive}, {@code close}) allocate nothing.
     */
    static Set<String> connectionTokens(String value, Set<String> names) {
        int n = value.length();
        int i = 0;
        while (i < n) {
            int comma = value.indexOf(',', i);
            int end = comma < 0 ? n : comma;
            int from = i;
            int to = end;
            while (from < to && isSpace(value.charAt(from))) {
                from++;
            }
            while (to > from && isSpace(value.charAt(to - 1))) {
                to--;
            }
            if (to > from && !hopByHop(value, from, to)) {
                if (names == null) {
                    names = new HashSet<>();
                }
                names.add(value.substring(from, to).toLowerCase(Locale.ROOT));
            }
            i = end + 1;
        }
        return names;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    /** Whether {@code value[from, to)} is one of {@link #HOP_BY_HOP}, ignoring case. */
    private static boolean hopByHop(String value, int from, int to) {
        int length = to - from;
        for (String name : HOP_BY_HOP_NAMES) {
            if (name.length() == length && value.regionMatches(true, from, name, 0, length)) {
                return true;
            }
        }
        return false;
    }

    static String formatAddress(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
        }
        return String.valueOf(address);
    }

    /** Whether the response is a stream of events, which gets the idle timeout only. */
    static boolean streaming(UpstreamConnection c) {
        for (int i = 0; i < c.headerCount; i++) {
            String name = c.headers[2 * i];
            if (name.length() == 12 && name.equalsIgnoreCase("content-type")) {
                return streaming(c.headers[2 * i + 1]);
            }
        }
        return false;
    }

    static boolean streaming(String contentType) {
        String type = contentType.toLowerCase(Locale.ROOT);
        return type.startsWith("text/event-stream")
                || type.startsWith("application/x-ndjson")
                || type.startsWith("application/stream+json");
    }

    static boolean idempotent(Method method) {
        return method == Method.GET
                || method == Method.HEAD
                || method == Method.OPTIONS
                || method == Method.TRACE
                || method == Method.PUT
                || method == Method.DELETE;
    }

    // ---------------------------------------------------------------- failures

    /** What went wrong with an attempt. */
    enum Kind {
        /** No connection: nothing reached the instance. */
        CONNECT,
        /** Connected, but the TLS handshake failed: nothing was sent. */
        TLS,
        /** The connection broke before a whole answer. */
        RESET,
        /** No answer within the idle or total timeout. */
        TIMEOUT,
        /** The instance answered 502 or 503. */
        STATUS,
        /** The instance answered with something that is not HTTP/1.1. */
        PROTOCOL,
        /** The instance's address is a forbidden one: nothing was sent. */
        FORBIDDEN
    }

    static Kind classify(Throwable error, boolean deadlineFired) {
        if (deadlineFired) {
            return Kind.TIMEOUT;
        }
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof ForbiddenUpstreamException) {
                return Kind.FORBIDDEN;
            }
            if (t instanceof UpstreamTlsException) {
                return Kind.TLS;
            }
            if (t instanceof UpstreamProtocolException) {
                return Kind.PROTOCOL;
            }
            if (t instanceof ConnectException
                    || t instanceof NoRouteToHostException
                    || t instanceof UnknownHostException
                    || t instanceof UnresolvedAddressException) {
                return Kind.CONNECT;
            }
            if (t instanceof SocketTimeoutException) {
                String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
                return message.contains("connect") ? Kind.CONNECT : Kind.TIMEOUT;
            }
        }
        return Kind.RESET;
    }

    static String detail(Throwable e, boolean fired, boolean idle, Call call) {
        if (fired) {
            return idle
                    ? "silent for the idle timeout of " + call.route().idleTimeoutMillis() + " ms"
                    : "no complete answer within the total timeout of "
                            + call.route().timeoutMillis() + " ms";
        }
        Throwable root = e;
        String tls = null;
        while (true) {
            if (root instanceof UpstreamTlsException t) {
                tls = t.getMessage();
            }
            if (root.getCause() == null || root.getCause() == root) {
                break;
            }
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName()
                + (message == null ? "" : ": " + message)
                + (tls == null ? "" : " (" + tls + ")");
    }

    /**
     * A failed attempt that left the client untouched.
     *
     * @param kind what went wrong
     * @param upstream where
     * @param status the upstream's status for {@link Kind#STATUS}
     * @param detail why, for the answer
     * @param bodyConsumed whether the request body stream was read (it cannot be sent again)
     * @param budgetSpent whether a retry was refused by the retry budget
     */
    record Failure(Kind kind, Upstream upstream, int status, String detail, boolean bodyConsumed, boolean budgetSpent) {
        Failure withBudgetSpent() {
            return new Failure(kind, upstream, status, detail, bodyConsumed, true);
        }

        ProxyException answer(Call call, int attempts) {
            String service = call.route().service();
            String route = call.route().name();
            String where = "instance " + upstream.id + " (" + upstream.address + ":" + upstream.port + ") of service "
                    + service;
            String tail = (attempts > 1 ? "; " + attempts + " attempts" : "")
                    + (budgetSpent ? "; retry budget of the service spent" : "");
            return switch (kind) {
                case CONNECT ->
                    new ProxyException(
                            502,
                            "service",
                            "upstream-connect-failed",
                            "cannot connect to " + where + ": " + detail + tail,
                            service,
                            route);
                case TLS ->
                    new ProxyException(
                            502,
                            "service",
                            "upstream-tls-failed",
                            "TLS with " + where + " failed: " + detail + tail,
                            service,
                            route);
                case RESET ->
                    new ProxyException(
                            502,
                            "service",
                            "upstream-reset",
                            "connection to " + where + " broke: " + detail + tail,
                            service,
                            route);
                case TIMEOUT ->
                    new ProxyException(
                            504, "service", "upstream-timeout", where + ": " + detail + tail, service, route);
                case PROTOCOL ->
                    new ProxyException(
                            502,
                            "service",
                            "upstream-bad-response",
                            where + " answered with a malformed response: " + detail + tail,
                            service,
                            route);
                case FORBIDDEN ->
                    new ProxyException(
                            502,
                            "service",
                            ForbiddenAddresses.RULE,
                            "not connecting to " + where + ": " + detail + "; never a service's address" + tail,
                            service,
                            route);
                case STATUS ->
                    new ProxyException(
                            status,
                            "service",
                            "upstream-unavailable",
                            where + " answered " + status + tail,
                            service,
                            route);
            };
        }
    }

    /** The mutable state of one attempt, owned by the request's thread. */
    private static final class Attempt {
        private Watchdog.Deadline deadline;
        private boolean fired;
        private boolean idle;
        boolean bodyConsumed;
        boolean clientGone;

        void arm(Watchdog watchdog, long totalMillis, long idleMillis) {
            if (deadline == null) {
                deadline = watchdog.arm(totalMillis, idleMillis);
            }
        }

        /** The thread is about to wait for the upstream: the idle timeout runs. */
        void awaitUpstream() {
            if (deadline != null) {
                deadline.awaitUpstream(System.nanoTime());
            }
        }

        void gotUpstream() {
            if (deadline != null) {
                deadline.gotUpstream();
            }
        }

        /** Drops the total timeout; the idle timeout stays (a stream). */
        void idleOnly() {
            if (deadline != null) {
                deadline.idleOnly();
            }
        }

        /** Whether the deadline fired, without disarming it. */
        boolean firedYet() {
            return deadline != null ? deadline.fired() : fired;
        }

        /** Whether the deadline that fired was the idle timeout. */
        boolean idle() {
            return idle;
        }

        /** Disarms once; later calls return the first result. */
        boolean disarm() {
            if (deadline != null) {
                fired = deadline.disarm();
                idle = fired && deadline.idle();
                deadline = null;
            }
            return fired;
        }
    }

    @Override
    public void close() {
        watchdog.close();
        pools.close();
    }
}
