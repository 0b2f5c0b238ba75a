package io.edgegate.gateway.registry;

/** How a check learns an instance's health. */
public enum CheckKind {
    /** An HTTP(S) request whose status decides: 2xx passing, 429 warning, else critical. */
    HTTP,
    /** A TCP connect. */
    TCP,
    /** The service reports itself (heartbeat, pass/warn/fail); no report within the TTL is critical. */
    TTL
}
