package io.edgegate.gateway.proxy;

import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import jdk.net.ExtendedSocketOptions;

/**
 * One HTTP/1.1 connection to an upstream instance: the proxy's own client for its data path. A
 * request head is assembled in one array and written with its small body in one write; the
 * response head is parsed from the connection's read buffer with no per-header objects beyond the
 * name and value strings; the body is read through one reusable stream per framing (length,
 * chunked, until close). When a response has been read to its end and neither side asked to
 * close, the connection goes back to its {@link ConnectionPool}.
 *
 * <p>Over TLS ({@link UpstreamTls}) the same code reads and writes through a TLS socket layered on
 * the channel; plain connections pay nothing for it.
 *
 * <p>Blocking I/O on the request's virtual thread: a read blocks the virtual thread, not a
 * carrier. Reads have no socket timeout: the {@link Watchdog} enforces the idle and total
 * timeouts by interrupting the thread, which closes the channel.
 *
 * <p>On an {@link EventLoop} (plain HTTP only) the same parser and body decoder run over a
 * non-blocking channel: a read that finds nothing throws {@link WouldBlock}, with the connection's
 * state as it was before the call (nothing consumed), so the loop calls again when the channel is
 * readable; the request is written at once, what the socket did not take waiting in {@link
 * #flushPending}.
 *
 * <p>Not thread-safe: owned by one request thread between {@link ConnectionPool#take} and
 * {@link ConnectionPool#release} (or {@link #close}), or by its event loop.
 */
final class UpstreamConnection implements AutoCloseable {
    /** Largest response head accepted; a larger one is a protocol error (502). */
    static final int MAX_HEAD_BYTES = 64 * 1024;
    /** Most header fields in a response head. */
    static final int MAX_HEADERS = 256;

    /** Seconds of silence before the first keep-alive probe ({@link #keepAlive}). */
    static final int KEEPALIVE_IDLE_SECONDS = 5;
    /** Seconds between unanswered keep-alive probes. */
    static final int KEEPALIVE_INTERVAL_SECONDS = 2;
    /** Unanswered probes after which the kernel declares the connection dead. */
    static final int KEEPALIVE_COUNT = 3;

    private static final int READ_BUFFER_BYTES = 8 * 1024;
    private static final byte CR = '\r';
    private static final byte LF = '\n';

    final ConnectionPool pool;
    private final SocketChannel channel;
    /** The TLS socket over {@link #channel}; null for plain HTTP. */
    private final SSLSocket tls;

    private final InputStream in;
    private final OutputStream out;
    /** Owned by an event loop: the channel is non-blocking, {@link #in} and {@link #out} unused. */
    private final boolean onLoop;
    /** On a loop: its reads and writes; null otherwise. */
    private final LoopIo io;
    /** On a loop: the part of the request the socket has not taken yet, or null. */
    private ByteBuffer pending;

    private final ByteBuffer probe = ByteBuffer.allocate(1);
    private final boolean quickAck;

    /** Read buffer: unread bytes are {@code [pos, lim)}. */
    private byte[] buf = new byte[READ_BUFFER_BYTES];

    private int pos;
    private int lim;
    /** Head under construction, written by {@link #flushHead}. */
    private byte[] head = new byte[2048];

    private int headLength;

    /** Bytes of the current response read so far (zero: the upstream said nothing yet). */
    private long responseBytes;

    private long idleSinceNanos;

    // ---------------------------------------------------------------- current response
    int status;
    String reason;
    /** Header names and values, in order: {@code headers[2i]} is a name, {@code headers[2i+1]} its value. */
    String[] headers = new String[32];
    /** {@code names[i]} is the header name of {@code headers[2i]}. */
    HeaderName[] names = new HeaderName[16];
    /**
     * {@code kinds[i]}: what the proxy does with field i, decided from its name by the proxy on first
     * sight (0 until then); kept while the upstream sends the same name at the same place.
     */
    byte[] kinds = new byte[16];
    /** {@code fields[i]}: field i as the server writes it, made on first use; kept while it repeats. */
    private Header[] fields = new Header[16];
    /** {@code lines[i]}: field i as the lean handler writes it ({@code name: value CRLF}), made on first use; kept while it repeats. */
    private byte[][] lines = new byte[16][];
    /**
     * {@code raw[i]}: field line i of the previous answer as it came (name to the end of the value,
     * CRLF excluded). An equal line is taken whole from the previous answer (strings, kind, the
     * lines made of it) after one vectorized comparison, without splitting or checking it again.
     */
    private byte[][] raw = new byte[16][];

