package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.listener.ListenerBinding;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A listener port another process holds stops the gateway's start, naming the listener and its address. */
class ListenerBindTest {
    @TempDir
    Path dir;

    private ServerSocket taken;

    @BeforeEach
    void takeAPort() throws IOException {
        taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    }

    @AfterEach
    void releaseIt() throws IOException {
        taken.close();
    }

    private GatewayConfig config(int port, int consulPort) {
        return GatewayConfig.load(Map.of("EDGEGATE_HOST", "127.0.0.1"), (Path) null).toBuilder()
                .ports(port, consulPort)
                .dataDir(dir)
                .build();
    }

    @Test
    void anApiPortInUseStopsTheStartNamingTheListenerAndAddress() {
        int port = taken.getLocalPort();
        ListenerBinding.BindException e =
                assertThrows(ListenerBinding.BindException.class, () -> EdgeGateway.start(config(port, 0)));
        assertTrue(
                e.getMessage()
                        .startsWith(
                                "cannot listen: api listener on 127.0.0.1:" + port + " (edgegate.port=" + port + "): "),
                e.getMessage());
        assertTrue(!e.getMessage().contains("consul listener"), "the consul listener could bind: " + e.getMessage());
    }

    @Test
    void aConsulPortInUseStopsTheStartNamingTheListenerAndAddress() {
        int port = taken.getLocalPort();
        ListenerBinding.BindException e =
                assertThrows(ListenerBinding.BindException.class, () -> EdgeGateway.start(config(0, port)));
        assertTrue(
                e.getMessage()
                        .startsWith("cannot listen: consul listener on 127.0.0.1:" + port + " (edgegate.consul-port="
                                + port + "): "),
                e.getMessage());
    }

    @Test
    void aStartThatCannotListenReleasesTheDataDirectoryForTheNextStart() {
        assertThrows(ListenerBinding.BindException.class, () -> EdgeGateway.start(config(taken.getLocalPort(), 0)));
        // the registry it had opened is closed: a gateway on free ports opens the same directory
        try (EdgeGateway gateway = EdgeGateway.start(config(0, 0))) {
            assertTrue(gateway.port() > 0, "api port " + gateway.port());
            assertEquals(0, gateway.registry().instanceCount());
        }
    }
}
