package io.edgegate.gateway.proxy;

import java.util.Map;

/** {@link LeanApiTest} without event loops: the lane's writes answered on the connections' threads. */
class LeanApiOnConnectionThreadsTest extends LeanApiTest {
    @Override
    Map<String, String> settings() {
        return Map.of("EDGEGATE_PROXY_EVENT_LOOPS", "0");
    }

    @Override
    boolean onEventLoops() {
        return false;
    }
}
