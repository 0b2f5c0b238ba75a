package io.edgegate.benchmarks.proxy.reference;

import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CHUNKED;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CLOSE;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CONNECTION;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.CONTENT_LENGTH;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.KEEP_ALIVE;
import static io.edgegate.benchmarks.proxy.reference.HttpHeads.TRANSFER_ENCODING;

import java.nio.ByteBuffer;

/**
 * An upstream's answer head, parsed just enough to copy the answer through: its status, its
 * body's framing and whether the upstream keeps the connection. The head itself is forwarded
 * byte for byte.
 *
 * <p>Not thread-safe: owned by one upstream connection, reused for each of its answers.
 */
final class ResponseHead {
    int status;
    boolean keepAlive;

    /**
     * Parses the head in {@code [from, to)} and sets {@code body}'s framing for an answer to a
     * request with {@code headRequest} (HEAD). Returns false when the head is malformed or
     * switches protocols (101).
     */
    boolean parse(ByteBuffer b, int from, int to, boolean headRequest, BodyFraming body) {
        int lineEnd = HttpHeads.lineEnd(b, from, to);
        // "HTTP/1.1 200 ..." at least
        if (lineEnd - from < 12
                || b.get(from) != 'H'
                || b.get(from + 4) != '/'
                || b.get(from + 5) != '1'
                || b.get(from + 6) != '.'
                || b.get(from + 8) != ' ') {
            return false;
        }
        boolean http11 = b.get(from + 7) == '1';
        long code = HttpHeads.decimal(b, from + 9, from + 12);
        if (code < 100 || code > 999 || code == 101) {
            return false; // no protocol upgrades through this proxy
        }
        status = (int) code;
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        boolean keep = false;
        int i = lineEnd + 1;
        while (true) {
            int eol = HttpHeads.lineEnd(b, i, to);
            int lineStop = HttpHeads.trimEnd(b, i, eol);
            if (lineStop == i) {
                break;
            }
            int colon = -1;
            for (int k = i; k < lineStop; k++) {
                if (b.get(k) == ':') {
                    colon = k;
                    break;
                }
            }
            if (colon <= i) {
                return false;
            }
            int vs = HttpHeads.trimStart(b, colon + 1, lineStop);
            if (HttpHeads.equalsIgnoreCase(b, i, colon, CONTENT_LENGTH)) {
                length = HttpHeads.decimal(b, vs, lineStop);
                if (length < 0) {
                    return false;
                }
            } else if (HttpHeads.equalsIgnoreCase(b, i, colon, TRANSFER_ENCODING)) {
                chunked = HttpHeads.lastTokenIs(b, vs, lineStop, CHUNKED);
            } else if (HttpHeads.equalsIgnoreCase(b, i, colon, CONNECTION)) {
                close |= HttpHeads.hasToken(b, vs, lineStop, CLOSE);
                keep |= HttpHeads.hasToken(b, vs, lineStop, KEEP_ALIVE);
            }
            i = eol + 1;
        }
        keepAlive = http11 ? !close : keep && !close;
        if (headRequest || status < 200 || status == 204 || status == 304) {
            body.none();
        } else if (chunked) {
            body.chunked();
        } else if (length >= 0) {
            body.length(length);
        } else {
            body.untilClose();
            keepAlive = false;
        }
        return true;
    }

    /** An interim answer (1xx): the final one follows on the same connection. */
    boolean interim() {
        return status < 200;
    }
}
