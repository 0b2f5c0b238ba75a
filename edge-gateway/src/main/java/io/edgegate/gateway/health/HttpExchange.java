package io.edgegate.gateway.health;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/**
 * One HTTP/1.1 connection of an HTTP check, and the exchanges made on it: the request head (a
 * probe sends no body), then the answer's status line, headers and the first bytes of its body.
 * Only what a health probe needs: interim 1xx answers are skipped, the body is framed by
 * {@code Content-Length}, by chunks or by the connection's end; trailers are read and dropped.
 *
 * <p>Bounded: a head is at most {@link #MAX_HEAD_BYTES}, a line at most the buffer; of a body the
 * first {@code maxOutputBytes} are kept and at most {@link #MAX_DRAIN_BYTES} more are read (and
 * dropped) to leave the connection ready for the next probe, else reading stops and the answer is
 * marked not reusable. Every read waits at most until the probe's deadline.
 *
 * <p>Not thread-safe: owned by the probing thread between {@link HttpProber}'s take and put back.
 */
final class HttpExchange {
    /** Request headers that frame the message or the connection: the exchange writes its own, a check's are dropped. */
    static final Set<String> FRAMING_HEADERS = Set.of(
            "connection",
            "content-length",
            "expect",
            "host",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade");

    /** Status line and headers of one answer. */
    static final int MAX_HEAD_BYTES = 16 * 1024;
    /** Body bytes read past the output, and dropped, to keep a connection for the next probe. */
    static final int MAX_DRAIN_BYTES = 64 * 1024;
    /** Characters of a {@code Location} kept for the output. */
    private static final int MAX_LOCATION_CHARS = 256;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String key;
    private final long openedNanos;
    private final byte[] buffer = new byte[8192];
    private int pos;
    private int limit;
    private boolean received;
    private volatile long idleSinceNanos;

    HttpExchange(Socket socket, String key, long openedNanos) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.key = key;
        this.openedNanos = openedNanos;
    }

    /**
     * What an exchange got.
     *
     * @param status the final status code
     * @param location the {@code Location} header (shortened, control characters dropped), or null
     * @param body the first bytes of the body as text
     * @param reusable whether the connection may carry the next exchange
     * @param truncated whether the body was longer than what was kept
     */
    record Answer(int status, String location, String body, boolean reusable, boolean truncated) {}

    String key() {
        return key;
    }

