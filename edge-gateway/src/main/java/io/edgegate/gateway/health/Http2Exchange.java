package io.edgegate.gateway.health;

import io.helidon.common.buffers.BufferData;
import io.helidon.http.http2.Http2FrameData;
import io.helidon.http.http2.Http2FrameHeader;
import io.helidon.http.http2.Http2Headers;
import io.helidon.http.http2.Http2HuffmanDecoder;
import io.helidon.http.http2.Http2Priority;
import io.helidon.http.http2.Http2RstStream;
import io.helidon.http.http2.Http2Stream;
import io.helidon.http.http2.Http2StreamState;
import io.helidon.http.http2.Http2WindowUpdate;
import io.helidon.http.http2.StreamFlowControl;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/2 request and its answer on a connection of its own (prior knowledge, or TLS with
 * ALPN {@code h2} already negotiated), with trailers, as a gRPC unary call needs: the JDK client
 * cannot speak HTTP/2 in clear text without an upgrade, and Helidon's client hides trailers the
 * server did not announce. Only what one small exchange needs: stream 1, no server push, no
 * flow-control updates (the answer must fit the initial 64 KiB window; it is capped far below),
 * SETTINGS and PING acknowledged. Request headers are HPACK literals without indexing; answer
 * headers are decoded with Helidon's HPACK (dynamic table and Huffman). Every read waits at most
 * until the deadline. Not thread-safe: one call per connection, on the probing thread.
 */
final class Http2Exchange {
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private static final int DATA = 0x0;
    private static final int HEADERS = 0x1;
    private static final int RST_STREAM = 0x3;
    private static final int SETTINGS = 0x4;
    private static final int PUSH_PROMISE = 0x5;
    private static final int PING = 0x6;
    private static final int GOAWAY = 0x7;
    private static final int CONTINUATION = 0x9;

    private static final int FLAG_END_STREAM = 0x1;
    private static final int FLAG_ACK = 0x1;
    private static final int FLAG_END_HEADERS = 0x4;
    private static final int FLAG_PADDED = 0x8;

    private static final int SETTINGS_ENABLE_PUSH = 0x2;
    /** SETTINGS_MAX_FRAME_SIZE's default, which this client does not raise. */
    private static final int MAX_FRAME_BYTES = 16_384;
    /** SETTINGS_HEADER_TABLE_SIZE's default: the server's encoder assumes this decoder table. */
    private static final int HEADER_TABLE_BYTES = 4_096;
    /** A header block (headers or trailers) larger than this is refused. */
    private static final int MAX_HEADER_BLOCK_BYTES = 64 * 1024;

    private static final int STREAM_ID = 1;
    private static final String[] ERROR_CODES = {
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED"
    };

    /**
     * The answer.
     *
     * @param headers the response headers ({@code :status} among them); with END_STREAM a
     *     "trailers-only" answer
     * @param trailers the trailing headers, null when the answer had none
     * @param body the DATA of the stream
     */
    record Answer(Http2Headers headers, Http2Headers trailers, byte[] body) {}

    private final Socket socket;
    private final long deadlineNanos;
    private final DataInputStream in;
    private final OutputStream out;
    private final Http2Headers.DynamicTable table = Http2Headers.DynamicTable.create(HEADER_TABLE_BYTES);
    private final Http2HuffmanDecoder huffman = Http2HuffmanDecoder.create();

