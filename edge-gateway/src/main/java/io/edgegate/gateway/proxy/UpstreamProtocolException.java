package io.edgegate.gateway.proxy;

import java.io.IOException;

/**
 * An upstream answered with something that is not a well-formed HTTP/1.1 response (a bad status
 * line, conflicting lengths, a broken chunk): the exchange fails with a 502 and the connection is
 * closed, never reused.
 */
final class UpstreamProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    UpstreamProtocolException(String message) {
        super(message);
    }
}
