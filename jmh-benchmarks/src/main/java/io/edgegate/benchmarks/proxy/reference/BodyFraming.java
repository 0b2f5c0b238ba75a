package io.edgegate.benchmarks.proxy.reference;

import java.nio.ByteBuffer;

/**
 * Where one HTTP/1.1 message body ends, found while its bytes pass through: none, a
 * {@code Content-Length}, chunked transfer coding (sizes, extensions, trailers) or until the
 * connection closes. The bytes are not changed or copied; a chunked body is scanned, not decoded.
 *
 * <p>Not thread-safe: owned by the connection that reads the message (its event loop or its
 * virtual thread), reset for every message.
 */
final class BodyFraming {
    /** {@link #scan} result: the bytes break the chunked framing. */
    static final int MALFORMED = -2;
    /** {@link #scan} result: every byte scanned belongs to the body, which goes on. */
    static final int MORE = -1;

    private static final int NONE = 0;
    private static final int LENGTH = 1;
    private static final int CHUNKED = 2;
    private static final int UNTIL_CLOSE = 3;

    private static final int SIZE = 0;
    private static final int EXTENSION = 1;
    private static final int SIZE_LF = 2;
    private static final int DATA = 3;
    private static final int DATA_CR = 4;
    private static final int DATA_LF = 5;
    private static final int TRAILER_START = 6;
    private static final int TRAILER_LINE = 7;
    private static final int FINAL_LF = 8;

    private int mode;
    private long remaining;
    private int chunkState;
    private boolean sizeDigits;
    private boolean done;

    void none() {
        mode = NONE;
        done = true;
    }

    void length(long bytes) {
        mode = LENGTH;
        remaining = bytes;
        done = bytes == 0;
    }

    void chunked() {
        mode = CHUNKED;
        remaining = 0;
        chunkState = SIZE;
        sizeDigits = false;
        done = false;
    }

    void untilClose() {
        mode = UNTIL_CLOSE;
        done = false;
    }

    boolean done() {
        return done;
    }

    boolean untilCloseMode() {
        return mode == UNTIL_CLOSE;
    }

    /**
     * Copies the body's bytes among {@code buffer}'s {@code [from, to)} into {@code out}, as many as
     * {@code out} has room for and no further than the body's end ({@link #scan}). Returns the
     * index where the copy stopped, or {@link #MALFORMED}.
     */
    int copy(ByteBuffer buffer, int from, int to, ByteBuffer out) {
        int limit = Math.min(to, from + out.remaining());
        int end = scan(buffer, from, limit);
        if (end == MALFORMED) {
            return MALFORMED;
        }
        int stop = end >= 0 ? end : limit;
        HttpHeads.append(out, buffer, from, stop - from);
        return stop;
    }

    /**
     * Scans {@code buffer}'s bytes {@code [from, to)} (absolute indexes) as the next bytes of the
     * body. Returns the index just past the body's last byte when the body ends there (from itself
     * when it had ended already), {@link #MORE} when all of them belong to it and it goes on, or
     * {@link #MALFORMED}.
     */
    int scan(ByteBuffer buffer, int from, int to) {
        if (done) {
            return from;
        }
        switch (mode) {
            case LENGTH -> {
                long available = to - from;
                if (remaining <= available) {
                    int end = from + (int) remaining;
                    remaining = 0;
                    done = true;
                    return end;
                }
                remaining -= available;
                return MORE;
            }
            case CHUNKED -> {
                return scanChunked(buffer, from, to);
            }
            default -> {
                return MORE;
            }
        }
    }

    private int scanChunked(ByteBuffer buffer, int from, int to) {
        int i = from;
        while (i < to) {
            if (chunkState == DATA) {
                int step = (int) Math.min(remaining, to - i);
                i += step;
                remaining -= step;
                if (remaining == 0) {
                    chunkState = DATA_CR;
                }
                continue;
            }
            byte c = buffer.get(i++);
            switch (chunkState) {
                case SIZE -> {
                    int digit = Character.digit(c, 16);
                    if (digit >= 0) {
                        if (remaining > (1L << 40)) {
                            return MALFORMED;
                        }
                        remaining = remaining * 16 + digit;
                        sizeDigits = true;
                    } else if (c == ';' || c == ' ' || c == '\t') {
                        chunkState = EXTENSION;
                    } else if (c == '\r') {
                        chunkState = SIZE_LF;
                    } else if (c == '\n') {
                        if (!endOfSizeLine()) {
                            return MALFORMED;
                        }
                    } else {
                        return MALFORMED;
                    }
                }
                case EXTENSION -> {
                    if (c == '\n' && !endOfSizeLine()) {
                        return MALFORMED;
                    }
                }
                case SIZE_LF -> {
                    if (c != '\n' || !endOfSizeLine()) {
                        return MALFORMED;
                    }
                }
                case DATA_CR -> {
                    if (c == '\r') {
                        chunkState = DATA_LF;
                    } else if (c == '\n') {
                        nextSize();
                    } else {
                        return MALFORMED;
                    }
                }
                case DATA_LF -> {
                    if (c != '\n') {
                        return MALFORMED;
                    }
                    nextSize();
                }
                case TRAILER_START -> {
                    if (c == '\r') {
                        chunkState = FINAL_LF;
                    } else if (c == '\n') {
                        done = true;
                        return i;
                    } else {
                        chunkState = TRAILER_LINE;
                    }
                }
                case TRAILER_LINE -> {
                    if (c == '\n') {
                        chunkState = TRAILER_START;
                    }
                }
                case FINAL_LF -> {
                    if (c != '\n') {
                        return MALFORMED;
                    }
                    done = true;
                    return i;
                }
                default -> throw new IllegalStateException("chunk state " + chunkState);
            }
        }
        return MORE;
    }

    private boolean endOfSizeLine() {
        if (!sizeDigits) {
            return false;
        }
        chunkState = remaining == 0 ? TRAILER_START : DATA;
        return true;
    }

    private void nextSize() {
        chunkState = SIZE;
        remaining = 0;
        sizeDigits = false;
    }
}
