package io.edgegate.benchmarks.proxy.reference;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * One keep-alive connection to the upstream, owned by one event loop: idle in the loop's pool or
 * serving one client connection's exchange. It sends the client's request (from the client's
 * {@code request} buffer) and copies the answer through: it reads into its own buffer, finds the
 * end of the head and of the body ({@link ResponseHead}, {@link BodyFraming}) and writes the bytes
 * to the client from that buffer, without a copy. While the client has not taken them all, this
 * connection stops reading ({@code OP_READ} off) until {@link #resume}.
 *
 * <p>Not thread-safe: owned by its event loop's thread.
 */
final class UpstreamConnection {
    private final EventLoop loop;
    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocateDirect(EventLoop.BUFFER);
    private final ResponseHead head = new ResponseHead();
    private final BodyFraming body = new BodyFraming();
    private SelectionKey key;
    private int interest;
    private boolean connected;
    /** Taken from the pool (it may have been closed by the upstream meanwhile). */
    boolean reused;

    private ClientConnection owner;
    /** Bytes [readPos, scanPos) are parsed and due to the client, [scanPos, writePos) not parsed yet. */
    private int readPos;

    private int scanPos;
    private int writePos;
    private boolean headDone;
    private boolean complete;
    private boolean extra;

    UpstreamConnection(EventLoop loop, SocketChannel channel) {
        this.loop = loop;
        this.channel = channel;
    }

    void register(Selector selector, boolean isConnected) throws IOException {
        connected = isConnected;
        interest = isConnected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT;
        key = channel.register(selector, interest, this);
    }

    /** Starts an exchange for {@code client}: its request goes out now, or once connected. */
    void start(ClientConnection client) {
        owner = client;
        readPos = scanPos = writePos = 0;
        headDone = complete = extra = false;
        if (connected) {
            try {
                flushRequest();
            } catch (IOException e) {
                failed();
            }
        }
    }

    void ready(int ops) {
        try {
            if ((ops & SelectionKey.OP_CONNECT) != 0) {
                channel.finishConnect();
                connected = true;
                setInterest(SelectionKey.OP_READ);
                if (owner != null) {
                    flushRequest();
                }
                return;
            }
            if ((ops & SelectionKey.OP_WRITE) != 0 && owner != null) {
                flushRequest();
            }
            if ((ops & SelectionKey.OP_READ) != 0 && key.isValid()) {
                readAnswer();
            }
        } catch (IOException e) {
            failed();
        }
    }

    /** Writes the client's request bytes; refills from the client's body until it is all sent. */
    void flushRequest() throws IOException {
        if (!connected) {
            return; // once connected
        }
        ByteBuffer request = owner.request;
        while (true) {
            channel.write(request);
            if (request.hasRemaining()) {
                setInterest(interest | SelectionKey.OP_WRITE);
                return;
            }
            if (!owner.refillRequest()) {
                break;
            }
        }
        setInterest(interest & ~SelectionKey.OP_WRITE);
    }

    private void readAnswer() throws IOException {
        if (owner == null) {
            // idle in the pool: the upstream closed it (or sent what nobody asked for)
            loop.forget(this);
            close();
            return;
        }
        if (writePos == in.capacity()) {
            if (readPos == 0) {
                failed(); // a head larger than the buffer
                return;
            }
            in.limit(writePos).position(readPos);
            in.compact();
            writePos -= readPos;
            scanPos -= readPos;
            readPos = 0;
        }
        in.limit(in.capacity()).position(writePos);
        int n = channel.read(in);
        if (n < 0) {
            if (headDone && body.untilCloseMode()) {
                complete = true;
                forward();
            } else {
                failed();
            }
            return;
        }
        writePos += n;
        relay();
    }

    private void relay() {
        while (!complete) {
            if (!headDone) {
                int end = HttpHeads.headEnd(in, scanPos, writePos);
                if (end < 0) {
                    break;
                }
                if (!head.parse(in, scanPos, end, owner.headRequest(), body)) {
                    failed();
                    return;
                }
                scanPos = end;
                if (head.interim()) {
                    continue; // forwarded as it is; the final head follows
                }
                headDone = true;
            }
            int end = body.scan(in, scanPos, writePos);
            if (end == BodyFraming.MALFORMED) {
                failed();
                return;
            }
            if (end >= 0) {
                complete = true;
                extra = end < writePos;
                scanPos = end;
            } else {
                scanPos = writePos;
            }
            break;
        }
        forward();
    }

    private void forward() {
        if (scanPos > readPos) {
            in.limit(scanPos).position(readPos);
            boolean sent = owner.send(in);
            if (owner == null) {
                return; // the client is gone, and this connection with it
            }
            if (!sent) {
                setInterest(interest & ~SelectionKey.OP_READ); // until the client takes the rest
                return;
            }
            readPos = scanPos;
        }
        afterForward();
    }

    /** The client took every byte it was given; reading goes on. */
    void resume() {
        readPos = scanPos;
        setInterest(interest | SelectionKey.OP_READ);
        afterForward();
    }

    private void afterForward() {
        if (complete) {
            ClientConnection client = owner;
            owner = null;
            boolean keepAlive = head.keepAlive && !body.untilCloseMode();
            client.answerComplete(this, keepAlive && !extra, keepAlive);
            return;
        }
        if (readPos == writePos) {
            readPos = scanPos = writePos = 0;
        }
    }

    private void failed() {
        ClientConnection client = owner;
        close();
        if (client != null) {
            client.upstreamFailed(this);
        }
    }

    void close() {
        owner = null;
        if (key != null) {
            key.cancel();
        }
        EventLoop.closeQuietly(channel);
    }

    private void setInterest(int ops) {
        if (ops != interest && key.isValid()) {
            interest = ops;
            key.interestOps(ops);
        }
    }
}
