package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.Health;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gRPC checks over TLS (ALPN h2) against a grpc-java server with a self-signed certificate. */
class GrpcTlsProbeTest {
    private static final long TIMEOUT_MILLIS = 2_000;

    @TempDir
    static Path dir;

    private static Server server;
    private static Probers probers;
    private static String target;

    @BeforeAll
    static void start() throws Exception {
        SelfSignedCertificate certificate = SelfSignedCertificate.create(dir);
        HealthStatusManager health = new HealthStatusManager();
        health.setStatus("", ServingStatus.SERVING);
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(certificate.keyManagers()))
                        .build())
                .addService(health.getHealthService())
                .build()
                .start();
        target = "127.0.0.1:" + server.getPort();
        probers = new Probers(Probers.Options.defaults());
    }

    @AfterAll
    static void stop() throws InterruptedException {
        probers.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void grpcOverTlsWithSkipVerifyIsPassing() {
        ProbeResult result = probers.probe(Checks.grpcTls(target, TIMEOUT_MILLIS, true), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals("gRPC check " + target + ": SERVING", result.output());
    }

    @Test
    void grpcOverTlsWithASelfSignedCertificateIsCriticalWithoutSkipVerify() {
        ProbeResult result = probers.probe(Checks.grpcTls(target, TIMEOUT_MILLIS, false), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().contains("SSLHandshakeException"), result.output());
    }

    @Test
    void grpcInClearTextToATlsServerIsCritical() {
        ProbeResult result = probers.probe(Checks.grpc(target, TIMEOUT_MILLIS), Checks.INSTANCE_ADDRESS);

        assertEquals(Health.CRITICAL, result.status(), result.output());
    }
}
