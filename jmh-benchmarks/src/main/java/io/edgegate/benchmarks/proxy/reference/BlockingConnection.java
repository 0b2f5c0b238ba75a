package io.edgegate.benchmarks.proxy.reference;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * One client connection served by its own virtual thread with blocking channels: the same
 * parsing, forwarding and pooling as the event loops ({@link RequestHead}, {@link ResponseHead},
 * {@link BodyFraming}), so that the two differ only in how they wait. Upstream connections come
 * from one pool shared by every connection (a concurrent deque, most recently used first; it holds
 * at most one idle connection per client connection, so it needs no bound).
 *
 * <p>Not thread-safe: owned by its virtual thread. The pool is shared.
 */
final class BlockingConnection implements Runnable {
    private static final int ANSWERED = 0;
    private static final int ABORTED = 1;
    private static final int FAILED_BEFORE_ANSWER = 2;

    private final SocketChannel channel;
    private final InetSocketAddress upstreamAddress;
    private final byte[] prefix;
    private final ConcurrentLinkedDeque<Upstream> pool;
    private final ByteBuffer in = ByteBuffer.allocateDirect(EventLoop.BUFFER);
    private final ByteBuffer request = ByteBuffer.allocateDirect(EventLoop.BUFFER + 512);
    private final RequestHead head = new RequestHead();
    private final BodyFraming requestBody = new BodyFraming();
    private int readPos;
    private int writePos;
    private boolean upstreamKeepsAlive;

    /** One upstream connection with its answer buffer; owned by the connection using it, else idle in the pool. */
    static final class Upstream {
        final SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocateDirect(EventLoop.BUFFER);
        final ResponseHead head = new ResponseHead();
        final BodyFraming body = new BodyFraming();

        Upstream(SocketChannel channel) {
            this.channel = channel;
        }
    }

    BlockingConnection(
            SocketChannel channel,
            InetSocketAddress upstreamAddress,
            byte[] prefix,
            ConcurrentLinkedDeque<Upstream> pool) {
        this.channel = channel;
        this.upstreamAddress = upstreamAddress;
        this.prefix = prefix;
        this.pool = pool;
    }

