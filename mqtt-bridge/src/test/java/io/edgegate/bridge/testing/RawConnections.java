package io.edgegate.bridge.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Raw TCP connections to a listener under test, for what an HTTP client would not send or would
 * hide: a connection that stays silent, an HTTP/1.0 request, more connections than a limit
 * allows. Each connects on loopback with a 10 s read timeout; closing this closes those still
 * open. Not thread-safe: the test's thread.
 */
public final class RawConnections implements AutoCloseable {
    private final List<Socket> open = new ArrayList<>();

    /** A new connection to {@code port} on 127.0.0.1, kept until closed here or by {@link #close}. */
    public Socket connect(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        open.add(s);
        return s;
    }

    /** Closes the oldest of the connections still open. */
    public void closeOldest() throws IOException {
        open.remove(0).close();
    }

    /** Sends {@code text} (ASCII) as it is. */
    public static void write(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Everything the server sends until it closes the connection (or resets it). */
    public static String readToClose(Socket s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buffer = new byte[4096];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
            }
        } catch (SocketException e) {
            // reset after the answer: what came before still counts
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    /** {@link #write}, then {@link #readToClose}. */
    public static String exchange(Socket s, String request) throws IOException {
        write(s, request);
        return readToClose(s);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        open.clear();
        if (first != null) {
            throw first;
        }
    }
}
