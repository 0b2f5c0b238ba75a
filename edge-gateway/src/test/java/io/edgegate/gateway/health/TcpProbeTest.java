package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** TCP checks against a plain server socket on an ephemeral loopback port, open then closed. */
class TcpProbeTest {
    private static final long TIMEOUT_MILLIS = 2_000;

    private final Probers probers = new Probers(Probers.Options.defaults());

    @AfterEach
    void stop() {
        probers.close();
    }

    @Test
    void tcpConnectPassesAndClosedPortIsCritical() throws IOException {
        String target;
        try (ServerSocket listening = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            target = "127.0.0.1:" + listening.getLocalPort();

            ProbeResult open = probers.probe(Checks.tcp(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

            assertEquals(Health.PASSING, open.status(), open.output());
            assertEquals("TCP connect " + target + ": Success", open.output());
        }

        ProbeResult closed = probers.probe(Checks.tcp(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, closed.status(), closed.output());
        assertTrue(closed.output().startsWith("TCP connect " + target + ": ConnectException"), closed.output());
    }

    @Test
    void ttlCheckIsNotProbed() {
        ProbeResult result = probers.probe(Checks.ttl(), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
    }
}
