package io.edgegate.benchmarks.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The extra header fields OpenLoop sends: what reaches a server, and what it refuses to send. */
class OpenLoopTest {

    @Test
    void tokenFileAndHeadersGoOnEveryRequest(@TempDir Path dir) throws Exception {
        Path tokenFile = dir.resolve("management-token");
        Files.writeString(tokenFile, "0b8e4c1e-6f1a-4c2d-9a57-3d2f8e0c7b11\n");
        Queue<String> heads = new ConcurrentLinkedQueue<>();
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> accept(server, heads));
            OpenLoop.main(new String[] {
                "--url", "http://127.0.0.1:" + server.getLocalPort(),
                "--mode", "heartbeat",
                "--rate", "100",
                "--warmup", "0",
                "--duration", "0.3",
                "--connections", "2",
                "--pool", "10",
                "--services", "2",
                "--timeout", "2",
                "--header", "X-Trace:  run-1 ",
                "--token-file", tokenFile.toString()
            });
        }
        assertFalse(heads.isEmpty(), "the server received requests");
        for (String head : heads) {
            assertTrue(head.startsWith("PUT /v1/instances/svc-"), head);
            assertTrue(head.contains("\r\nX-Consul-Token: 0b8e4c1e-6f1a-4c2d-9a57-3d2f8e0c7b11\r\n"), head);
            assertTrue(head.contains("\r\nX-Trace: run-1\r\n"), head);
            assertTrue(head.contains("\r\nContent-Length: 0\r\n"), head);
        }
    }

    @Test
    void headerWithALineBreakIsRefused() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> OpenLoop.headerFields(List.of("X-A: 1\r\nX-Injected: 2")));
        assertTrue(e.getMessage().contains("X-Injected"), e.getMessage());
    }

    @Test
    void headerWithoutANameIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> OpenLoop.headerFields(List.of(": value")));
        assertThrows(IllegalArgumentException.class, () -> OpenLoop.headerFields(List.of("no colon")));
    }

    @Test
    void headerFieldsAreJoinedAsWireLines() {
        assertEquals("\r\nX-A: 1\r\nX-B: two words", OpenLoop.headerFields(List.of("X-A:1", "X-B:  two words ")));
    }

    /** Answers every request on every connection with an empty 200, keeping each request head. */
    private static void accept(ServerSocket server, Queue<String> heads) {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread.ofVirtual().start(() -> serve(socket, heads));
            } catch (IOException e) {
                return; // closed at the end of the test
            }
        }
    }

    private static void serve(Socket socket, Queue<String> heads) {
        try (socket;
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream()) {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                byte[] h = head.toByteArray();
                int n = h.length;
                if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                    heads.add(head.toString(StandardCharsets.US_ASCII));
                    head.reset();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            }
        } catch (IOException e) {
            // the client closed the connection
        }
    }
}
