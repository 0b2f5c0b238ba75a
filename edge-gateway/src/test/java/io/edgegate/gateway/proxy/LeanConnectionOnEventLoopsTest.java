package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;

/**
 * The lean connection handler with its plain connections on event loops ({@code
 * edgegate.proxy.event-loops} above 0): every behaviour of {@link LeanConnectionTest} again, each
 * test that proxied a request checked to have served its connections on a loop.
 */
class LeanConnectionOnEventLoopsTest extends LeanConnectionTest {
    @Override
    ProxyOptions options() {
        return ProxyOptions.builder().eventLoops(2).build();
    }

    @AfterEach
    void servedOnEventLoops() {
        if (h != null && h.lean != null && h.lean.requests() > 0) {
            assertTrue(h.lean.onEventLoops() > 0, "lean connections on event loops");
        }
    }
}
