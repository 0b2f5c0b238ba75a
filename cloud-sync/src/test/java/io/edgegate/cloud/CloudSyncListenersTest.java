package io.edgegate.cloud;

import static io.edgegate.bridge.testing.RawConnections.exchange;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.RawConnections;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
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
    private final RawConnections connections = new RawConnections();

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
        connections.close();
        cloud.close();
    }

    private Socket connect(int port) throws IOException {
        return connections.connect(port);
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
