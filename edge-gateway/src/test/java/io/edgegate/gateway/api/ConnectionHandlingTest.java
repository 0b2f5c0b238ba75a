package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What both listeners do with a connection, below the APIs: HTTP/1.0 requests get a 505 naming the
 * version (the web server alone would close without an answer), HTTP/1.1 requests whose request
 * line arrives in pieces are still served, and a request with {@code Connection: close} has its
 * connection closed after the answer while other connections stay open for the next request.
 */
class ConnectionHandlingTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path dataDir;

    private static TestGateway gateway;

    @BeforeAll
    static void start() {
        gateway = TestGateway.start(dataDir);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @Test
    void http10OnTheApiListenerGets505NamingTheVersionAndTheConnectionCloses() throws IOException {
        assertRefused(gateway.gateway().port(), "GET /v1/status HTTP/1.0\r\nHost: edge\r\n\r\n");
    }

    @Test
    void http10OnTheConsulListenerGets505() throws IOException {
        assertRefused(gateway.gateway().consulPort(), "GET /v1/agent/self HTTP/1.0\r\n\r\n");
    }

    @Test
    void http10ToTheProxyWithABodyGets505() throws IOException {
        assertRefused(gateway.gateway().port(), "POST /svc/llm/v1/completions HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}");
    }

    @Test
    void http11RequestLineArrivingInPiecesIsServed() throws IOException, InterruptedException {
        try (Socket socket = new Socket("127.0.0.1", gateway.gateway().port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /read".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(100); // the server sees the first piece alone
            out.write("yz HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = readHead(socket.getInputStream());
            assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        }
    }

    @Test
    void connectionCloseIsHonouredOnTheApiTheProxyAndConsul() throws IOException {
        int api = gateway.gateway().port();
        assertClosedAfter(api, "GET /readyz HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n", 200);
        // The proxy's own error answer (a service it does not know) ends the connection the same way.
        assertClosedAfter(api, "GET /svc/nosuch/x HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n", 404);
        assertClosedAfter(
                gateway.gateway().consulPort(),
                "GET /v1/status/leader HTTP/1.1\r\nHost: edge\r\nConnection: Close\r\n\r\n",
                200);
    }

    @Test
    void withoutConnectionCloseTheConnectionServesTheNextRequest() throws IOException {
        try (Socket socket = new Socket("127.0.0.1", gateway.gateway().port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int i = 0; i < 2; i++) {
                out.write("GET /readyz HTTP/1.1\r\nHost: edge\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String head = readHead(in);
                assertTrue(head.startsWith("HTTP/1.1 200 "), head);
                in.readNBytes(contentLength(head));
            }
        }
    }

    private static void assertClosedAfter(int port, String request, int status) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 " + status + " "), head);
            assertEquals(contentLength(head), in.readNBytes(contentLength(head)).length, head);
            // The end of the stream, not a read timeout: the gateway closed the connection.
            assertEquals(-1, in.read(), "connection left open after " + head);
        }
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                return Integer.parseInt(line.substring(15).trim());
            }
        }
        throw new AssertionError("no Content-Length in " + head);
    }

    private static void assertRefused(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            // readAllBytes returns only at the end of the stream: the gateway closed the connection.
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 505 HTTP Version Not Supported\r\n"), answer);
            assertTrue(answer.contains("\r\nConnection: close\r\n"), answer);
            JsonNode body = MAPPER.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
            assertEquals("version", body.path("field").asText(), answer);
            assertTrue(body.path("error").asText().contains("HTTP/1.0"), answer);
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            if (head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                break;
            }
        }
        return head.toString(StandardCharsets.US_ASCII);
    }
}
