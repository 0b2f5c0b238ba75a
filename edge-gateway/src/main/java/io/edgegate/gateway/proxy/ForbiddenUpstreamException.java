package io.edgegate.gateway.proxy;

import java.io.IOException;

/**
 * An instance's address resolved to a {@link io.edgegate.gateway.registry.ForbiddenAddresses
 * forbidden address} (link-local, cloud metadata, unspecified, multicast) when a connection to it
 * was about to be opened: nothing was sent, the attempt fails with a 502 naming the rule. Checked
 * once per new connection, never per request on a pooled one.
 */
final class ForbiddenUpstreamException extends IOException {
    private static final long serialVersionUID = 1L;

    ForbiddenUpstreamException(String message) {
        super(message);
    }
}
