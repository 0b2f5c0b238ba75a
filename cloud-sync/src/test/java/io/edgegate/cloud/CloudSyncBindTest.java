package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.listener.ListenerBinding;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A listener port another process holds stops cloud-sync's start, naming the listener and its address. */
class CloudSyncBindTest {
    @TempDir
    Path dir;

    @Test
    void aPortInUseStopsTheStartNamingTheListenerAndAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            CloudSyncConfig config = CloudSyncConfig.load(
                    Map.of(
                            "CLOUDSYNC_HOST", "127.0.0.1",
                            "CLOUDSYNC_PORT", "0",
                            "CLOUDSYNC_CONSUL_PORT", String.valueOf(port),
                            "CLOUDSYNC_MQTT_URL", "tcp://127.0.0.1:1",
                            "CLOUDSYNC_ACL_MANAGEMENT_TOKEN_FILE",
                                    dir.resolve("management-token").toString()),
                    (Path) null);
            ListenerBinding.BindException e =
                    assertThrows(ListenerBinding.BindException.class, () -> CloudSync.start(config));
            assertTrue(
                    e.getMessage()
                            .startsWith("cannot listen: consul listener on 127.0.0.1:" + port
                                    + " (cloudsync.consul-port=" + port + "): "),
                    e.getMessage());
        }
    }
}
