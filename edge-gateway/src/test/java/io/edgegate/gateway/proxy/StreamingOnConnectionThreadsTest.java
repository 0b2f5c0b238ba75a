package io.edgegate.gateway.proxy;

/**
 * Every stream of {@link StreamingTest} with the lean connections on their own threads ({@code
 * edgegate.proxy.event-loops: 0}): the blocking {@link Forwarder}'s relay, which the defaults leave
 * to the event loops.
 */
class StreamingOnConnectionThreadsTest extends StreamingTest {
    @Override
    ProxyOptions on(ProxyOptions options) {
        return options.toBuilder().eventLoops(0).build();
    }
}
