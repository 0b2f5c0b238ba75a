package io.edgegate.gateway.proxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * An event loop's socket reads and writes of byte arrays, through two direct buffers the loop owns.
 * A channel's read or write of a heap buffer copies through a temporary direct buffer that the JDK
 * looks up per call (a thread-local lookup) and needs a {@code ByteBuffer} over the array; here the
 * loop's calls copy once, with neither (measured in jmh-benchmarks' README, "The loops' reads and
 * writes"). A transfer moves at most {@link #BYTES}: callers already handle partial writes and
 * short reads.
 *
 * <p>Not thread-safe: one per {@link EventLoop}, used on its thread only.
 */
final class LoopIo {
    /** The most one call reads or writes. */
    static final int BYTES = 64 * 1024;

    private final ByteBuffer in = ByteBuffer.allocateDirect(BYTES);
    private final ByteBuffer out = ByteBuffer.allocateDirect(BYTES);

    /**
     * One read into {@code dst[off .. off + len)}.
     *
     * @return bytes read; 0 when the non-blocking channel had none; -1 at the end of the stream
     */
    int read(SocketChannel channel, byte[] dst, int off, int len) throws IOException {
        ByteBuffer b = in;
        b.clear().limit(Math.min(len, BYTES));
        int n = channel.read(b);
        if (n > 0) {
            b.flip();
            b.get(dst, off, n);
        }
        return n;
    }

    /**
     * One write of {@code src[off .. off + len)}, or of its first {@link #BYTES}.
     *
     * @return bytes written (fewer than asked when the socket's buffer is full)
     */
    int write(SocketChannel channel, byte[] src, int off, int len) throws IOException {
        ByteBuffer b = out;
        b.clear();
        b.put(src, off, Math.min(len, BYTES));
        b.flip();
        return channel.write(b);
    }
}
