package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An event loop's reads and writes through its direct buffers, over a real loopback connection. */
class LoopIoTest {
    private ServerSocketChannel server;
    private SocketChannel a;
    private SocketChannel b;
    private final LoopIo io = new LoopIo();

    @BeforeEach
    void connect() throws IOException {
        server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        a = SocketChannel.open(server.getLocalAddress());
        b = server.accept();
        a.configureBlocking(false);
        b.configureBlocking(false);
    }

    @AfterEach
    void close() throws IOException {
        a.close();
        b.close();
        server.close();
    }

    /** Reads into dst[off ..] until n bytes came (the writer has sent them). */
    private void readFully(byte[] dst, int off, int n) throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        int got = 0;
        while (got < n) {
            int r = io.read(b, dst, off + got, n - got);
            assertTrue(r >= 0, "end of stream after " + got);
            got += r;
            assertTrue(System.nanoTime() < deadline, "read " + got + " of " + n);
        }
    }

    @Test
    void bytesGoThroughAtTheirOffsetsAndNothingElseIsTouched() throws IOException {
        byte[] src = ProxyTesting.pattern(1000);
        assertEquals(300, io.write(a, src, 100, 300));
        byte[] dst = new byte[500];
        Arrays.fill(dst, (byte) 7);
        readFully(dst, 50, 300);

        assertArrayEquals(Arrays.copyOfRange(src, 100, 400), Arrays.copyOfRange(dst, 50, 350));
        for (int i = 0; i < 50; i++) {
            assertEquals(7, dst[i]);
        }
        for (int i = 350; i < dst.length; i++) {
            assertEquals(7, dst[i]);
        }
    }

    @Test
    void nothingToReadIsZeroAndTheEndIsMinusOne() throws IOException {
        byte[] dst = new byte[16];
        assertEquals(0, io.read(b, dst, 0, dst.length));
        a.close();
        long deadline = System.nanoTime() + 10_000_000_000L;
        int r;
        while ((r = io.read(b, dst, 0, dst.length)) == 0) {
            assertTrue(System.nanoTime() < deadline, "no end of stream");
            Thread.onSpinWait();
        }
        assertEquals(-1, r);
    }

    @Test
    void aTransferMovesAtMostOneBufferAndAFullSocketTakesLess() throws IOException {
        byte[] src = ProxyTesting.pattern(LoopIo.BYTES * 3);
        int written = io.write(a, src, 0, src.length);
        assertTrue(written > 0 && written <= LoopIo.BYTES, "one write: " + written);
        // Fill the socket until it takes no more: a write then reports 0 (the caller keeps the rest).
        int total = written;
        int w;
        while ((w = io.write(a, src, total % LoopIo.BYTES, LoopIo.BYTES)) > 0) {
            total += w;
        }
        assertEquals(0, w);

        byte[] dst = new byte[LoopIo.BYTES * 2];
        int r = io.read(b, dst, 0, dst.length);
        assertTrue(r > 0 && r <= LoopIo.BYTES, "one read: " + r);
        assertArrayEquals(
                Arrays.copyOfRange(src, 0, Math.min(r, written)), Arrays.copyOfRange(dst, 0, Math.min(r, written)));
    }
}
