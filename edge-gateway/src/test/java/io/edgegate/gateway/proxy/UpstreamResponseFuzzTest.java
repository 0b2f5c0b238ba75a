package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz target of the proxy's HTTP/1.1 response parser ({@link UpstreamConnection}): the input is
 * everything an upstream sends back on a loopback connection before it closes it. The seeds in
 * {@code UpstreamResponseFuzzTestInputs} are raw answers; one that starts with {@code HEAD} and a
 * line feed is the answer to a HEAD request (the prefix is not sent).
 *
 * <p>Contract checked on every input: reading the head and then the whole body either succeeds or
 * fails with {@link UpstreamProtocolException} (a malformed answer: 502) or {@link EOFException}
 * (the upstream closed too early: 502), never another exception, and never waits once the
 * upstream has closed. What it reads as the body is what a plain reading of the bytes gives: the
 * bytes after the final head (interim 1xx answers skipped) for the length the head declares or up
 * to the close, or the chunks' data, each chunk size nothing but hex digits.
 *
 * <p>One loopback listener serves the whole run; each input gets a fresh connection, closed with
 * a reset so no TIME_WAIT piles up.
 */
class UpstreamResponseFuzzTest {
    private static final byte[] HEAD_PREFIX = "HEAD\n".getBytes(StandardCharsets.US_ASCII);

    private static ServerSocketChannel listener;
    private static InetSocketAddress address;
    private static ConnectionPool pool;
    /** Plays the upstream: writes the answer and closes its side, so the parser never waits on a live peer. */
    private static ExecutorService upstream;

    @BeforeAll
    static void listen() throws IOException {
        listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        address = (InetSocketAddress) listener.getLocalAddress();
        pool = new ConnectionPool("127.0.0.1", address.getPort(), 0, new ConnectionPools.Counters(), System.nanoTime());
        upstream = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-upstream");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void close() throws IOException {
        upstream.shutdownNow();
        listener.close();
    }

    @FuzzTest
    // A file, not @DictionaryEntries: Jazzer 0.24 writes CR and LF of inline entries unescaped.
    @DictionaryFile(resourcePath = "upstream-response.dict")
    void upstreamAnswerIsDecodedOrRefusedAsProtocolError(byte[] input) throws Exception {
        // The loopback listener is this target's own upstream; Jazzer flags any other connection.
        BugDetectors.allowNetworkConnections((host, port) -> port == address.getPort());
        boolean headRequest = startsWith(input, HEAD_PREFIX);
        byte[] answer = headRequest ? Arrays.copyOfRange(input, HEAD_PREFIX.length, input.length) : input;

        try (SocketChannel client = SocketChannel.open(address)) {
            SocketChannel server = listener.accept();
            Future<?> sent = upstream.submit(() -> send(server, answer));
            try {
                UpstreamConnection c = new UpstreamConnection(pool, client, 5_000);
                byte[] body;
                try {
                    c.readHead(headRequest);
                    body = readAll(c.body());
                } catch (UpstreamProtocolException | EOFException refused) {
                    return;
                }
                assertDecodedAsWritten(c, answer, body);
            } finally {
                // A reset, not a FIN: neither side keeps the connection in TIME_WAIT.
                server.setOption(StandardSocketOptions.SO_LINGER, 0);
                server.close();
                awaitQuietly(sent);
            }
        }
    }

    private static void send(SocketChannel server, byte[] answer) {
        try {
            ByteBuffer bytes = ByteBuffer.wrap(answer);
            while (bytes.hasRemaining()) {
                server.write(bytes);
            }
            server.shutdownOutput();
        } catch (IOException e) {
            // The parser gave up before reading everything and the connection was reset: expected.
        }
    }

