package io.edgegate.gateway.sync;

import static io.edgegate.gateway.sync.EdgeSyncRig.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.gateway.TestGateway;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A change the broker refuses (its ACL: MQTT 5 reason 0x87 not authorized) against Debian's
 * mosquitto with an ACL that grants this node everything but one instance's topic: the change
 * stays in the outbox and is sent again with a growing delay, not at the publish rate, while the
 * node's other changes flow.
 */
class SyncRefusedTest {
    private static final String SITE = EdgeSyncRig.SITE;
    private static final String NODE = EdgeSyncRig.NODE;

    @TempDir
    Path dataDir;

    private MosquittoBroker broker;
    private TestGateway gateway;

    @BeforeEach
    void startBroker() throws Exception {
        Topics topics = new Topics(SITE, NODE);
        broker = MosquittoBroker.startWithAcl("topic readwrite " + topics.status() + "\n"
                + "topic readwrite " + topics.digest() + "\n"
                + "topic readwrite " + topics.manifest() + "\n"
                + "topic readwrite " + topics.instance("open") + "\n"
                + "topic read " + Topics.ROOT + "/#\n");
    }

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        broker.close();
    }

    private void register(String id) {
        EdgeSyncRig.register(gateway, id, null);
    }

    @Test
    void aChangeTheBrokerRefusesIsSentAgainWithBackoffNotAtThePublishRate() throws Exception {
        gateway = TestGateway.start(dataDir, EdgeSyncRig.syncEnv(broker.url()));
        SyncAgent sync = gateway.gateway().sync();
        await(sync::connected, "connected");
        register("open");
        register("secret");
        await(() -> sync.refused() >= 1, "the broker's refusal of instance secret");
        await(() -> sync.pending() == 1, "instance open acknowledged");
        long refusedAt = System.nanoTime();
        long connects = sync.linkCounters().connects();
        Thread.sleep(3_000);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - refusedAt);
        // At the publish rate (2,000/s) the refused change would have been sent thousands of times;
        // held back 1 s, then 2 s, ... it is sent a few times (a reconnect sends it once more).
        long refusals = sync.refused();
        long allowed = 2
                + elapsedMillis / SyncAgent.REFUSED_RETRY_INITIAL_MILLIS
                + (sync.linkCounters().connects() - connects);
        assertTrue(refusals <= allowed, refusals + " refusals in " + elapsedMillis + " ms");
        assertEquals(1, sync.pending(), "the refused change stays in the outbox");
        assertTrue(sync.connected(), "the connection stays up");
    }
}
