package io.edgegate.gateway.proxy;

/**
 * Every fault of {@link FaultTest} with the lean connections on their own threads ({@code
 * edgegate.proxy.event-loops: 0}): the blocking {@link Forwarder}'s retries, timeouts (its {@link
 * Watchdog}), ejection and budget, which the defaults leave to the event loops.
 */
class FaultOnConnectionThreadsTest extends FaultTest {
    @Override
    ProxyOptions on(ProxyOptions options) {
        return options.toBuilder().eventLoops(0).build();
    }
}