    private static void awaitQuietly(Future<?> sent) throws InterruptedException {
        try {
            sent.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the test upstream failed", e.getCause());
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int n;
        while ((n = in.read(buffer)) >= 0) {
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    /** Compares what the parser read with a plain reading of the same bytes. */
    private static void assertDecodedAsWritten(UpstreamConnection c, byte[] answer, byte[] body) {
        assertTrue(c.status >= 200 && c.status <= 999, () -> "final status " + c.status);
        assertTrue(c.headerCount <= UpstreamConnection.MAX_HEADERS, () -> "headers " + c.headerCount);
        int bodyStart = finalHeadEnd(answer);
        byte[] expected;
        if (c.noBody) {
            expected = new byte[0];
        } else if (c.chunked) {
            expected = dechunk(answer, bodyStart);
            assertNotNull(
                    expected,
                    () -> "accepted a chunked body a plain reading refuses: "
                            + printable(answer, bodyStart, answer.length));
        } else if (c.untilClose) {
            expected = Arrays.copyOfRange(answer, bodyStart, answer.length);
        } else {
            assertTrue(c.contentLength >= 0, "length framing without a length");
            expected = Arrays.copyOfRange(answer, bodyStart, Math.toIntExact(bodyStart + c.contentLength));
        }
        assertArrayEquals(expected, body, () -> "body of " + printable(answer, 0, answer.length));
    }

    /** Where the body starts: after the first head whose status is not 1xx. */
    private static int finalHeadEnd(byte[] answer) {
        int from = 0;
        while (true) {
            int end = indexOf(answer, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), from);
            if (end < 0) {
                fail("accepted a head without its empty line");
            }
            int status = (answer[from + 9] - '0') * 100 + (answer[from + 10] - '0') * 10 + (answer[from + 11] - '0');
            if (status >= 200) {
                return end + 4;
            }
            from = end + 4;
        }
    }

    /**
     * The data of a chunked body starting at {@code p}, read plainly (RFC 9112 7.1): a chunk size
     * of hex digits, optionally followed by whitespace or extensions after {@code ;}; lines end in
     * CRLF or LF; trailer lines until an empty one. Null when the bytes are not such a body.
     */
    static byte[] dechunk(byte[] a, int p) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            int lf = indexOf(a, (byte) '\n', p);
            if (lf < 0) {
                return null;
            }
            int lineEnd = lf > p && a[lf - 1] == '\r' ? lf - 1 : lf;
            long size = 0;
            int i = p;
            while (i < lineEnd && Character.digit(a[i], 16) >= 0) {
                size = size * 16 + Character.digit(a[i], 16);
                if (++i - p > 15) {
                    return null;
                }
            }
            if (i == p) {
                return null;
            }
            while (i < lineEnd && (a[i] == ' ' || a[i] == '\t')) {
                i++;
            }
            if (i < lineEnd && a[i] != ';') {
                return null;
            }
            p = lf + 1;
            if (size == 0) {
                while (true) {
                    lf = indexOf(a, (byte) '\n', p);
                    if (lf < 0) {
                        return null;
                    }
                    boolean empty = lf == p || lf == p + 1 && a[p] == '\r';
                    p = lf + 1;
                    if (empty) {
                        return out.toByteArray();
                    }
                }
            }
            if (a.length - p < size) {
                return null;
            }
            out.write(a, p, (int) size);
            p += (int) size;
            if (p < a.length && a[p] == '\n') {
                p += 1;
            } else if (p + 1 < a.length && a[p] == '\r' && a[p + 1] == '\n') {
                p += 2;
            } else {
                return null;
            }
        }
    }

    private static boolean startsWith(byte[] a, byte[] prefix) {
        return a.length >= prefix.length && Arrays.equals(a, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static int indexOf(byte[] a, byte b, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] a, byte[] s, int from) {
        for (int i = from; i + s.length <= a.length; i++) {
            if (Arrays.equals(a, i, i + s.length, s, 0, s.length)) {
                return i;
            }
        }
        return -1;
    }

    private static String printable(byte[] a, int from, int to) {
        StringBuilder out = new StringBuilder();
        for (int i = from; i < to && out.length() < 2000; i++) {
            int c = a[i] & 0xff;
            out.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return out.toString();
    }
}
