package io.edgegate.gateway.proxy;

import java.io.IOException;

/**
 * The TLS handshake with an upstream failed (its certificate does not verify, its name does not
 * match, it speaks no TLS, the handshake timed out): nothing was sent, the exchange may go to
 * another instance, and the client's answer is a 502 naming TLS. The message says what was
 * asked of the upstream (server name, source of trust); the cause says why it failed.
 */
final class UpstreamTlsException extends IOException {
    private static final long serialVersionUID = 1L;

    UpstreamTlsException(String message, Throwable cause) {
        super(message, cause);
    }
}
