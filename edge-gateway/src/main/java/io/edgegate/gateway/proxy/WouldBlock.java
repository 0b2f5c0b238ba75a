package io.edgegate.gateway.proxy;

import java.io.IOException;

/**
 * A read on an {@link EventLoop}'s non-blocking channel found nothing: the caller returns to the
 * loop and calls again when the channel is readable. One shared instance without a stack trace:
 * it is control flow, thrown where a blocking read would have waited.
 */
final class WouldBlock extends IOException {
    private static final long serialVersionUID = 1L;

    static final WouldBlock INSTANCE = new WouldBlock();

    private WouldBlock() {
        super("nothing to read yet");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this; // control flow: no trace to record
    }
}
