package io.edgegate.gateway.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.Method;
import io.helidon.http.Status;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The request a {@link LeanConnection} parsed and the answer it writes: the proxy's
 * {@link ClientExchange} on the lean data path. Request fields are forwarded as the bytes they came
 * in (their names and values were checked by {@link RequestHead}); the answer's head is assembled
 * in one buffer (status line, the upstream's relayed fields as bytes made once per repeated field,
 * framing, {@code Date} when the upstream sent none, {@code Connection: close} when the connection
 * ends after it) and goes out with a whole small body in one write; a streamed body goes out
 * chunked (or with its known length), one write per flush.
 *
 * <p>The connection is kept after an answer unless the client asked to close it, the server is
 * closing, or the request's body was not read and cannot be dropped cheaply (a client still waiting
 * for {@code 100 Continue}, a chunked body, or more than {@link LeanConnection#MAX_DRAIN_BYTES}
 * left): such answers say {@code Connection: close}.
 *
 * <p>Not thread-safe: owned by the connection's thread, or its event loop while the loop serves
 * it, reused for each of its requests.
 */
final class LeanExchange implements ClientExchange {
    private static final int SMALL_BUFFER = 512;
    private static final int STREAM_BUFFER = 32 * 1024;
    /** Largest small answer body read into the connection's own {@link #bodyBuffer} (larger: a new array). */
    private static final int MAX_BODY_BUFFER = 8 * 1024;

    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] CONTENT_LENGTH = ascii("Content-Length: ");
    private static final byte[] CHUNKED = ascii("Transfer-Encoding: chunked\r\n");
    private static final byte[] CLOSE = ascii("Connection: close\r\n");
    private static final byte[] JSON = ascii("Content-Type: application/json\r\n");
    private static final byte[] RETRY_AFTER = ascii("Retry-After: 1\r\n");
    private static final byte[] NO_FIELDS = {};
    private static final byte[] FORWARDED_PROTO_HTTP = ascii("X-Forwarded-Proto: http\r\n");
    private static final byte[] FORWARDED_PROTO_HTTPS = ascii("X-Forwarded-Proto: https\r\n");
    private static final byte[] LAST_CHUNK = ascii("0\r\n\r\n");
    private static final byte[] HEX = ascii("0123456789abcdef");

    /** Status lines of the codes with a standard reason, made on first use (a benign race). */
    private static final byte[][] STATUS_LINES = new byte[600][];

    private static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter.ofPattern(
                    "EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH)
            .withZone(ZoneOffset.UTC);

    /** The {@code Date} line of the current second. */
    private record DateLine(long second, byte[] line) {}

    private static volatile DateLine date = new DateLine(-1, null);

    private final LeanConnection conn;
    private final RequestHead head;
    private final BodyOut stream = new BodyOut();

    /** {@link #bodyBuffer}: a small answer's body, read whole before the answer is written; null until needed. */
    private byte[] bodyBuffer;

    /** The answer being assembled: {@code out[0, n)}. */
    private byte[] out = new byte[SMALL_BUFFER];

    private int n;
    private String authority;
    /** {@link #rawPathFrom}'s last answer: {@code cut} is {@code cutFrom.substring(cutAt)}. */
    private String cutFrom;

    private int cutAt;
    private String cut;
    /** The answer's status code (200 until one is set, as Helidon's response). */
    private int status;
    /** The answer's head is committed: nothing else can be answered. */
    private boolean sent;
    /** The whole answer is out. */
    private boolean complete;
    /** The answer says {@code Connection: close}: the connection ends after it. */
    private boolean closeAfter;
    /** This answer must close the connection whatever the request said (a refusal). */
    private boolean forceClose;

    LeanExchange(LeanConnection conn) {
        this.conn = conn;
        this.head = conn.head;
    }

    /** Readies the exchange for the request just parsed. */
    void start() {
        n = 0;
        authority = null;
        status = 200;
        sent = false;
        complete = false;
        closeAfter = false;
        forceClose = false;
        if (out.length > STREAM_BUFFER) {
            out = new byte[SMALL_BUFFER]; // an idle connection does not keep a large answer's buffer
        }
    }

    // ---------------------------------------------------------------- the request

    @Override
    public Method method() {
        return head.method;
    }

    @Override
    public String rawPath() {
        return head.rawPath;
    }

    @Override
    public String rawPathFrom(int from) {
        String path = head.rawPath;
        if (path != cutFrom || from != cutAt) {
            cut = path.substring(from);
            cutFrom = path;
            cutAt = from;
        }
        return cut;
    }

    @Override
    public String rawQuery() {
        return head.rawQuery;
    }

    @Override
    public String authority() {
        String a = authority;
        if (a == null) {
            a = head.host();
            authority = a;
        }
        return a;
    }

    @Override
    public String header(HeaderName name) {
        return head.header(name);
    }

    @Override
    public boolean hasEntity() {
        return head.chunked || head.contentLength > 0;
    }

    @Override
    public long contentLength() {
        return head.chunked ? -1 : head.contentLength;
    }

    @Override
    public InputStream body() {
        return conn.body;
    }

    @Override
    public void forwardHeaders(UpstreamConnection c, boolean dropAuthorization) {
        RequestHead h = head;
        byte[] b = h.buf;
        int[] bounds = h.bounds;
        boolean forwardedFor = false;
        for (int i = 0; i < h.fieldCount; i++) {
            byte kind = h.kinds[i];
            if (kind == RequestHead.X_FORWARDED_FOR) {
                forwardedFor = true;
                continue;
            }
            if (kind != RequestHead.FORWARD && (kind != RequestHead.AUTHORIZATION || dropAuthorization)) {
                continue;
            }
            if (h.connectionNamesFields && h.namedByConnection(i)) {
                continue;
            }
            c.header(b, bounds[4 * i], bounds[4 * i + 1], bounds[4 * i + 2], bounds[4 * i + 3]);
        }
        if (forwardedFor) {
            c.header("X-Forwarded-For", h.joined(RequestHead.X_FORWARDED_FOR) + ", " + conn.clientAddress());
        } else {
            c.headerLine(conn.forwardedFor());
        }
        c.headerLine(conn.secure() ? FORWARDED_PROTO_HTTPS : FORWARDED_PROTO_HTTP);
        int host = 4 * h.hostField;
        c.header("X-Forwarded-Host", b, bounds[host + 2], bounds[host + 3]);
        byte[] clientName = conn.clientName();
        if (clientName.length > 0) {
            c.headerLine(clientName);
        }
    }

    // ---------------------------------------------------------------- the answer

    @Override
    public boolean isSent() {
        return sent;
    }

    @Override
    public int status() {
        return status;
    }

    @Override
    public void relay(UpstreamConnection c, long headLength) {
        boolean dated = relayHead(c);
        endHead(headLength, false, dated);
        flush();
        complete = true;
    }

    @Override
    public void relay(UpstreamConnection c, byte[] body, int length) {
        boolean dated = relayHead(c);
        endHead(length, false, dated);
        put(body, 0, length);
        flush();
        complete = true;
    }

    @Override
    public byte[] bodyBuffer(int length) {
        if (length > MAX_BODY_BUFFER) {
            return new byte[length];
        }
        byte[] b = bodyBuffer;
        if (b == null || b.length < length) {
            b = new byte[Math.max(length, SMALL_BUFFER)];
            bodyBuffer = b;
        }
        return b;
    }

    @Override
    public OutputStream relayStream(UpstreamConnection c, long length) {
        boolean dated = relayHead(c);
        endHead(length, length < 0, dated);
        if (out.length < STREAM_BUFFER) {
            byte[] bigger = new byte[STREAM_BUFFER];
            System.arraycopy(out, 0, bigger, 0, n);
            out = bigger;
        }
        stream.start(length < 0);
        return stream;
    }

    @Override
    public boolean deferred() {
        return conn.deferred();
    }

    @Override
    public void deferRecorder(ProxyObserver.RouteRecorder recorder) {
        conn.deferRecorder(recorder);
    }

    /** A connection on an event loop takes the call: {@link LoopForward} there, or its thread. */
    @Override
    public boolean defer(Forwarder forwarder, Forwarder.Call call) {
        if (!conn.onLoop()) {
            return false;
        }
        conn.deferCall(forwarder, call);
        return true;
    }

    @Override
    public void sendJson(int status, byte[] json, boolean retryAfter) {
        putStatus(status);
        put(JSON);
        put(retryAfter ? RETRY_AFTER : NO_FIELDS);
        putBody(json);
    }

    /** Sends an answer of the {@link LeanApi}: its fields as they are (whole lines), the framing, its body. */
    void send(LeanApi.Answer answer) {
        putStatus(answer.status());
        put(answer.fields());
        putBody(answer.body());
    }

    private void putStatus(int status) {
        this.status = status;
        put(statusLine(status, ""));
    }

    /** The framing, the end of the head, the whole body (none for HEAD), out at once. */
    private void putBody(byte[] body) {
        endHead(body.length, false, false);
        if (head.method != Method.HEAD) {
            put(body, 0, body.length);
        }
        flush();
        complete = true;
    }

    /** Answers as Helidon does when it refuses a request itself (the guard's JSON body), and closes. */
    void refuse(int status, String reason) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("error", reason);
        body.put("field", "request");
        body.put("rule", "http");
        forceClose = true;
        byte[] json;
        try {
            json = ProxyJson.MAPPER.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        sendJson(status, json, false);
    }

    /**
     * Ends the exchange after the proxy returned.
     *
     * @return whether the connection can serve another request: the answer is whole, did not say
     *     close, and the request's body was read to its end (what was left of it is dropped here)
     */
    boolean finish() {
        if (!complete || closeAfter) {
            return false;
        }
        return conn.body.done() || conn.body.drain(LeanConnection.MAX_DRAIN_BYTES);
    }

    /** The status line and the upstream's relayed fields; returns whether one was its {@code Date}. */
    private boolean relayHead(UpstreamConnection c) {
        status = c.status;
        put(statusLine(c.status, c.reason));
        Set<String> named = Forwarder.classifyResponseFields(c);
        boolean dated = false;
        for (int i = 0; i < c.headerCount; i++) {
            if (Forwarder.relayed(c, i, named)) {
                put(c.line(i));
                dated |= c.kinds[i] == Forwarder.DATE;
            }
        }
        return dated;
    }

    /** Framing, {@code Date}, {@code Connection: close} when the connection ends, the empty line. */
    private void endHead(long contentLength, boolean chunked, boolean dated) {
        if (contentLength >= 0) {
            put(CONTENT_LENGTH);
            putDecimal(contentLength);
            put(CRLF);
        } else if (chunked) {
            put(CHUNKED);
        }
        if (!dated) {
            put(dateLine());
        }
        LeanConnection.RequestBody body = conn.body;
        closeAfter = forceClose
                || head.close
                || conn.closing()
                || !body.done()
                        && (head.expectContinue && !body.started()
                                || head.chunked
                                || body.remaining() > LeanConnection.MAX_DRAIN_BYTES);
        if (closeAfter) {
            put(CLOSE);
        }
        put(CRLF);
        sent = true;
    }

    private void flush() {
        if (n > 0) {
            conn.write(out, 0, n);
            n = 0;
        }
    }

    private void put(byte[] bytes) {
        put(bytes, 0, bytes.length);
    }

    private void put(byte[] bytes, int from, int length) {
        ensure(length);
        System.arraycopy(bytes, from, out, n, length);
        n += length;
    }

    private void putDecimal(long value) {
        ensure(20);
        if (value == 0) {
            out[n++] = '0';
            return;
        }
        int digits = 0;
        for (long v = value; v > 0; v /= 10) {
            digits++;
        }
        for (int i = n + digits - 1; i >= n; i--) {
            out[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        n += digits;
    }

    private void ensure(int more) {
        if (n + more > out.length) {
            byte[] bigger = new byte[Math.max(out.length * 2, n + more)];
            System.arraycopy(out, 0, bigger, 0, n);
            out = bigger;
        }
    }

    /**
     * The status line: the code with its standard reason phrase (as Helidon writes it), else the
     * upstream's own reason, else the code again.
     */
    private static byte[] statusLine(int code, String upstreamReason) {
        if (code >= 100 && code < STATUS_LINES.length) {
            byte[] line = STATUS_LINES[code];
            if (line != null) {
                return line;
            }
            String reason = Status.create(code).reasonPhrase();
            if (reason != null && !reason.isEmpty()) {
                line = ascii("HTTP/1.1 " + code + " " + reason + "\r\n");
                STATUS_LINES[code] = line;
                return line;
            }
        }
        String reason = upstreamReason.isEmpty() ? Integer.toString(code) : upstreamReason;
        return ("HTTP/1.1 " + code + " " + reason + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /** {@code Date: <IMF-fixdate> CRLF} of the current second, made once a second. */
    static byte[] dateLine() {
        long second = System.currentTimeMillis() / 1000;
        DateLine d = date;
        if (d.second != second) {
            d = new DateLine(second, ascii("Date: " + IMF_FIXDATE.format(Instant.ofEpochSecond(second)) + "\r\n"));
            date = d;
        }
        return d.line;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A streamed answer body: chunked (each write one chunk) or of known length, buffered until a
     * flush or a full buffer; the answer's head goes out with the first bytes. Closing it ends the
     * body (the last chunk) and the answer. A write that fails throws {@link java.io.UncheckedIOException}.
     */
    private final class BodyOut extends OutputStream {
        private boolean chunked;

        void start(boolean chunkedBody) {
            chunked = chunkedBody;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (len == 0) {
                return;
            }
            if (!chunked) {
                if (n + len > out.length) {
                    flush();
                    if (len > out.length) {
                        conn.write(b, off, len);
                        return;
                    }
                }
                put(b, off, len);
                return;
            }
            int need = len + 12; // up to 8 hex digits, CRLF, the data, CRLF
            if (n + need > out.length) {
                LeanExchange.this.flush();
            }
            ensure(need);
            int digits = 1;
            while (len >>> (4 * digits) != 0) {
                digits++;
            }
            for (int i = digits - 1; i >= 0; i--) {
                out[n++] = HEX[(len >>> (4 * i)) & 0xf];
            }
            out[n++] = '\r';
            out[n++] = '\n';
            System.arraycopy(b, off, out, n, len);
            n += len;
            out[n++] = '\r';
            out[n++] = '\n';
        }

        @Override
        public void flush() {
            LeanExchange.this.flush();
        }

        @Override
        public void close() {
            if (complete) {
                return;
            }
            if (chunked) {
                put(LAST_CHUNK);
            }
            LeanExchange.this.flush();
            complete = true;
        }
    }
}
