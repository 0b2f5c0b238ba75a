package io.edgegate.gateway.registry;

/** How a check learns an instance's health. */
public enum CheckKind {
    /** An HTTP(S) request whose status decides: 2xx passing, 429 warning, else critical. */
    HTTP,
    /** A TCP connect. */
    TCP,
    /** The service reports itself (heartbeat, pass/warn/fail); no report within the TTL is critical. */
    TTL,
    /**
     * The standard gRPC health service ({@code grpc.health.v1.Health/Check}) at {@code host:port}
     * or {@code host:port/service}: SERVING is passing, anything else critical.
     */
    GRPC,
    /**
     * A program run without a shell (Consul's script check): exit 0 passing, 1 warning, anything
     * else critical. Off unless the node enables it ({@code edgegate.health.enable-exec-checks}).
     */
    EXEC
}
