package io.edgegate.benchmarks.proxy.reference;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * One client connection on an event loop, and the exchange it has in progress: it reads requests
 * into its buffer, parses a head ({@link RequestHead}), writes the head to forward and the body's
 * first bytes into {@link #request}, takes an upstream connection from the loop's pool and hands
 * it the request; then it feeds the rest of the body as the upstream connection drains
 * {@link #request}, and writes the answer the upstream connection copies through. A request that
 * fits whole in {@link #request} is sent again once on a new connection when a pooled one turns
 * out closed before any byte of the answer came back.
 *
 * <p>States: reading a head, in an exchange (the request's body and the answer may overlap),
 * closing (an error answer being written), closed. Bytes a client sends ahead (pipelining) wait in
 * the buffer until the exchange ends; a full buffer takes {@code OP_READ} off until then.
 *
 * <p>Not thread-safe: owned by its event loop's thread.
 */
final class ClientConnection {
    private static final int HEAD = 0;
    private static final int EXCHANGE = 1;
    private static final int CLOSING = 2;
    private static final int CLOSED = 3;

    private final EventLoop loop;
    private final SocketChannel channel;
    SelectionKey key;
    private int interest = SelectionKey.OP_READ;
    private final ByteBuffer in = ByteBuffer.allocateDirect(EventLoop.BUFFER);
    /** Client bytes [readPos, writePos) not yet forwarded. */
    private int readPos;

    private int writePos;
    /** The request bytes for the upstream, [position, limit) not yet written. */
    final ByteBuffer request = ByteBuffer.allocateDirect(EventLoop.BUFFER + 512);

    private final RequestHead head = new RequestHead();
    private final BodyFraming requestBody = new BodyFraming();
    private int state = HEAD;
    private UpstreamConnection upstream;
    private boolean closeAfter;
    private boolean replayable;
    private boolean answerStarted;
    private boolean readPaused;
    private ByteBuffer pending;

    ClientConnection(EventLoop loop, SocketChannel channel) {
        this.loop = loop;
        this.channel = channel;
        request.limit(0);
    }

    void ready(int ops) {
        try {
            if ((ops & SelectionKey.OP_WRITE) != 0 && pending != null) {
                flushPending();
            }
            if ((ops & SelectionKey.OP_READ) != 0 && state != CLOSED && !readPaused) {
                readRequest();
            }
        } catch (IOException e) {
            close();
        }
    }

    private void readRequest() throws IOException {
        if (writePos == in.capacity()) {
            if (readPos > 0) {
                in.limit(writePos).position(readPos);
                in.compact();
                writePos -= readPos;
                readPos = 0;
            } else if (state == HEAD) {
                reject(431);
                return;
            } else {
                readPaused = true; // until the exchange takes bytes from the buffer
                setInterest(interest & ~SelectionKey.OP_READ);
                return;
            }
        }
        in.limit(in.capacity()).position(writePos);
        int n = channel.read(in);
        if (n < 0) {
            close();
            return;
        }
        writePos += n;
        if (state == HEAD) {
            startExchange();
        } else if (state == EXCHANGE && !requestBody.done() && !request.hasRemaining() && upstream != null) {
            upstream.flushRequest();
        }
    }

    private void startExchange() {
        if (readPos == writePos) {
            readPos = writePos = 0;
            return;
        }
        int end = HttpHeads.headEnd(in, readPos, writePos);
        if (end < 0) {
            if (readPos == 0 && writePos == in.capacity()) {
                reject(431);
            }
            return;
        }
        int status = head.parse(in, readPos, end);
        if (status != 0) {
            reject(status);
            return;
        }
        request.clear();
        if (!head.writeUpstream(in, request, loop.prefix)) {
            reject(404);
            return;
        }
        readPos = end;
        if (head.chunked) {
            requestBody.chunked();
        } else {
            requestBody.length(Math.max(0, head.contentLength));
        }
        if (!moveBody()) {
            reject(400);
            return;
        }
        closeAfter = !head.keepAlive;
        replayable = requestBody.done();
        answerStarted = false;
        state = EXCHANGE;
        try {
            upstream = loop.acquire();
        } catch (IOException e) {
            reject(502);
            return;
        }
        upstream.start(this);
    }

    /**
     * Moves the body bytes that are in the buffer into {@link #request} (in fill mode, flipped on
     * return). Returns false when a chunked body is malformed.
     */
    private boolean moveBody() {
        int stop = requestBody.copy(in, readPos, writePos, request);
        if (stop == BodyFraming.MALFORMED) {
            return false;
        }
        request.flip();
        readPos = stop;
        if (readPos == writePos) {
            readPos = writePos = 0;
        }
        if (readPaused && writePos < in.capacity()) {
            readPaused = false;
            setInterest(interest | SelectionKey.OP_READ);
        }
        return true;
    }

    /**
     * Called by the upstream connection once {@link #request} is drained: refills it with the
     * next body bytes. Returns whether there are bytes to write.
     */
    boolean refillRequest() throws IOException {
        if (requestBody.done() || readPos == writePos) {
            return false;
        }
        request.clear();
        if (!moveBody()) {
            throw new IOException("malformed chunked request body");
        }
        return request.hasRemaining();
    }

    boolean headRequest() {
        return head.isHead();
    }

    /**
     * Writes answer bytes (the upstream connection's buffer) to the client. Returns true when all
     * were written; false when some wait for {@code OP_WRITE} (the upstream connection is resumed
     * once they are written) or when the client is gone (then closed, with its upstream).
     */
    boolean send(ByteBuffer bytes) {
        answerStarted = true;
        try {
            channel.write(bytes);
        } catch (IOException e) {
            close();
            return false;
        }
        if (!bytes.hasRemaining()) {
            return true;
        }
        pending = bytes;
        setInterest(interest | SelectionKey.OP_WRITE);
        return false;
    }

    private void flushPending() throws IOException {
        channel.write(pending);
        if (pending.hasRemaining()) {
            return;
        }
        pending = null;
        setInterest(interest & ~SelectionKey.OP_WRITE);
        if (state == CLOSING) {
            close();
        } else if (upstream != null) {
            upstream.resume();
        }
    }

    /**
     * The answer went through completely. The upstream connection goes back to the pool when it
     * is {@code reusable} and the request was sent whole; the client's connection stays open for
     * its next request unless either side asked to close.
     */
    void answerComplete(UpstreamConnection up, boolean reusable, boolean upstreamKeepsAlive) {
        upstream = null;
        if (reusable && requestBody.done() && !request.hasRemaining()) {
            loop.release(up);
        } else {
            up.close();
            closeAfter |= !requestBody.done();
        }
        if (closeAfter || !upstreamKeepsAlive) {
            close();
            return;
        }
        state = HEAD;
        if (readPaused) {
            readPaused = false;
            setInterest(interest | SelectionKey.OP_READ);
        }
        startExchange(); // a request the client sent ahead
    }

    /** The upstream connection failed (closed or reset) during this exchange; it is closed. */
    void upstreamFailed(UpstreamConnection up) {
        if (upstream != up || state != EXCHANGE) {
            return;
        }
        upstream = null;
        if (!answerStarted && up.reused && replayable) {
            // a pooled connection the upstream had closed: the same request on a new one, once
            request.position(0);
            try {
                upstream = loop.connect();
            } catch (IOException e) {
                reject(502);
                return;
            }
            upstream.start(this);
            return;
        }
        if (answerStarted) {
            close();
        } else {
            reject(502);
        }
    }

    private void reject(int status) {
        state = CLOSING;
        if (upstream != null) {
            upstream.close();
            upstream = null;
        }
        String reason =
                switch (status) {
                    case 400 -> "Bad Request";
                    case 404 -> "Not Found";
                    case 431 -> "Request Header Fields Too Large";
                    case 501 -> "Not Implemented";
                    default -> "Bad Gateway";
                };
        ByteBuffer answer = ByteBuffer.wrap(
                ("HTTP/1.1 " + status + " " + reason + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
        readPaused = true;
        setInterest(interest & ~SelectionKey.OP_READ);
        if (!send(answer)) {
            return; // closed, or the rest goes out on OP_WRITE
        }
        close();
    }

    void close() {
        if (state == CLOSED) {
            return;
        }
        state = CLOSED;
        if (upstream != null) {
            upstream.close();
            upstream = null;
        }
        key.cancel();
        EventLoop.closeQuietly(channel);
    }

    private void setInterest(int ops) {
        if (ops != interest && key.isValid()) {
            interest = ops;
            key.interestOps(ops);
        }
    }
}
