package io.edgegate.cloud;

import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.Topics;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Edge nodes for cloud-sync's tests, each an {@link EdgeLink} on the broker as a gateway's sync
 * would be (fast reconnects, a 2 s keep-alive), and their acknowledged publishes. Stateless.
 */
public final class EdgeNodes {
    private EdgeNodes() {}

    /**
     * Node {@code node} of site {@code site} on the broker at {@code url}, connected (up to 15 s);
     * the caller closes it.
     */
    public static EdgeLink start(String url, String site, String node, EdgeLink.Handler handler) throws Exception {
        EdgeLink link = EdgeLink.start(
                LinkOptions.builder(url, "edge-" + site + "-" + node)
                        .backoff(20, 200)
                        .keepAliveSeconds(2)
                        .build(),
                new Topics(site, node),
                "10.0.0.2",
                1,
                handler);
        if (!link.link().awaitConnected(15_000)) {
            String error = String.valueOf(link.link().lastError());
            link.close();
            throw new AssertionError("edge node " + site + "/" + node + " did not connect: " + error);
        }
        return link;
    }

    /** A node's handler that takes no notice of what cloud-sync sends down. */
    public static EdgeLink.Handler ignoring() {
        return new EdgeLink.Handler() {
            @Override
            public void onConnected() {}

            @Override
            public void onResync(ResyncCommand command) {}

            @Override
            public void onConfig(ConfigPush push, boolean siteWide) {}

            @Override
            public void onConfigRemoved(ConfigRemoved removed, boolean siteWide) {}
        };
    }

    /** Publishes an instance's state and waits (up to 10 s) for the broker's acknowledgement. */
    public static void publishAcked(EdgeLink edge, InstanceState state) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        MqttLink.Send sent = edge.publishState(state, ok -> done.countDown());
        if (sent != MqttLink.Send.SENT) {
            throw new AssertionError("not sent (" + sent + "): " + state);
        }
        if (!done.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("not acknowledged: " + state);
        }
    }
}