    int headerCount;
    /** Content-Length, or -1 when absent. */
    long contentLength;

    boolean chunked;
    /** The body runs until the upstream closes (no length, not chunked). */
    boolean untilClose;
    /** The upstream may keep the connection after this response. */
    boolean keepAlive;
    /** The response has no body (HEAD, 1xx, 204, 304). */
    boolean noBody;

    private final Body body = new Body();

    /**
     * A connection over a connected channel: plain, or over TLS when the pool has a TLS setting
     * (the handshake runs here, within {@code handshakeTimeoutMillis}).
     *
     * @throws UpstreamTlsException when the TLS handshake fails
     */
    UpstreamConnection(ConnectionPool pool, SocketChannel channel, long handshakeTimeoutMillis) throws IOException {
        this.pool = pool;
        this.channel = channel;
        this.quickAck = tune(channel);
        this.onLoop = false;
        this.io = null;
        if (pool.tls == null) {
            this.tls = null;
            this.in = channel.socket().getInputStream();
            this.out = channel.socket().getOutputStream();
        } else {
            // TLS is layered over the channel's own socket (as Helidon's server does), so the
            // Watchdog's interrupt still closes the channel, and stale() can still probe it.
            this.tls = pool.tls.handshake(channel, pool.address, pool.port, handshakeTimeoutMillis);
            this.in = tls.getInputStream();
            this.out = tls.getOutputStream();
        }
    }

    /**
     * A plain connection of an {@link EventLoop} over a connected, non-blocking channel.
     */
    UpstreamConnection(ConnectionPool pool, SocketChannel channel, LoopIo io) throws IOException {
        if (pool.tls != null || channel.isBlocking()) {
            throw new IllegalArgumentException("an event loop's connection is plain and non-blocking");
        }
        this.pool = pool;
        this.channel = channel;
        this.quickAck = tune(channel);
        this.onLoop = true;
        this.io = io;
        this.tls = null;
        this.in = null;
        this.out = null;
    }

    /**
     * Sets an upstream socket's options: no Nagle delay, TCP keep-alive ({@link #keepAlive}).
     *
     * @return whether the socket takes {@code TCP_QUICKACK} ({@link #ackNow})
     */
    private static boolean tune(SocketChannel channel) throws IOException {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        keepAlive(channel);
        return channel.supportedOptions().contains(ExtendedSocketOptions.TCP_QUICKACK);
    }

    /** The channel (an event loop registers it with its selector). */
    SocketChannel channel() {
        return channel;
    }