    private Http2Exchange(Socket socket, long deadlineNanos) throws IOException {
        this.socket = socket;
        this.deadlineNanos = deadlineNanos;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), MAX_FRAME_BYTES + 9));
        this.out = socket.getOutputStream();
    }

    /**
     * POSTs {@code body} as stream 1 and reads the answer to its end.
     *
     * @param headers lower-case name, value pairs after the pseudo-headers
     * @param maxBodyBytes an answer with more DATA than this fails
     * @throws IOException the connection failed, the deadline passed, or the server broke the protocol
     */
    static Answer post(
            Socket socket,
            String scheme,
            String authority,
            String path,
            List<String[]> headers,
            byte[] body,
            int maxBodyBytes,
            long deadlineNanos)
            throws IOException {
        Http2Exchange exchange = new Http2Exchange(socket, deadlineNanos);
        exchange.send(scheme, authority, path, headers, body);
        return exchange.receive(maxBodyBytes);
    }

    private void send(String scheme, String authority, String path, List<String[]> headers, byte[] body)
            throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream(256);
        literal(block, ":method", "POST");
        literal(block, ":scheme", scheme);
        literal(block, ":path", path);
        literal(block, ":authority", authority);
        for (String[] header : headers) {
            literal(block, header[0], header[1]);
        }
        if (block.size() > MAX_FRAME_BYTES || body.length > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException(
                    "request too large for one frame: headers=" + block.size() + ", body=" + body.length);
        }
        ByteArrayOutputStream request = new ByteArrayOutputStream(PREFACE.length + 64 + block.size() + body.length);
        request.write(PREFACE);
        // The client's SETTINGS: no server push, defaults otherwise.
        frame(request, SETTINGS, 0, 0, new byte[] {0, SETTINGS_ENABLE_PUSH, 0, 0, 0, 0});
        frame(request, HEADERS, FLAG_END_HEADERS, STREAM_ID, block.toByteArray());
        frame(request, DATA, FLAG_END_STREAM, STREAM_ID, body);
        // A client may send its requests right after its preface, before the server's SETTINGS.
        out.write(request.toByteArray());
        out.flush();
    }

    private Answer receive(int maxBodyBytes) throws IOException {
        Http2Headers headers = null;
        Http2Headers trailers = null;
        ByteArrayOutputStream body = new ByteArrayOutputStream(64);
        while (true) {
            byte[] head = readFully(9);
            int length = ((head[0] & 0xFF) << 16) | ((head[1] & 0xFF) << 8) | (head[2] & 0xFF);
            int type = head[3] & 0xFF;
            int flags = head[4] & 0xFF;
            int stream = readInt(head, 5) & 0x7FFF_FFFF;
            if (length > MAX_FRAME_BYTES) {
                throw new ProtocolException("frame larger than " + MAX_FRAME_BYTES + " bytes: " + length);
            }
            byte[] payload = readFully(length);
            switch (type) {
                case SETTINGS -> {
                    if ((flags & FLAG_ACK) == 0) {
                        writeFrame(SETTINGS, FLAG_ACK, 0, new byte[0]);
                    }
                }
                case PING -> {
                    if ((flags & FLAG_ACK) == 0) {
                        writeFrame(PING, FLAG_ACK, 0, payload);
                    }
                }
                case GOAWAY -> {
                    int lastStream = readInt(payload, 0) & 0x7FFF_FFFF;
                    int code = readInt(payload, 4);
                    // NO_ERROR with our stream accepted: a graceful shutdown that still answers it.
                    if (code != 0 || lastStream < STREAM_ID) {
                        throw new ProtocolException("connection closed by the server (GOAWAY " + errorName(code) + ")");
                    }
                }
                case RST_STREAM -> {
                    if (stream == STREAM_ID) {
                        throw new ProtocolException(
                                "stream reset by the server (" + errorName(readInt(payload, 0)) + ")");
                    }
                }
                case PUSH_PROMISE -> throw new ProtocolException("server push, which this client disabled");
                case HEADERS -> {
                    // Every header block is decoded, in order, to keep the HPACK table in step with the server.
                    Http2Headers block = headerBlock(head, payload, flags);
                    if (stream == STREAM_ID) {
                        if (headers == null) {
                            headers = block;
                        } else {
                            trailers = block;
                        }
                        if ((flags & FLAG_END_STREAM) != 0) {
                            goAway();
                            return new Answer(headers, trailers, body.toByteArray());
                        }
                    }
                }
                case DATA -> {
                    if (stream == STREAM_ID) {
                        int padding = (flags & FLAG_PADDED) != 0 && length > 0 ? (payload[0] & 0xFF) + 1 : 0;
                        int start = padding > 0 ? 1 : 0;
                        int count = length - padding;
                        if (count < 0) {
                            throw new ProtocolException("DATA padding longer than the frame");
                        }
                        if (body.size() + count > maxBodyBytes) {
                            throw new ProtocolException("answer longer than " + maxBodyBytes + " bytes");
                        }
                        body.write(payload, start, count);
                        if ((flags & FLAG_END_STREAM) != 0) {
                            if (headers == null) {
                                throw new ProtocolException("DATA before the response headers");
                            }
                            goAway();
                            return new Answer(headers, trailers, body.toByteArray());
                        }
                    }
                }
                default -> {
                    // WINDOW_UPDATE, PRIORITY, unknown extension frames: nothing to do for one small answer.
                }
            }
        }
    }

    /** A HEADERS frame and its CONTINUATIONs, decoded. */
    private Http2Headers headerBlock(byte[] head, byte[] payload, int flags) throws IOException {
        List<Http2FrameData> frames = new ArrayList<>(1);
        frames.add(new Http2FrameData(Http2FrameHeader.create(BufferData.create(head)), BufferData.create(payload)));
        int total = payload.length;
        int lastFlags = flags;
        while ((lastFlags & FLAG_END_HEADERS) == 0) {
            byte[] next = readFully(9);
            int length = ((next[0] & 0xFF) << 16) | ((next[1] & 0xFF) << 8) | (next[2] & 0xFF);
            if ((next[3] & 0xFF) != CONTINUATION || length > MAX_FRAME_BYTES) {
                throw new ProtocolException("expected a CONTINUATION frame, got type " + (next[3] & 0xFF));
            }
            total += length;
            if (total > MAX_HEADER_BLOCK_BYTES) {
                throw new ProtocolException("header block larger than " + MAX_HEADER_BLOCK_BYTES + " bytes");
            }
            frames.add(new Http2FrameData(
                    Http2FrameHeader.create(BufferData.create(next)), BufferData.create(readFully(length))));
            lastFlags = next[4] & 0xFF;
        }
        return Http2Headers.create(NoStream.INSTANCE, table, huffman, frames.toArray(Http2FrameData[]::new));
    }

    /** Says goodbye politely; the caller closes the socket either way. */
    private void goAway() {
        try {
            writeFrame(GOAWAY, 0, 0, new byte[8]);
        } catch (IOException e) {
            // The answer is complete; a server that already closed does not need the goodbye.
        }
    }

    private byte[] readFully(int length) throws IOException {
        long remainingMillis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (remainingMillis <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        socket.setSoTimeout((int) Math.min(remainingMillis, Integer.MAX_VALUE));
        byte[] bytes = new byte[length];
        try {
            in.readFully(bytes);
        } catch (EOFException e) {
            throw new EOFException("connection closed by the server before the answer ended");
        }
        return bytes;
    }

    private void writeFrame(int type, int flags, int stream, byte[] payload) throws IOException {
        ByteArrayOutputStream frame = new ByteArrayOutputStream(9 + payload.length);
        frame(frame, type, flags, stream, payload);
        out.write(frame.toByteArray());
        out.flush();
    }

    private static void frame(ByteArrayOutputStream out, int type, int flags, int stream, byte[] payload) {
        out.write(payload.length >>> 16);
        out.write(payload.length >>> 8);
        out.write(payload.length);
        out.write(type);
        out.write(flags);
        out.write(stream >>> 24);
        out.write(stream >>> 16);
        out.write(stream >>> 8);
        out.write(stream);
        out.write(payload, 0, payload.length);
    }

    /** HPACK "literal header field without indexing, new name", no Huffman: nothing to keep in step. */
    private static void literal(ByteArrayOutputStream out, String name, String value) {
        out.write(0x00);
        string(out, name);
        string(out, value);
    }

    private static void string(ByteArrayOutputStream out, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.ISO_8859_1);
        // HPACK integer with a 7-bit prefix; the high bit (Huffman) stays 0.
        int n = bytes.length;
        if (n < 0x7F) {
            out.write(n);
        } else {
            out.write(0x7F);
            for (n -= 0x7F; n >= 0x80; n >>>= 7) {
                out.write((n & 0x7F) | 0x80);
            }
            out.write(n);
        }
        out.write(bytes, 0, bytes.length);
    }

    private static int readInt(byte[] b, int at) {
        if (b.length < at + 4) {
            return 0;
        }
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    static String errorName(int code) {
        return code >= 0 && code < ERROR_CODES.length ? ERROR_CODES[code] : "error " + code;
    }

    /** Helidon's decoder hands a header block's priority to its stream; this exchange has no use for it. */
    private static final class NoStream implements Http2Stream {
        static final NoStream INSTANCE = new NoStream();

        @Override
        public boolean rstStream(Http2RstStream rstStream) {
            return false;
        }

        @Override
        public void windowUpdate(Http2WindowUpdate windowUpdate) {}

        @Override
        public void headers(Http2Headers headers, boolean endOfStream) {}

        @Override
        public void data(Http2FrameHeader header, BufferData data, boolean endOfStream) {}

        @Override
        public void priority(Http2Priority priority) {}

        @Override
        public int streamId() {
            return STREAM_ID;
        }

        @Override
        public Http2StreamState streamState() {
            return Http2StreamState.OPEN;
        }

        @Override
        public StreamFlowControl flowControl() {
            return null;
        }
    }
}