    @Override
    public void run() {
        try (channel) {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            while (serveOne()) {
                // next request on the same connection
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    /** Serves one request; returns whether the connection stays open for the next. */
    private boolean serveOne() throws IOException {
        int end;
        while ((end = HttpHeads.headEnd(in, readPos, writePos)) < 0) {
            if (writePos == in.capacity()) {
                if (readPos == 0) {
                    return reject(431);
                }
                compact();
            }
            if (!fill()) {
                return false;
            }
        }
        int status = head.parse(in, readPos, end);
        if (status != 0) {
            return reject(status);
        }
        request.clear();
        if (!head.writeUpstream(in, request, prefix)) {
            return reject(404);
        }
        readPos = end;
        if (head.chunked) {
            requestBody.chunked();
        } else {
            requestBody.length(Math.max(0, head.contentLength));
        }
        if (!moveBody()) {
            return reject(400);
        }
        boolean replayable = requestBody.done();
        Upstream up = pool.pollLast();
        boolean reused = up != null;
        try {
            if (up == null) {
                up = connect();
            }
        } catch (IOException e) {
            return reject(502);
        }
        int result = exchange(up);
        if (result == FAILED_BEFORE_ANSWER && reused && replayable) {
            // a pooled connection the upstream had closed: the same request on a new one, once
            EventLoop.closeQuietly(up.channel);
            request.position(0);
            try {
                up = connect();
            } catch (IOException e) {
                return reject(502);
            }
            result = exchange(up);
        }
        if (result == FAILED_BEFORE_ANSWER) {
            EventLoop.closeQuietly(up.channel);
            return reject(502);
        }
        if (result == ABORTED) {
            EventLoop.closeQuietly(up.channel);
            return false;
        }
        return head.keepAlive && upstreamKeepsAlive;
    }

    private int exchange(Upstream up) throws IOException {
        try {
            while (true) {
                writeFully(up.channel, request);
                if (requestBody.done()) {
                    break;
                }
                request.clear();
                if (readPos == writePos && !fill()) {
                    return ABORTED;
                }
                if (!moveBody()) {
                    return ABORTED;
                }
            }
        } catch (IOException e) {
            return FAILED_BEFORE_ANSWER;
        }
        ByteBuffer buf = up.in;
        int read = 0;
        int scan = 0;
        int write = 0;
        boolean headDone = false;
        boolean complete = false;
        boolean extra = false;
        boolean started = false;
        while (!complete) {
            if (write == buf.capacity()) {
                if (read == 0) {
                    return started ? ABORTED : FAILED_BEFORE_ANSWER;
                }
                buf.limit(write).position(read);
                buf.compact();
                write -= read;
                scan -= read;
                read = 0;
            }
            buf.limit(buf.capacity()).position(write);
            int n;
            try {
                n = up.channel.read(buf);
            } catch (IOException e) {
                return started ? ABORTED : FAILED_BEFORE_ANSWER;
            }
            if (n < 0) {
                if (headDone && up.body.untilCloseMode()) {
                    complete = true;
                    break;
                }
                return started ? ABORTED : FAILED_BEFORE_ANSWER;
            }
            write += n;
            while (!complete) {
                if (!headDone) {
                    int end = HttpHeads.headEnd(buf, scan, write);
                    if (end < 0) {
                        break;
                    }
                    if (!up.head.parse(buf, scan, end, head.isHead(), up.body)) {
                        return started ? ABORTED : FAILED_BEFORE_ANSWER;
                    }
                    scan = end;
                    if (up.head.interim()) {
                        continue;
                    }
                    headDone = true;
                }
                int end = up.body.scan(buf, scan, write);
                if (end == BodyFraming.MALFORMED) {
                    return ABORTED;
                }
                if (end >= 0) {
                    complete = true;
                    extra = end < write;
                    scan = end;
                } else {
                    scan = write;
                }
                break;
            }
            if (scan > read) {
                buf.limit(scan).position(read);
                started = true;
                try {
                    writeFully(channel, buf);
                } catch (IOException e) {
                    EventLoop.closeQuietly(up.channel);
                    throw e; // the client is gone
                }
                read = scan;
            }
            if (read == write) {
                read = scan = write = 0;
            }
        }
        upstreamKeepsAlive = up.head.keepAlive && !up.body.untilCloseMode();
        if (upstreamKeepsAlive && !extra && requestBody.done()) {
            pool.offerLast(up);
        } else {
            EventLoop.closeQuietly(up.channel);
        }
        return ANSWERED;
    }

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
        return true;
    }

    private boolean fill() throws IOException {
        if (writePos == in.capacity()) {
            compact();
        }
        in.limit(in.capacity()).position(writePos);
        int n = channel.read(in);
        if (n < 0) {
            return false;
        }
        writePos += n;
        return true;
    }

    private void compact() {
        in.limit(writePos).position(readPos);
        in.compact();
        writePos -= readPos;
        readPos = 0;
    }

    private Upstream connect() throws IOException {
        SocketChannel up = SocketChannel.open();
        try {
            up.setOption(StandardSocketOptions.TCP_NODELAY, true);
            up.connect(upstreamAddress);
            return new Upstream(up);
        } catch (IOException e) {
            EventLoop.closeQuietly(up);
            throw e;
        }
    }

    private boolean reject(int status) throws IOException {
        String reason =
                switch (status) {
                    case 400 -> "Bad Request";
                    case 404 -> "Not Found";
                    case 431 -> "Request Header Fields Too Large";
                    case 501 -> "Not Implemented";
                    default -> "Bad Gateway";
                };
        writeFully(
                channel,
                ByteBuffer.wrap(
                        ("HTTP/1.1 " + status + " " + reason + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.ISO_8859_1)));
        return false;
    }

    private static void writeFully(SocketChannel to, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            to.write(bytes);
        }
    }
}