    /**
     * TCP keep-alive on an upstream socket, with short timers where the JDK can set them (Linux,
     * macOS): an upstream that vanished without a FIN or a reset (power lost, a cable pulled, a
     * NAT entry dropped) fails a waiting read within {@link #KEEPALIVE_IDLE_SECONDS} plus
     * {@link #KEEPALIVE_COUNT} probes {@link #KEEPALIVE_INTERVAL_SECONDS} apart (11 s) instead of
     * holding the request until the idle timeout; an idle pooled connection to it is found dead
     * by {@link #stale} before reuse. A live peer's kernel answers the probes, however long its
     * application stays silent (a stream), so nothing else is cut.
     */
    static void keepAlive(SocketChannel channel) throws IOException {
        channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        Set<SocketOption<?>> supported = channel.supportedOptions();
        if (supported.contains(ExtendedSocketOptions.TCP_KEEPIDLE)
                && supported.contains(ExtendedSocketOptions.TCP_KEEPINTERVAL)
                && supported.contains(ExtendedSocketOptions.TCP_KEEPCOUNT)) {
            channel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, KEEPALIVE_INTERVAL_SECONDS);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, KEEPALIVE_COUNT);
        }
    }

    /** A socket option of the connection's channel, as set (for the tests). */
    <T> T option(SocketOption<T> name) throws IOException {
        return channel.getOption(name);
    }

    /** Whether any byte of the current response arrived (a failure before it may be a stale connection). */
    boolean answered() {
        return responseBytes > 0;
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    void idleSince(long nanos) {
        idleSinceNanos = nanos;
    }

    /**
     * Whether an idle connection was closed or written to by the upstream while it sat in the pool:
     * one non-blocking read (no system call to switch modes on a virtual thread's channel).
     */
    boolean stale() {
        if (!channel.isOpen() || pos < lim) {
            return true;
        }
        try {
            // TLS: decrypted bytes waiting are unasked-for data. Below, a record (an alert) arriving
            // on the channel is read raw, which spoils the TLS stream: fine, the answer is stale.
            if (tls != null && in.available() > 0) {
                return true;
            }
            channel.configureBlocking(false);
            try {
                probe.clear();
                return channel.read(probe) != 0;
            } finally {
                channel.configureBlocking(true);
            }
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    // ---------------------------------------------------------------- request

    /** Starts a request head: {@code METHOD target HTTP/1.1} and the upstream's own {@code Host}. */
    void startHead(String method, String rawPath, String rawQuery) {
        headLength = 0;
        if (head.length > MAX_KEPT_HEAD_BYTES) {
            head = new byte[2048]; // an idle connection does not keep a large request body's copy
        }
        responseBytes = 0;
        append(method);
        appendByte((byte) ' ');
        if (rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            appendByte((byte) '/');
        }
        append(rawPath);
        if (!rawQuery.isEmpty()) {
            appendByte((byte) '?');
            append(rawQuery);
        }
        append(" HTTP/1.1\r\n");
        appendBytes(pool.hostLine);
    }

    /** Adds one header field; name and value were parsed by the server (no CR or LF in them). */
    void header(String name, String value) {
        append(name);
        appendByte((byte) ':');
        appendByte((byte) ' ');
        append(value);
        appendByte(CR);
        appendByte(LF);
    }

    void header(String name, long value) {
        header(name, Long.toString(value));
    }

    /** Adds one header field from a client's head, as bytes the lean handler parsed and checked. */
    void header(byte[] b, int nameFrom, int nameTo, int valueFrom, int valueTo) {
        appendBytes(b, nameFrom, nameTo - nameFrom);
        appendByte((byte) ':');
        appendByte((byte) ' ');
        appendBytes(b, valueFrom, valueTo - valueFrom);
        appendByte(CR);
        appendByte(LF);
    }

    /** Adds a header field whose value is bytes the lean handler parsed and checked. */
    void header(String name, byte[] b, int valueFrom, int valueTo) {
        append(name);
        appendByte((byte) ':');
        appendByte((byte) ' ');
        appendBytes(b, valueFrom, valueTo - valueFrom);
        appendByte(CR);
        appendByte(LF);
    }

    /** Adds a whole header line ({@code name: value CRLF}), made once. */
    void headerLine(byte[] line) {
        appendBytes(line);
    }

    /** Ends the head and writes it, with {@code body} in the same write when there is one. */
    void flushHead(byte[] body) throws IOException {
        appendByte(CR);
        appendByte(LF);
        if (onLoop) {
            if (body != null) {
                appendBytes(body);
            }
            int written = io.write(channel, head, 0, headLength);
            pending = written < headLength ? ByteBuffer.wrap(head, written, headLength - written) : null;
            return;
        }
        if (body != null && body.length <= 16 * 1024) {
            appendBytes(body);
            out.write(head, 0, headLength);
        } else {
            out.write(head, 0, headLength);
            if (body != null) {
                out.write(body);
            }
        }
    }

    /**
     * On a loop: writes what the socket did not take of the request yet.
     *
     * @return whether the whole request is out
     */
    boolean flushPending() throws IOException {
        ByteBuffer b = pending;
        if (b == null) {
            return true;
        }
        b.position(b.position() + io.write(channel, b.array(), b.position(), b.remaining()));
        if (b.hasRemaining()) {
            return false;
        }
        pending = null;
        return true;
    }

    /** Writes part of a request body (for chunked: one chunk). */
    void writeBody(byte[] data, int off, int len, boolean chunk) throws IOException {
        if (len == 0) {
            return;
        }
        if (!chunk) {
            out.write(data, off, len);
            return;
        }
        headLength = 0;
        append(Integer.toHexString(len));
        appendByte(CR);
        appendByte(LF);
        if (len <= 8 * 1024) {
            appendBytes(data, off, len);
            appendByte(CR);
            appendByte(LF);
            out.write(head, 0, headLength);
        } else {
            out.write(head, 0, headLength);
            out.write(data, off, len);
            out.write(CRLF);
        }
    }

    /** Ends a chunked request body. */
    void endChunkedBody() throws IOException {
        out.write(LAST_CHUNK);
    }

    private static final byte[] LAST_CHUNK = {'0', CR, LF, CR, LF};
    /** A request head array larger than this (a large body sent with it) is not kept for the next request. */
    private static final int MAX_KEPT_HEAD_BYTES = 64 * 1024;

    private static final byte[] CRLF = {CR, LF};

    @SuppressWarnings("deprecation") // the char-to-low-byte copy is the ISO-8859-1 encode the server decoded with
    private void append(String s) {
        int n = s.length();
        ensureHead(n);
        s.getBytes(0, n, head, headLength);
        headLength += n;
    }

    private void appendByte(byte b) {
        ensureHead(1);
        head[headLength++] = b;
    }

    private void appendBytes(byte[] b) {
        appendBytes(b, 0, b.length);
    }

    private void appendBytes(byte[] b, int off, int len) {
        ensureHead(len);
        System.arraycopy(b, off, head, headLength, len);
        headLength += len;
    }

    private void ensureHead(int more) {
        if (headLength + more > head.length) {
            byte[] bigger = new byte[Math.max(head.length * 2, headLength + more)];
            System.arraycopy(head, 0, bigger, 0, headLength);
            head = bigger;
        }
    }

    // ---------------------------------------------------------------- response head

    /**
     * Reads the response head (skipping interim 1xx answers) and decides the body's framing.
     *
     * @param headRequest whether the request was HEAD (no body, whatever the headers say)
     * @throws UpstreamProtocolException for a head that is not HTTP/1.x or breaks its framing rules
     * @throws EOFException when the upstream closed before a whole head
     */
    void readHead(boolean headRequest) throws IOException {
        while (true) {
            parseHead();
            if (status >= 100 && status < 200) {
                if (status == 101) {
                    throw new UpstreamProtocolException(
                            "answered 101 Switching Protocols to a request without Upgrade");
                }
                continue; // 100 Continue, 103 Early Hints: interim, the real answer follows
            }
            break;
        }
        noBody = headRequest || status == 204 || status == 304;
        if (headRequest) {
            // Some servers send a body with HEAD anyway; it would be read as the next answer's head.
            keepAlive = false;
        }
        if (noBody) {
            chunked = false;
            untilClose = false;
            contentLength = headRequest ? contentLength : 0;
        } else if (chunked) {
            contentLength = -1; // RFC 9112 6.3: Transfer-Encoding wins over Content-Length
        } else if (contentLength < 0) {
            untilClose = true;
            keepAlive = false;
        }
        body.start();
    }

    private void parseHead() throws IOException {
        int end = headEnd();
        int lineEnd = lineEnd(pos, end);
        parseStatusLine(pos, lineEnd);
        headerCount = 0;
        contentLength = -1;
        chunked = false;
        untilClose = false;
        closeAsked = false;
        keepAliveAsked = false;
        int at = next(lineEnd);
        while (at < end) {
            int e = lineEnd(at, end);
            if (e == at) {
                break; // the empty line
            }
            if (headerCount == MAX_HEADERS) {
                throw new UpstreamProtocolException("more than " + MAX_HEADERS + " response headers");
            }
            if (headerCount * 2 + 2 > headers.length) {
                grow();
            }
            byte[] previousLine = raw[headerCount];
            if (previousLine != null
                    && previousLine.length == e - at
                    && names[headerCount] != null
                    && Arrays.equals(buf, at, e, previousLine, 0, previousLine.length)) {
                // The same line as the previous answer's at this place: checked then, kept whole.
                String name = headers[headerCount * 2];
                String value = headers[headerCount * 2 + 1];
                headerCount++;
                framing(name, value);
                at = next(e);
                continue;
            }
            byte first = buf[at];
            if (first == ' ' || first == '\t') {
                throw new UpstreamProtocolException("obsolete line folding in a response header");
            }
            int colon = at;
            while (colon < e && buf[colon] != ':') {
                colon++;
            }
            if (colon == e || colon == at || buf[colon - 1] == ' ' || buf[colon - 1] == '\t') {
                throw new UpstreamProtocolException("malformed response header line");
            }
            int vs = colon + 1;
            while (vs < e && (buf[vs] == ' ' || buf[vs] == '\t')) {
                vs++;
            }
            int ve = e;
            while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) {
                ve--;
            }
            // An upstream sends the same fields in the same order, answer after answer: the strings
            // (and header names) of the previous answer at the same place are reused when equal.
            String previousName = headers[headerCount * 2];
            String previousValue = headers[headerCount * 2 + 1];
            String name = reuse(previousName, at, colon, true);
            String value = reuse(previousValue, vs, ve, false);
            if (name != previousName || names[headerCount] == null) {
                names[headerCount] = HeaderNames.create(name);
                kinds[headerCount] = 0;
                fields[headerCount] = null;
                lines[headerCount] = null;
            } else if (value != previousValue) {
                fields[headerCount] = null;
                lines[headerCount] = null;
            }
            headers[headerCount * 2] = name;
            headers[headerCount * 2 + 1] = value;
            raw[headerCount] = Arrays.copyOfRange(buf, at, e);
            headerCount++;
            framing(name, value);
            at = next(e);
        }
        pos = end;
        // Both framings in one answer: a sign of request smuggling or a broken hop; the connection is
        // used for this answer only (RFC 9112 6.1).
        boolean bothFramings = chunked && contentLength >= 0;
        keepAlive = !closeAsked && !bothFramings && (http11 || keepAliveAsked);
        if (untilClose) {
            chunked = false;
            contentLength = -1;
        }
    }

    /** Doubles the per-field arrays. */
    private void grow() {
        headers = Arrays.copyOf(headers, headers.length * 2);
        names = Arrays.copyOf(names, names.length * 2);
        kinds = Arrays.copyOf(kinds, kinds.length * 2);
        fields = Arrays.copyOf(fields, fields.length * 2);
        lines = Arrays.copyOf(lines, lines.length * 2);
        raw = Arrays.copyOf(raw, raw.length * 2);
    }

    private boolean http11;
    /** The answer's {@code Connection} asked for close, or for keep-alive (HTTP/1.0). */
    private boolean closeAsked;

    private boolean keepAliveAsked;

    /** Takes in the framing fields of the answer (Content-Length, Transfer-Encoding, Connection). */
    private void framing(String name, String value) throws UpstreamProtocolException {
        if (name.length() == 14 && name.equalsIgnoreCase("content-length")) {
            long length = parseLength(value);
            if (contentLength >= 0 && contentLength != length) {
                throw new UpstreamProtocolException("conflicting Content-Length values");
            }
            contentLength = length;
        } else if (name.length() == 17 && name.equalsIgnoreCase("transfer-encoding")) {
            // Chunked only when it is the final coding; any other coding: the body runs to the close.
            String v = value.trim();
            int comma = v.lastIndexOf(',');
            String last = comma < 0 ? v : v.substring(comma + 1).trim();
            chunked = last.equalsIgnoreCase("chunked");
            if (!chunked) {
                untilClose = true;
            }
        } else if (name.length() == 10 && name.equalsIgnoreCase("connection")) {
            int n = value.length();
            int i = 0;
            while (i < n) {
                int comma = value.indexOf(',', i);
                int end = comma < 0 ? n : comma;
                int from = i;
                int to = end;
                while (from < to && (value.charAt(from) == ' ' || value.charAt(from) == '\t')) {
                    from++;
                }
                while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
                    to--;
                }
                if (to - from == 5 && value.regionMatches(true, from, "close", 0, 5)) {
                    closeAsked = true;
                } else if (to - from == 10 && value.regionMatches(true, from, "keep-alive", 0, 10)) {
                    keepAliveAsked = true;
                }
                i = end + 1;
            }
        }
    }

    private void parseStatusLine(int from, int to) throws UpstreamProtocolException {
        // HTTP/1.x SP 3DIGIT [SP reason]
        if (to - from < 12
                || buf[from] != 'H'
                || buf[from + 1] != 'T'
                || buf[from + 2] != 'T'
                || buf[from + 3] != 'P'
                || buf[from + 4] != '/'
                || buf[from + 5] != '1'
                || buf[from + 6] != '.'
                || buf[from + 8] != ' ') {
            throw new UpstreamProtocolException("not an HTTP/1.x status line");
        }
        http11 = buf[from + 7] != '0';
        int code = 0;
        for (int i = from + 9; i < from + 12; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                throw new UpstreamProtocolException("malformed status code");
            }
            code = code * 10 + d;
        }
        if (code < 100 || to > from + 12 && buf[from + 12] != ' ') {
            throw new UpstreamProtocolException("malformed status code");
        }
        status = code;
        if (to <= from + 13) {
            reason = "";
        } else if (reasonRaw == null || !Arrays.equals(buf, from + 13, to, reasonRaw, 0, reasonRaw.length)) {
            // most answers repeat the previous reason phrase: its string is kept with its bytes
            reasonRaw = Arrays.copyOfRange(buf, from + 13, to);
            reason = ascii(from + 13, to);
        } else if (reason.isEmpty()) {
            reason = ascii(from + 13, to);
        }
    }

    /** The bytes of {@link #reason} as they came. */
    private byte[] reasonRaw;

    private static long parseLength(String value) throws UpstreamProtocolException {
        int n = value.length();
        if (n == 0 || n > 18) {
            throw new UpstreamProtocolException("malformed Content-Length");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            int d = value.charAt(i) - '0';
            if (d < 0 || d > 9) {
                throw new UpstreamProtocolException("malformed Content-Length");
            }
            v = v * 10 + d;
        }
        return v;
    }

    /** Reads until the buffer holds a whole head; returns the index just past its empty line. */
    private int headEnd() throws IOException {
        int scanned = 0; // bytes from pos known to hold no end of head (fill may move pos)
        while (true) {
            for (int i = pos + Math.max(scanned, 3); i < lim; i++) {
                if (buf[i] == LF && buf[i - 1] == CR && buf[i - 2] == LF && buf[i - 3] == CR) {
                    return i + 1;
                }
            }
            scanned = Math.max(0, lim - pos - 3);
            if (lim - pos >= MAX_HEAD_BYTES) {
                throw new UpstreamProtocolException("response head larger than " + MAX_HEAD_BYTES + " bytes");
            }
            if (fill() < 0) {
                throw new EOFException(
                        responseBytes == 0
                                ? "upstream closed the connection without an answer"
                                : "upstream closed the connection within the response head");
            }
        }
    }

    /** Index of the CR of the line starting at {@code from} (heads end in CRLF CRLF, so one exists). */
    private int lineEnd(int from, int end) throws UpstreamProtocolException {
        for (int i = from; i < end - 1; i++) {
            if (buf[i] == CR) {
                if (buf[i + 1] != LF) {
                    throw new UpstreamProtocolException("bare CR in the response head");
                }
                return i;
            }
            if (buf[i] == LF) {
                throw new UpstreamProtocolException("bare LF in the response head");
            }
        }
        return end - 2;
    }

    private static int next(int lineEnd) {
        return lineEnd + 2;
    }

    /**
     * {@code previous} when it holds exactly the bytes {@code [from, to)}, else a new string of them,
     * checked: a field name of token characters only, a value without control characters (CR and LF
     * cannot be in a line already). The server relays these fields without checking them again.
     */
    private String reuse(String previous, int from, int to, boolean name) throws UpstreamProtocolException {
        int n = to - from;
        if (previous != null && previous.length() == n) {
            byte[] b = buf;
            int i = 0;
            while (i < n && previous.charAt(i) == (char) (b[from + i] & 0xff)) {
                i++;
            }
            if (i == n) {
                return previous;
            }
        }
        for (int i = from; i < to; i++) {
            int c = buf[i] & 0xff;
            if (name ? !TOKEN[c] : c < 0x20 && c != '\t' || c == 0x7f) {
                throw new UpstreamProtocolException("invalid character 0x" + Integer.toHexString(c)
                        + " in a response header " + (name ? "name" : "value"));
            }
        }
        return ascii(from, to);
    }

    /** RFC 9110 token characters: the bytes a field name may hold. */
    private static final boolean[] TOKEN = new boolean[256];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
    }

    @SuppressWarnings("deprecation") // the byte-to-char constructor is the ISO-8859-1 decode, without a charset lookup
    private String ascii(int from, int to) {
        return new String(buf, 0, from, to - from);
    }

    /**
     * Reads more bytes into the buffer (compacting or growing it first).
     *
     * @return bytes read, or -1 at the end of the stream
     */
    private int fill() throws IOException {
        if (pos == lim) {
            pos = 0;
            lim = 0;
        } else if (lim == buf.length) {
            if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, lim - pos);
                lim -= pos;
                pos = 0;
            } else {
                byte[] bigger = new byte[Math.min(buf.length * 2, MAX_HEAD_BYTES + 8)];
                System.arraycopy(buf, 0, bigger, 0, lim);
                buf = bigger;
            }
        }
        if (responseBytes == 0) {
            Forwarder.yieldCarrier(); // the answer is on its way: let other requests run meanwhile
        } else {
            ackNow();
        }
        int n = onLoop ? readNow() : in.read(buf, lim, buf.length - lim);
        if (n > 0) {
            lim += n;
            responseBytes += n;
        }
        return n;
    }

    /** On a loop: one non-blocking read into {@code buf[lim ..]}; nothing there is {@link WouldBlock}. */
    private int readNow() throws IOException {
        int n = io.read(channel, buf, lim, buf.length - lim);
        if (n == 0) {
            throw WouldBlock.INSTANCE;
        }
        return n;
    }

    /**
     * On a loop: one non-blocking read into the buffer.
     *
     * @return bytes read; 0 when the channel had nothing; -1 at the end of the stream
     */
    int readAvailable() throws IOException {
        try {
            return fill();
        } catch (WouldBlock e) {
            return 0;
        }
    }

    /**
     * On a loop: whether the rest of a body of known length is in the buffer (growing the buffer
     * to hold it), so that {@link #readWhole} needs no read.
     */
    boolean bodyBuffered(int length) {
        int need = length - (lim - pos);
        if (need <= 0) {
            return true;
        }
        if (pos + length > buf.length) {
            byte[] bigger = new byte[Math.max(length, READ_BUFFER_BYTES)];
            System.arraycopy(buf, pos, bigger, 0, lim - pos);
            lim -= pos;
            pos = 0;
            buf = bigger;
        }
        return false;
    }

    /**
     * Before blocking for the rest of an answer: acknowledges what arrived at once instead of after
     * the kernel's delayed-ACK timer. An upstream that writes its head and its body in two writes
     * with Nagle's algorithm on (Python's http.server, for one) holds the body until that ACK: 40 ms
     * per answer on a keep-alive connection. Linux clears the option after each ACK, so it is set
     * per wait; at the start of an answer there is nothing to acknowledge.
     */
    private void ackNow() {
        if (quickAck && responseBytes > 0) {
            try {
                channel.setOption(ExtendedSocketOptions.TCP_QUICKACK, true);
            } catch (IOException | UnsupportedOperationException e) {
                // only a latency hint: the read goes on without it
            }
        }
    }

    /**
     * Field {@code i} of the current answer as a header for the server to write: its bytes are
     * encoded once, and the same object serves every answer that repeats the field.
     */
    Header field(int i) {
        Header f = fields[i];
        if (f == null) {
            f = HeaderValues.createCached(names[i], headers[2 * i + 1]);
            fields[i] = f;
        }
        return f;
    }

    /**
     * Field {@code i} of the current answer as the lean handler writes it, {@code name: value CRLF}
     * in ISO-8859-1 (the bytes as they came): made once, reused while the upstream repeats it.
     */
    @SuppressWarnings("deprecation") // the char-to-low-byte copy is the ISO-8859-1 encode the parser decoded with
    byte[] line(int i) {
        byte[] line = lines[i];
        if (line == null) {
            String name = headers[2 * i];
            String value = headers[2 * i + 1];
            line = new byte[name.length() + value.length() + 4];
            name.getBytes(0, name.length(), line, 0);
            line[name.length()] = ':';
            line[name.length() + 1] = ' ';
            value.getBytes(0, value.length(), line, name.length() + 2);
            line[line.length - 2] = CR;
            line[line.length - 1] = LF;
            lines[i] = line;
        }
        return line;
    }

    // ---------------------------------------------------------------- response body

    /** The response body, decoded (length, chunked, or until the close); reused per response. */
    InputStream body() {
        return body;
    }

    /** Whether this connection can go back to the pool: the whole response read, no close asked. */
    boolean reusable() {
        // Bytes beyond the answer belong to no request: a connection holding them is not reused.
        return keepAlive && body.done && pos == lim && channel.isOpen();
    }

    /** Reads a body of known, small length whole into {@code whole[0, length)}. */
    void readWhole(byte[] whole, int length) throws IOException {
        int got = 0;
        while (got < length) {
            int n = body.read(whole, got, length - got);
            if (n < 0) {
                throw new EOFException("upstream closed after " + got + " of " + length + " bytes");
            }
            got += n;
        }
    }

    /** Decodes the body from the read buffer and the socket. */
    private final class Body extends InputStream {
        /** Bytes left in the body (length framing) or the current chunk (chunked). */
        private long remaining;

        private boolean done;
        private boolean lastChunkSeen;
        /** The CRLF that ends a chunk's data is still to be read. */
        private boolean crlfDue;
        /** Trailer fields read after the last chunk. */
        private int trailers;

        void start() {
            done = false;
            lastChunkSeen = false;
            crlfDue = false;
            trailers = 0;
            if (noBody || contentLength == 0) {
                done = true;
                remaining = 0;
            } else if (chunked) {
                remaining = 0;
            } else {
                remaining = contentLength; // -1 for until-close
            }
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
            if (chunked) {
                if (crlfDue) {
                    expectCrlf();
                    crlfDue = false;
                }
                if (remaining == 0) {
                    nextChunk();
                    if (done) {
                        return -1;
                    }
                }
                int n = readRaw(b, off, (int) Math.min(len, remaining));
                if (n < 0) {
                    throw new EOFException("upstream closed within a chunk");
                }
                remaining -= n;
                // The CRLF after the chunk's data is read by the next call (which comes: a body is
                // read to its end), so that a read that finds nothing never loses these bytes.
                crlfDue = remaining == 0;
                return n;
            }
            if (untilClose) {
                int n = readRaw(b, off, len);
                if (n < 0) {
                    done = true;
                }
                return n;
            }
            int n = readRaw(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new EOFException(
                        "upstream closed with " + remaining + " of " + contentLength + " body bytes unsent");
            }
            remaining -= n;
            if (remaining == 0) {
                done = true;
            }
            return n;
        }

        /** Copies buffered bytes, else reads once from the socket (directly when the caller's array is large). */
        private int readRaw(byte[] b, int off, int len) throws IOException {
            if (pos < lim) {
                int n = Math.min(len, lim - pos);
                System.arraycopy(buf, pos, b, off, n);
                pos += n;
                return n;
            }
            if (len >= buf.length && !onLoop) {
                ackNow();
                int n = in.read(b, off, len);
                if (n > 0) {
                    responseBytes += n;
                }
                return n;
            }
            if (fill() < 0) {
                return -1;
            }
            int n = Math.min(len, lim - pos);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            return n;
        }

        private void nextChunk() throws IOException {
            if (!lastChunkSeen) {
                long size = chunkSize(readLine());
                if (size != 0) {
                    remaining = size;
                    return;
                }
                lastChunkSeen = true;
            }
            // Trailer fields, then the empty line; trailers are not relayed (the answer's head is gone).
            while (!readLine().isEmpty()) {
                if (++trailers > MAX_HEADERS) {
                    throw new UpstreamProtocolException("too many trailer fields");
                }
            }
            done = true;
        }

        private void expectCrlf() throws IOException {
            if (!readLine().isEmpty()) {
                throw new UpstreamProtocolException("chunk not followed by CRLF");
            }
        }

        private String readLine() throws IOException {
            int scanned = pos;
            while (true) {
                for (int i = scanned; i < lim; i++) {
                    if (buf[i] == LF) {
                        int end = i > pos && buf[i - 1] == CR ? i - 1 : i;
                        String line = ascii(pos, end);
                        pos = i + 1;
                        return line;
                    }
                }
                if (lim - pos > 4096) {
                    throw new UpstreamProtocolException("chunk header line too long");
                }
                int before = lim - pos;
                if (fill() < 0) {
                    throw new EOFException(
                            lastChunkSeen ? "upstream closed within the trailers" : "upstream closed between chunks");
                }
                scanned = pos + before;
            }
        }
    }

    /**
     * The size on a chunk's first line (its line end already cut), read strictly (RFC 9112 7.1):
     * 1 to 15 hex digits, then only spaces or tabs, or those before a {@code ;} and the extensions,
     * which are ignored. No sign, no leading space, no other control character: a hop that reads
     * chunk boundaries differently from the next one is how answers get smuggled.
     */
    static long chunkSize(String line) throws UpstreamProtocolException {
        int n = line.length();
        long size = 0;
        int i = 0;
        while (i < n) {
            char c = line.charAt(i);
            int digit = c >= '0' && c <= '9'
                    ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (digit < 0) {
                break;
            }
            if (i == 15) {
                throw new UpstreamProtocolException("malformed chunk size");
            }
            size = size << 4 | digit;
            i++;
        }
        while (i > 0 && i < n && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
            i++;
        }
        if (i == 0 || i < n && line.charAt(i) != ';') {
            throw new UpstreamProtocolException("malformed chunk size");
        }
        return size;
    }

    @Override
    public void close() {
        if (tls != null) {
            try {
                tls.close(); // a close_notify, then the channel
            } catch (IOException e) {
                // closing: the channel is closed below anyway
            }
        }
        try {
            channel.close();
        } catch (IOException e) {
            // closing: nothing left to do with the error
        }
    }
}
