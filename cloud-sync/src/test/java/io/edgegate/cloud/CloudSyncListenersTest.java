package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cloud-sync's listeners hold hostile clients to the same bounds as the gateway's. */
class CloudSyncListenersTest {
    @TempDir
    Path dir;

    private CloudSync cloud;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        Path acl = dir.resolve("acl.yaml");
        Files.writeString(acl, "tokens: [{secret: admin-token-0123456789, policies: [global-management]}]");
        // No broker is needed to serve (and refuse) requests: the link connects in the background.
        cloud = CloudSync.start(CloudSyncConfig.load(
                Map.of(
                        "CLOUDSYNC_PORT", "0",
                        "CLOUDSYNC_CONSUL_PORT", "0",
                        "CLOUDSYNC_HOST", "127.0.0.1",
                        "CLOUDSYNC_MQTT_URL", "tcp://127.0.0.1:1",
                        "CLOUDSYNC_ACL_TOKENS_FILE", acl.toString(),
                        "CLOUDSYNC_LIMITS_MAX_CONNECTIONS_PER_CLIENT", "2",
                        "CLOUDSYNC_LIMITS_REQUEST_HEAD_TIMEOUT", "300ms"),
                (Path) null));
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        cloud.close();
    }

    private Socket connect(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        sockets.add(s);
        return s;
    }

    private static String exchange(Socket s, String request) throws IOException {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buffer = new byte[4096];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
            }
        } catch (SocketException e) {
            // reset after the answer
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void http10IsAnswered505NamingTheVersion() throws IOException {
        String answer = exchange(connect(cloud.consulPort()), "GET /v1/catalog/services HTTP/1.0\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 505 "), answer);
        assertTrue(answer.contains("\"field\":\"version\""), answer);
    }

    @Test
    void oneAddressPastItsLimitIsAnswered429() throws IOException {
        connect(cloud.port());
        connect(cloud.port());
        String answer = exchange(connect(cloud.port()), "GET /readyz HTTP/1.1\r\nHost: cloud\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 429 "), answer);
    }

    @Test
    void silentConnectionIsClosedAndConnectionCloseIsHonoured() throws IOException {
        long start = System.nanoTime();
        assertEquals("", exchange(connect(cloud.port()), ""));
        assertTrue((System.nanoTime() - start) / 1_000_000 < 5_000);
        String answer =
                exchange(connect(cloud.port()), "GET /readyz HTTP/1.1\r\nHost: cloud\r\nConnection: close\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200 "), "answered, then closed: " + answer);
    }
}
