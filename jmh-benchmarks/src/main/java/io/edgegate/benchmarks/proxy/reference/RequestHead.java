package io.edgegate.benchmarks.proxy.reference;

import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CHUNKED;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CLOSE;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CONNECTION;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CONTENT_LENGTH;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.HOST;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.KEEP_ALIVE;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.PROXY_CONNECTION;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.TRANSFER_ENCODING;

import java.nio.ByteBuffer;

/**
 * A client's request head, parsed just enough to forward it: the request line, the body's framing
 * ({@code Content-Length}, {@code Transfer-Encoding: chunked}), whether the client keeps the
 * connection ({@code Connection}, the HTTP version) and which lines are hop-by-hop. The parsed
 * head stays in the client's buffer; this object holds indexes into it.
 *
 * <p>{@link #writeUpstream} writes the head to forward: the prefix cut from the path, HTTP/1.1,
 * the hop-by-hop lines ({@code Connection}, {@code Keep-Alive}, {@code Proxy-Connection}) left
 * out, so that the upstream connection stays persistent; every other line as the client sent it.
 *
 * <p>Not thread-safe: owned by one client connection, reused for each of its requests.
 */
final class RequestHead {
    private static final int MAX_SKIPPED = 8;
    private static final byte[] HTTP_11 = HttpHeads.bytes(" HTTP/1.1\r\n");
    private static final byte[] HOST_LINE = HttpHeads.bytes("Host: upstream\r\n");

    private int start;
    private int methodEnd;
    private int targetStart;
    private int targetEnd;
    private int linesStart;
    private int end;
    private final int[] skipped = new int[MAX_SKIPPED * 2];
    private int skippedCount;
    private boolean head;
    private boolean host;
    long contentLength;
    boolean chunked;
    boolean keepAlive;

    /**
     * Parses the head in {@code [from, to)} (to: just past its empty line). Returns 0, or the
     * status to answer when the head cannot be forwarded (400, 501 for a transfer coding other
     * than chunked).
     */
    int parse(ByteBuffer b, int from, int to) {
        start = from;
        end = to;
        skippedCount = 0;
        contentLength = -1;
        chunked = false;
        host = false;
        int lineEnd = HttpHeads.lineEnd(b, from, to);
        int line = HttpHeads.trimEnd(b, from, lineEnd);
        methodEnd = indexOf(b, from, line, (byte) ' ');
        if (methodEnd <= from) {
            return 400;
        }
        targetStart = methodEnd + 1;
        targetEnd = indexOf(b, targetStart, line, (byte) ' ');
        if (targetEnd <= targetStart || b.get(targetStart) != '/' || line - targetEnd != 9) {
            return 400;
        }
        int v = targetEnd + 1;
        if (b.get(v) != 'H' || b.get(v + 4) != '/' || b.get(v + 5) != '1' || b.get(v + 6) != '.') {
            return 400;
        }
        boolean http11 = b.get(v + 7) == '1';
        head = methodEnd - from == 4
                && b.get(from) == 'H'
                && b.get(from + 1) == 'E'
                && b.get(from + 2) == 'A'
                && b.get(from + 3) == 'D';
        boolean close = false;
        boolean keep = false;
        linesStart = lineEnd + 1;
        int i = linesStart;
        while (true) {
            int eol = HttpHeads.lineEnd(b, i, to);
            int lineStop = HttpHeads.trimEnd(b, i, eol);
            if (lineStop == i) {
                break; // the empty line
            }
            int colon = indexOf(b, i, lineStop, (byte) ':');
            if (colon <= i) {
                return 400;
            }
            int vs = HttpHeads.trimStart(b, colon + 1, lineStop);
            if (HttpHeads.equalsIgnoreCase(b, i, colon, CONTENT_LENGTH)) {
                long n = HttpHeads.decimal(b, vs, lineStop);
                if (n < 0 || (contentLength >= 0 && contentLength != n)) {
                    return 400;
                }
                contentLength = n;
            } else if (HttpHeads.equalsIgnoreCase(b, i, colon, TRANSFER_ENCODING)) {
                if (!HttpHeads.lastTokenIs(b, vs, lineStop, CHUNKED)) {
                    return 501;
                }
                chunked = true;
            } else if (HttpHeads.equalsIgnoreCase(b, i, colon, CONNECTION)) {
                close |= HttpHeads.hasToken(b, vs, lineStop, CLOSE);
                keep |= HttpHeads.hasToken(b, vs, lineStop, KEEP_ALIVE);
                if (!skip(i, eol + 1)) {
                    return 400;
                }
            } else if (HttpHeads.equalsIgnoreCase(b, i, colon, KEEP_ALIVE)
                    || HttpHeads.equalsIgnoreCase(b, i, colon, PROXY_CONNECTION)) {
                if (!skip(i, eol + 1)) {
                    return 400;
                }
            } else if (HttpHeads.equalsIgnoreCase(b, i, colon, HOST)) {
                host = true;
            }
            i = eol + 1;
        }
        if (chunked && contentLength >= 0) {
            return 400; // both framings: refused rather than guessed (request smuggling)
        }
        keepAlive = http11 ? !close : keep && !close;
        return 0;
    }

    /** Whether the method is HEAD (its answer has no body whatever its framing says). */
    boolean isHead() {
        return head;
    }

    /**
     * Writes the head to forward to {@code out} (at its position), {@code prefix} cut from the
     * path. Returns false, writing nothing, when the path does not start with the prefix (followed
     * by {@code /}, {@code ?} or nothing).
     */
    boolean writeUpstream(ByteBuffer src, ByteBuffer out, byte[] prefix) {
        int path = targetStart + prefix.length;
        if (path > targetEnd) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (src.get(targetStart + i) != prefix[i]) {
                return false;
            }
        }
        if (path < targetEnd && src.get(path) != '/' && src.get(path) != '?') {
            return false;
        }
        HttpHeads.append(out, src, start, methodEnd - start + 1);
        if (path == targetEnd || src.get(path) == '?') {
            out.put((byte) '/');
        }
        HttpHeads.append(out, src, path, targetEnd - path);
        out.put(HTTP_11);
        if (!host) {
            out.put(HOST_LINE);
        }
        int from = linesStart;
        for (int k = 0; k < skippedCount; k++) {
            HttpHeads.append(out, src, from, skipped[2 * k] - from);
            from = skipped[2 * k + 1];
        }
        HttpHeads.append(out, src, from, end - from);
        return true;
    }

    private boolean skip(int from, int to) {
        if (skippedCount == MAX_SKIPPED) {
            return false;
        }
        skipped[2 * skippedCount] = from;
        skipped[2 * skippedCount + 1] = to;
        skippedCount++;
        return true;
    }

    private static int indexOf(ByteBuffer b, int from, int to, byte c) {
        for (int i = from; i < to; i++) {
            if (b.get(i) == c) {
                return i;
            }
        }
        return -1;
    }
}
