package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.ForbiddenAddresses;
import io.edgegate.gateway.registry.Health;
import io.edgegate.tls.TrustAnyCertificate;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * HTTP(S) checks over the product's own HTTP/1.1 exchange ({@link HttpExchange}) on sockets that
 * {@link TargetSockets} opened to a vetted address: the URL's host is resolved once, by the probe,
 * and the connection goes to that exact address, so a name that rebinds elsewhere reaches
 * nothing. Over TLS the server name (SNI) and the certificate's host check are the URL's host;
 * {@code tlsSkipVerify} trusts any certificate, as Consul's {@code TLSSkipVerify}.
 *
 * <p>Consul's rules: 2xx passing, 429 warning, any other status or no answer critical; the output
 * is {@code HTTP GET <url>: 200 OK Output: <first bytes of the body>}. Redirects are never
 * followed: a 3xx is critical and says so (following one would take the probe to a place nobody
 * vetted).
 *
 * <p>Keep-alive: each check keeps its one connection between probes when the last exchange ended
 * cleanly (whole body read, no {@code Connection: close}), so a node with thousands of checks
 * neither pays a connect (and TLS handshake) per probe nor piles up TIME_WAIT sockets; a
 * connection that is closed is closed abortively (see {@link TargetSockets}). A reused connection
 * that fails before any byte of an answer (the server closed it while idle) is replaced once by a
 * new one. Idle connections are kept at most {@link #MAX_IDLE_NANOS} and reused for at most
 * {@link #MAX_AGE_NANOS}, after which the name is resolved and vetted again; a sweep run by the
 * probes themselves closes those of checks that stopped probing. At most
 * {@link #MAX_IDLE_CONNECTIONS} wait idle at once.
 *
 * <p>Thread-safe: the idle connections are in a concurrent map keyed by check id; a connection
 * taken from it belongs to the probing thread until it is put back or closed (the registry runs
 * one probe at a time per check).
 */
final class HttpProber implements Prober {
    /** Longest a connection waits idle for its check's next probe. */
    static final long MAX_IDLE_NANOS = TimeUnit.SECONDS.toNanos(90);
    /** Longest a connection is reused: after this the target is resolved and vetted afresh. */
    static final long MAX_AGE_NANOS = TimeUnit.MINUTES.toNanos(5);
    /**
     * Idle connections kept at most, node-wide: each is a file descriptor. Past it a probe's
     * connection is closed after its exchange (abortively: still no TIME_WAIT).
     */
    static final int MAX_IDLE_CONNECTIONS = 4096;
    /** How often the probes look for idle connections to close. */
    private static final long SWEEP_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final String ACCEPT = "text/plain, text/*, */*";

    private final int maxOutputBytes;
    private final String userAgent;
    private final TargetSockets sockets;
    private final ConcurrentHashMap<String, HttpExchange> idle = new ConcurrentHashMap<>();
    private final AtomicLong nextSweepNanos = new AtomicLong(System.nanoTime() + SWEEP_EVERY_NANOS);
    // Made on the first HTTPS check that needs each: a node without HTTPS checks never loads the
    // CA store. Guarded by this.
    private SSLSocketFactory verifying;
    private SSLSocketFactory trustingAll;
    private volatile boolean closed;

    HttpProber(int maxOutputBytes, String userAgent, TargetSockets sockets) {
        this.maxOutputBytes = maxOutputBytes;
        this.userAgent = userAgent;
        this.sockets = sockets;
    }

    @Override
    public ProbeResult probe(CheckSpec check, String instanceAddress) {
        String what = "HTTP " + check.method() + " " + check.target();
        Target target;
        try {
            target = Target.parse(check.target());
        } catch (IllegalArgumentException e) {
            return Probers.critical(what + ": " + e.getMessage());
        }
        try {
            return result(what, exchange(check, target, instanceAddress, maxOutputBytes));
        } catch (TargetSockets.Refused e) {
            return Probers.critical(what + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            return failure(what, check, target, e);
        }
    }

    /**
     * One exchange of {@code check} that keeps up to {@code maxBodyBytes} of the answer's body:
     * the same vetted connection, keep-alive and redirect rules as a probe, for a reader that
     * wants the body itself (an engine's metrics) rather than a status.
     *
     * @throws TargetSockets.Refused when the check-target rules leave no address to connect to
     * @throws IOException when no answer came within the check's timeout, or it was not HTTP/1.x
     */
    HttpExchange.Answer fetch(CheckSpec check, String instanceAddress, int maxBodyBytes) throws IOException {
        Target target;
        try {
            target = Target.parse(check.target());
        } catch (IllegalArgumentException e) {
            throw new java.net.MalformedURLException(check.target() + ": " + e.getMessage());
        }
        return exchange(check, target, instanceAddress, maxBodyBytes);
    }

    private HttpExchange.Answer exchange(CheckSpec check, Target target, String instanceAddress, int maxBodyBytes)
            throws IOException {
        if (closed) {
            throw new IOException("the prober is closed");
        }
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(check.timeoutMillis());
        sweepIfDue(start);
        String key = key(check, instanceAddress);
        HttpExchange connection = takeIdle(check.id(), key, start);
        byte[] request = request(check, target);
        while (true) {
            boolean reused = connection != null;
            try {
                if (connection == null) {
                    connection = open(check, target, instanceAddress, key, deadline);
                }
                HttpExchange.Answer answer =
                        connection.exchange(request, check.method().equals("HEAD"), maxBodyBytes, deadline);
                if (answer.reusable()
                        && !closed
                        && System.nanoTime() - connection.openedNanos() < MAX_AGE_NANOS
                        && idle.mappingCount() < MAX_IDLE_CONNECTIONS) {
                    connection.idleSince(System.nanoTime());
                    putIdle(check.id(), connection);
                } else {
                    connection.close();
                }
                return answer;
            } catch (TargetSockets.Refused e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                boolean stale = false;
                if (connection != null) {
                    stale = reused && connection.nothingReceived() && !(e instanceof SocketTimeoutException);
                    connection.close();
                    connection = null;
                }
                if (stale && !closed) {
                    continue; // closed by the server while idle: once more on a new connection
                }
                throw e;
            }
        }
    }

    private static ProbeResult failure(String what, CheckSpec check, Target target, Exception e) {
        if (e instanceof SocketTimeoutException) {
            return Probers.timedOut(what, check.timeoutMillis());
        }
        if (e instanceof UnknownHostException) {
            return Probers.critical(what + ": unknown host " + target.host());
        }
        return Probers.critical(what + ": " + Probers.reason(e));
    }

    private static ProbeResult result(String what, HttpExchange.Answer answer) {
        int code = answer.status();
        Health status = code >= 200 && code < 300 ? Health.PASSING : code == 429 ? Health.WARNING : Health.CRITICAL;
        String redirect = "";
        if (code >= 300 && code < 400) {
            redirect = ", redirect not followed"
                    + (answer.location() == null ? "" : " (Location: " + answer.location() + ")");
        }
        return new ProbeResult(
                status, what + ": " + code + reasonPhrase(code) + redirect + " Output: " + answer.body());
    }

    /** What a pooled connection must match to serve a probe: same target, TLS mode and instance. */
    private static String key(CheckSpec check, String instanceAddress) {
        return check.target() + ' ' + check.tlsSkipVerify() + ' ' + instanceAddress;
    }

    private HttpExchange takeIdle(String checkId, String key, long now) {
        HttpExchange c = idle.remove(checkId);
        if (c == null) {
            return null;
        }
        if (!c.key().equals(key) || now - c.idleSinceNanos() > MAX_IDLE_NANOS || !c.isOpen()) {
            c.close();
            return null;
        }
        return c;
    }

    private void putIdle(String checkId, HttpExchange c) {
        HttpExchange previous = idle.put(checkId, c);
        if (previous != null && previous != c) {
            previous.close();
        }
        if (closed) {
            // Closed while this was being put back: nobody sweeps any more.
            HttpExchange left = idle.remove(checkId);
            if (left != null) {
                left.close();
            }
        }
    }

    /** Closes idle connections whose check did not come back in time (removed, or its interval is long). */
    private void sweepIfDue(long now) {
        long due = nextSweepNanos.get();
        if (now - due < 0 || !nextSweepNanos.compareAndSet(due, now + SWEEP_EVERY_NANOS)) {
            return;
        }
        for (Map.Entry<String, HttpExchange> e : idle.entrySet()) {
            HttpExchange c = e.getValue();
            if (now - c.idleSinceNanos() > MAX_IDLE_NANOS && idle.remove(e.getKey(), c)) {
                c.close();
            }
        }
    }

    /** Idle connections kept for the checks' next probes. */
    int idleConnections() {
        return idle.size();
    }

    private HttpExchange open(CheckSpec check, Target target, String instanceAddress, String key, long deadline)
            throws IOException {
        Socket socket = sockets.connect(target.host(), target.port(), instanceAddress, deadline);
        try {
            if (target.tls()) {
                socket = tls(socket, target, check.tlsSkipVerify(), deadline);
            }
            return new HttpExchange(socket, key, System.nanoTime());
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private Socket tls(Socket socket, Target target, boolean skipVerify, long deadline) throws IOException {
        SSLSocket tls = (SSLSocket) tlsFactory(skipVerify).createSocket(socket, target.host(), target.port(), true);
        SSLParameters parameters = tls.getSSLParameters();
        if (!skipVerify) {
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
        }
        if (ForbiddenAddresses.literal(target.host()) == null) {
            try {
                parameters.setServerNames(List.of(new SNIHostName(target.host())));
            } catch (IllegalArgumentException e) {
                // Not a name SNI can carry (an underscore, say): the handshake goes without one.
            }
        }
        parameters.setApplicationProtocols(new String[] {"http/1.1"});
        tls.setSSLParameters(parameters);
        tls.setSoTimeout((int) Math.min(Integer.MAX_VALUE, CheckTargetPolicy.remainingMillis(deadline)));
        tls.startHandshake();
        return tls;
    }

    private synchronized SSLSocketFactory tlsFactory(boolean skipVerify) throws IOException {
        if (skipVerify) {
            if (trustingAll == null) {
                trustingAll = TrustAnyCertificate.context().getSocketFactory();
            }
            return trustingAll;
        }
        if (verifying == null) {
            try {
                verifying = SSLContext.getDefault().getSocketFactory();
            } catch (NoSuchAlgorithmException e) {
                throw new IOException("no default TLS context", e);
            }
        }
        return verifying;
    }

    /**
     * The request head: the check's method and URL path, {@code Host} as the URL spells it, the
     * default {@code User-Agent} and {@code Accept} unless the check sets its own, then the
     * check's headers but those that frame the message or the connection.
     */
    private byte[] request(CheckSpec check, Target target) {
        StringBuilder head = new StringBuilder(256);
        head.append(check.method()).append(' ').append(target.requestTarget()).append(" HTTP/1.1\r\n");
        head.append("Host: ").append(target.authority()).append("\r\n");
        if (!has(check.headers(), "user-agent")) {
            head.append("User-Agent: ").append(userAgent).append("\r\n");
        }
        if (!has(check.headers(), "accept")) {
            head.append("Accept: ").append(ACCEPT).append("\r\n");
        }
        for (Map.Entry<String, List<String>> header : check.headers().entrySet()) {
            String name = header.getKey();
            if (HttpExchange.FRAMING_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
                continue;
            }
            for (String value : header.getValue()) {
                // The validator refused line breaks; a value from an older journal is checked again.
                if (value.indexOf('\r') < 0 && value.indexOf('\n') < 0) {
                    head.append(name).append(": ").append(value).append("\r\n");
                }
            }
        }
        if (BODY_METHODS.contains(check.method())) {
            head.append("Content-Length: 0\r\n");
        }
        head.append("\r\n");
        return head.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static final Set<String> BODY_METHODS = Set.of("POST", "PUT", "PATCH");

    private static boolean has(Map<String, List<String>> headers, String lowerName) {
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey().toLowerCase(Locale.ROOT).equals(lowerName)
                    && !e.getValue().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** Closes the idle connections; probes after this are critical, probes in flight close theirs when done. */
    void close() {
        closed = true;
        for (String checkId : idle.keySet()) {
            HttpExchange c = idle.remove(checkId);
            if (c != null) {
                c.close();
            }
        }
    }

    /** Go's {@code http.StatusText} for the common codes, with a leading space; empty for others. */
    static String reasonPhrase(int code) {
        return switch (code) {
            case 200 -> " OK";
            case 201 -> " Created";
            case 202 -> " Accepted";
            case 204 -> " No Content";
            case 301 -> " Moved Permanently";
            case 302 -> " Found";
            case 303 -> " See Other";
            case 304 -> " Not Modified";
            case 307 -> " Temporary Redirect";
            case 308 -> " Permanent Redirect";
            case 400 -> " Bad Request";
            case 401 -> " Unauthorized";
            case 403 -> " Forbidden";
            case 404 -> " Not Found";
            case 405 -> " Method Not Allowed";
            case 408 -> " Request Timeout";
            case 429 -> " Too Many Requests";
            case 500 -> " Internal Server Error";
            case 501 -> " Not Implemented";
            case 502 -> " Bad Gateway";
            case 503 -> " Service Unavailable";
            case 504 -> " Gateway Timeout";
            default -> "";
        };
    }

    /**
     * An HTTP check's URL, taken apart once per probe.
     *
     * @param tls https
     * @param host the host to resolve and to verify the certificate against, without brackets
     * @param port the explicit port, else 80 or 443
     * @param authority the {@code Host} header: host and port as the URL spells them
     * @param requestTarget the raw path and query, {@code /} when the path is empty
     */
    record Target(boolean tls, String host, int port, String authority, String requestTarget) {
        static Target parse(String url) {
            URI uri;
            try {
                uri = new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a URL: " + e.getMessage());
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("scheme must be http or https");
            }
            if (uri.getHost() == null) {
                throw new IllegalArgumentException("the URL has no host");
            }
            if (uri.getRawUserInfo() != null) {
                throw new IllegalArgumentException(
                        "refused by " + CheckTargetPolicy.RULE + ": the URL carries user information");
            }
            boolean tls = scheme.equals("https");
            int port = uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80;
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
            return new Target(
                    tls, ForbiddenAddresses.unbracket(uri.getHost()), port, uri.getRawAuthority(), path + query);
        }
    }
}
