package io.edgegate.benchmarks.proxy.reference;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Byte-level helpers for HTTP/1.1 heads held in a buffer (absolute indexes); stateless. */
final class HttpHeads {
    static final byte[] CONTENT_LENGTH = bytes("content-length");
    static final byte[] TRANSFER_ENCODING = bytes("transfer-encoding");
    static final byte[] CONNECTION = bytes("connection");
    static final byte[] KEEP_ALIVE = bytes("keep-alive");
    static final byte[] PROXY_CONNECTION = bytes("proxy-connection");
    static final byte[] HOST = bytes("host");
    static final byte[] CHUNKED = bytes("chunked");
    static final byte[] CLOSE = bytes("close");

    private HttpHeads() {}

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * The index just past the empty line that ends a head starting at {@code from}, or -1 when
     * {@code [from, to)} holds no complete head. Lines end with CRLF or a bare LF.
     */
    static int headEnd(ByteBuffer b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b.get(i) == '\n') {
                // an empty line: LF LF or LF CR LF
                if (i + 1 < to && b.get(i + 1) == '\n') {
                    return i + 2;
                }
                if (i + 2 < to && b.get(i + 1) == '\r' && b.get(i + 2) == '\n') {
                    return i + 3;
                }
            }
        }
        return -1;
    }

    /** The index of the next LF at or after {@code from} (before {@code to}), or -1. */
    static int lineEnd(ByteBuffer b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b.get(i) == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** Whether {@code [from, to)} equals {@code lower} ignoring ASCII case ({@code lower} in lower case). */
    static boolean equalsIgnoreCase(ByteBuffer b, int from, int to, byte[] lower) {
        if (to - from != lower.length) {
            return false;
        }
        for (int i = 0; i < lower.length; i++) {
            int c = b.get(from + i);
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lower[i]) {
                return false;
            }
        }
        return true;
    }

    /** Whether the comma-separated list in {@code [from, to)} holds {@code token} (lower case), ignoring case. */
    static boolean hasToken(ByteBuffer b, int from, int to, byte[] token) {
        int start = from;
        for (int i = from; i <= to; i++) {
            if (i == to || b.get(i) == ',') {
                int s = trimStart(b, start, i);
                int e = trimEnd(b, s, i);
                if (equalsIgnoreCase(b, s, e, token)) {
                    return true;
                }
                start = i + 1;
            }
        }
        return false;
    }

    /** Whether the last element of the comma-separated list in {@code [from, to)} is {@code token}. */
    static boolean lastTokenIs(ByteBuffer b, int from, int to, byte[] token) {
        int start = from;
        for (int i = to - 1; i >= from; i--) {
            if (b.get(i) == ',') {
                start = i + 1;
                break;
            }
        }
        int s = trimStart(b, start, to);
        return equalsIgnoreCase(b, s, trimEnd(b, s, to), token);
    }

    static int trimStart(ByteBuffer b, int from, int to) {
        while (from < to && (b.get(from) == ' ' || b.get(from) == '\t')) {
            from++;
        }
        return from;
    }

    static int trimEnd(ByteBuffer b, int from, int to) {
        while (to > from && (b.get(to - 1) == ' ' || b.get(to - 1) == '\t' || b.get(to - 1) == '\r')) {
            to--;
        }
        return to;
    }

    /** Appends {@code src}'s bytes {@code [from, from + length)} at {@code out}'s position. */
    static void append(ByteBuffer out, ByteBuffer src, int from, int length) {
        out.put(out.position(), src, from, length);
        out.position(out.position() + length);
    }

    /** The decimal number in {@code [from, to)}, or -1 when it is empty, not all digits or over 2^53. */
    static long decimal(ByteBuffer b, int from, int to) {
        if (from == to || to - from > 16) {
            return -1;
        }
        long value = 0;
        for (int i = from; i < to; i++) {
            int c = b.get(i) - '0';
            if (c < 0 || c > 9) {
                return -1;
            }
            value = value * 10 + c;
        }
        return value;
    }
}