    long openedNanos() {
        return openedNanos;
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    void idleSince(long nanos) {
        idleSinceNanos = nanos;
    }

    boolean isOpen() {
        return !socket.isClosed();
    }

    /** Whether the current exchange has received no byte yet (a reused connection the server had closed). */
    boolean nothingReceived() {
        return !received;
    }

    /** Closes the connection (abortively, as its socket was set up: no TIME_WAIT left). */
    void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // Closed either way.
        }
    }

    /**
     * Sends {@code request} (a whole head) and reads the answer.
     *
     * @param headRequest the request was HEAD: the answer has no body whatever its headers say
     * @param deadlineNanos when the probe's timeout ends
     * @throws IOException when no complete head arrived in time, or the answer is not HTTP/1.x;
     *     a body that fails once its kept bytes are in does not fail the exchange (the connection
     *     is not reused)
     */
    Answer exchange(byte[] request, boolean headRequest, int maxOutputBytes, long deadlineNanos) throws IOException {
        received = false;
        setTimeout(deadlineNanos);
        out.write(request);
        out.flush();
        Head head = readHead(deadlineNanos);
        while (head.status >= 100 && head.status < 200 && head.status != 101) {
            head = readHead(deadlineNanos); // interim answers (103 Early Hints): the final one follows
        }
        // A body of known length takes no more room than it needs (a scrape's cap is far above a
        // probe's); one of unknown length, the whole cap.
        BoundedOutput body = new BoundedOutput(
                head.contentLength >= 0 && !head.chunked
                        ? (int) Math.max(1, Math.min(maxOutputBytes, head.contentLength))
                        : maxOutputBytes);
        boolean complete;
        boolean noBody = headRequest || head.status == 204 || head.status == 304 || head.status == 101;
        try {
            if (noBody) {
                complete = true;
            } else if (head.chunked) {
                complete = readChunked(body, maxOutputBytes, deadlineNanos);
            } else if (head.contentLength >= 0) {
                complete = readFixed(head.contentLength, body, maxOutputBytes, deadlineNanos);
            } else {
                readUntilClose(body, deadlineNanos);
                complete = false;
            }
        } catch (IOException e) {
            if (!body.full()) {
                throw e;
            }
            complete = false; // the kept bytes are in: the answer stands, the connection goes
        }
        boolean reusable = complete && head.keepAlive && head.status != 101 && pos == limit;
        return new Answer(head.status, head.location, body.text(), reusable, body.truncated(complete));
    }

    /** A parsed answer head. */
    private static final class Head {
        int status;
        long contentLength = -1;
        boolean chunked;
        boolean keepAlive;
        String location;
    }

    private Head readHead(long deadlineNanos) throws IOException {
        int[] budget = {MAX_HEAD_BYTES};
        String statusLine = readLine(deadlineNanos, budget);
        if (!(statusLine.startsWith("HTTP/1.1 ") || statusLine.startsWith("HTTP/1.0 "))
                || statusLine.length() < 12
                || !digits(statusLine, 9, 12)
                || (statusLine.length() > 12 && statusLine.charAt(12) != ' ')) {
            throw new ProtocolException("not an HTTP/1.x answer: " + printable(statusLine, 64));
        }
        Head head = new Head();
        head.status = Integer.parseInt(statusLine.substring(9, 12));
        boolean http11 = statusLine.charAt(7) == '1';
        boolean close = false;
        boolean keepAliveAsked = false;
        boolean transferEncoding = false;
        for (String line = readLine(deadlineNanos, budget); !line.isEmpty(); line = readLine(deadlineNanos, budget)) {
            int colon = line.indexOf(':');
            if (colon <= 0 || line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                throw new ProtocolException("malformed header line: " + printable(line, 64));
            }
            String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> head.contentLength = contentLength(head.contentLength, value);
                case "transfer-encoding" -> {
                    transferEncoding = true;
                    String last = value.substring(value.lastIndexOf(',') + 1).trim();
                    head.chunked = last.equalsIgnoreCase("chunked");
                }
                case "connection" -> {
                    for (String token : value.split(",")) {
                        close |= token.trim().equalsIgnoreCase("close");
                        keepAliveAsked |= token.trim().equalsIgnoreCase("keep-alive");
                    }
                }
                case "location" ->
                    head.location = head.location == null ? printable(value, MAX_LOCATION_CHARS) : head.location;
                default -> {
                    // Not needed by a probe.
                }
            }
        }
        if (transferEncoding) {
            // Transfer-Encoding overrides Content-Length; an answer with both is closed after (RFC 9112 6.3).
            close |= head.contentLength >= 0 || !head.chunked;
            head.contentLength = -1;
        }
        head.keepAlive = !close && (http11 || keepAliveAsked);
        return head;
    }

    private static long contentLength(long previous, String value) throws ProtocolException {
        long length = -1;
        for (String part : value.split(",")) {
            String p = part.trim();
            if (p.isEmpty() || p.length() > 18 || !digits(p, 0, p.length())) {
                throw new ProtocolException("bad Content-Length: " + printable(value, 64));
            }
            long v = Long.parseLong(p);
            if (length >= 0 && v != length) {
                throw new ProtocolException("conflicting Content-Length: " + printable(value, 64));
            }
            length = v;
        }
        if (previous >= 0 && previous != length) {
            throw new ProtocolException("conflicting Content-Length headers");
        }
        return length;
    }

    private boolean readFixed(long length, BoundedOutput body, int maxOutputBytes, long deadlineNanos)
            throws IOException {
        long left = length;
        while (left > 0) {
            if (body.full() && body.total() + left - maxOutputBytes > MAX_DRAIN_BYTES) {
                return false; // the rest is not worth reading: the connection goes instead
            }
            if (pos == limit && !fill(deadlineNanos)) {
                throw new EOFException("the body ended " + left + " bytes short of its Content-Length");
            }
            int n = (int) Math.min(left, limit - pos);
            body.write(buffer, pos, n);
            pos += n;
            left -= n;
        }
        return true;
    }

    private boolean readChunked(BoundedOutput body, int maxOutputBytes, long deadlineNanos) throws IOException {
        int[] trailerBudget = {MAX_HEAD_BYTES};
        while (true) {
            String sizeLine = readLine(deadlineNanos, new int[] {buffer.length});
            int semicolon = sizeLine.indexOf(';');
            String hex = (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim();
            long size;
            try {
                if (hex.isEmpty() || hex.length() > 15) {
                    throw new NumberFormatException();
                }
                size = Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                throw new ProtocolException("bad chunk size: " + printable(sizeLine, 32));
            }
            if (size == 0) {
                while (!readLine(deadlineNanos, trailerBudget).isEmpty()) {
                    // Trailers: read and dropped.
                }
                return true;
            }
            long left = size;
            while (left > 0) {
                if (body.full() && body.total() - maxOutputBytes > MAX_DRAIN_BYTES) {
                    return false;
                }
                if (pos == limit && !fill(deadlineNanos)) {
                    throw new EOFException("the body ended within a chunk");
                }
                int n = (int) Math.min(left, limit - pos);
                body.write(buffer, pos, n);
                pos += n;
                left -= n;
            }
            if (!readLine(deadlineNanos, new int[] {buffer.length}).isEmpty()) {
                throw new ProtocolException("chunk not followed by CRLF");
            }
        }
    }

    private void readUntilClose(BoundedOutput body, long deadlineNanos) throws IOException {
        while (!body.full()) {
            if (pos == limit && !fill(deadlineNanos)) {
                return;
            }
            body.write(buffer, pos, limit - pos);
            pos = limit;
        }
    }

    /**
     * The next line without its CRLF (or bare LF), as ISO-8859-1 text; {@code budget[0]} is the
     * bytes the head may still take and is charged with this line.
     */
    private String readLine(long deadlineNanos, int[] budget) throws IOException {
        int scanFrom = pos;
        while (true) {
            for (int i = scanFrom; i < limit; i++) {
                if (buffer[i] == '\n') {
                    budget[0] -= i + 1 - pos;
                    if (budget[0] < 0) {
                        throw new ProtocolException("answer head longer than " + MAX_HEAD_BYTES + " bytes");
                    }
                    int end = i > pos && buffer[i - 1] == '\r' ? i - 1 : i;
                    String line = new String(buffer, pos, end - pos, StandardCharsets.ISO_8859_1);
                    pos = i + 1;
                    return line;
                }
            }
            int scanned = limit - pos;
            if (scanned >= buffer.length || scanned > budget[0]) {
                throw new ProtocolException("answer line longer than " + Math.min(buffer.length, budget[0]) + " bytes");
            }
            if (!fill(deadlineNanos)) {
                throw new EOFException(
                        received
                                ? "the connection closed within the answer"
                                : "the connection closed without an answer");
            }
            scanFrom = pos + scanned; // fill moved the unread bytes to the start of the buffer
        }
    }

    /** Reads more bytes into the buffer (moving what is left to its start); false at the end of the stream. */
    private boolean fill(long deadlineNanos) throws IOException {
        if (pos > 0) {
            System.arraycopy(buffer, pos, buffer, 0, limit - pos);
            limit -= pos;
            pos = 0;
        }
        setTimeout(deadlineNanos);
        int n = in.read(buffer, limit, buffer.length - limit);
        if (n < 0) {
            return false;
        }
        received = true;
        limit += n;
        return true;
    }

    private void setTimeout(long deadlineNanos) throws IOException {
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, CheckTargetPolicy.remainingMillis(deadlineNanos)));
    }

    private static boolean digits(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** {@code s} without control characters, at most {@code max} characters. */
    private static String printable(String s, int max) {
        StringBuilder out = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && out.length() < max; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != 0x7f) {
                out.append(c);
            }
        }
        return s.length() > max ? out + "..." : out.toString();
    }
}
