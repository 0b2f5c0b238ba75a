package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.Health;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC checks against a real grpc-java server with the standard health service on an ephemeral
 * loopback port, flipped between SERVING and NOT_SERVING and stopped.
 */
class GrpcProbeTest {
    private static final long TIMEOUT_MILLIS = 2_000;

    private final Probers probers = new Probers(Probers.Options.defaults());
    private HealthStatusManager health;
    private Server server;
    private String target;

    @BeforeEach
    void start() throws IOException {
        health = new HealthStatusManager();
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(health.getHealthService())
                .build()
                .start();
        target = "127.0.0.1:" + server.getPort();
    }

    @AfterEach
    void stop() throws InterruptedException {
        probers.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void grpcServingIsPassing() {
        health.setStatus("", ServingStatus.SERVING);

        ProbeResult result = probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("gRPC check " + target + ": SERVING", result.output());
    }

    @Test
    void grpcNotServingIsCritical() {
        health.setStatus("", ServingStatus.NOT_SERVING);

        ProbeResult result = probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertEquals("gRPC check " + target + ": NOT_SERVING", result.output());
    }

    @Test
    void grpcStatusFollowsTheServerAsItFlips() {
        health.setStatus("", ServingStatus.SERVING);
        assertEquals(
                Health.PASSING,
                probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS)
                        .status());

        health.setStatus("", ServingStatus.NOT_SERVING);
        assertEquals(
                Health.CRITICAL,
                probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS)
                        .status());

        health.setStatus("", ServingStatus.SERVING);
        assertEquals(
                Health.PASSING,
                probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS)
                        .status());
    }

    @Test
    void grpcServiceIsAskedByName() {
        health.setStatus("", ServingStatus.NOT_SERVING);
        health.setStatus("llm.Infer", ServingStatus.SERVING);

        ProbeResult result = probers.probe(Checks.grpc(target + "/llm.Infer", TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
    }

    @Test
    void grpcUnknownServiceIsCriticalWithTheGrpcStatus() {
        health.setStatus("", ServingStatus.SERVING);

        ProbeResult result = probers.probe(Checks.grpc(target + "/nope", TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().contains("grpc-status 5 NOT_FOUND"), result.output());
    }

    @Test
    void grpcStoppedServerIsCritical() throws InterruptedException {
        health.setStatus("", ServingStatus.SERVING);
        assertEquals(
                Health.PASSING,
                probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS)
                        .status());
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

        long start = System.nanoTime();
        ProbeResult result = probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(
                System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS + 500),
                "took longer than the timeout");
    }
}
