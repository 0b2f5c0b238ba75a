package io.edgegate.gateway.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.Manifest;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncCodec;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.SyncMessage;
import io.edgegate.bridge.Topics;
import io.edgegate.bridge.testing.EmbeddedBroker;
import io.edgegate.bridge.testing.TcpRelay;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the edge publishes so the cloud can converge after any fault: a retained digest of what the
 * broker acknowledged after each burst, the answer to a resync of buckets (instances, manifests,
 * digest), and the broker's retained copy made equal to the registry after a reconnect. An
 * embedded broker, the link cut and restored through a relay, and an observer in the cloud's place.
 */
class SyncConvergenceTest {
    private static final String SITE = "plant-a";
    private static final String NODE = "node-1";
    private static final Topics TOPICS = new Topics(SITE, NODE);

    @TempDir
    Path dataDir;

    private EmbeddedBroker broker;
    private TcpRelay relay;
    private TestGateway gateway;
    private MqttClient observer;
    /** Every message the observer received on the node's topics, in order. */
    private final List<SyncMessage> seen = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        broker = EmbeddedBroker.start();
        relay = new TcpRelay(broker.port());
        gateway = TestGateway.start(
                dataDir,
                Map.of(
                        "EDGEGATE_MQTT_URL",
                        relay.url(),
                        "EDGEGATE_SITE",
                        SITE,
                        "EDGEGATE_NODE",
                        NODE,
                        "EDGEGATE_SYNC_DIGEST_INTERVAL",
                        "1h",
                        "EDGEGATE_MQTT_RECONNECT_BACKOFF_INITIAL",
                        "20ms",
                        "EDGEGATE_MQTT_RECONNECT_BACKOFF_MAX",
                        "200ms"));
        await(() -> sync().connected(), "connected");
    }

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (observer != null && observer.isConnected()) {
            observer.disconnect();
            observer.close();
        }
        relay.close();
        broker.close();
    }

    private SyncAgent sync() {
        return gateway.gateway().sync();
    }

    private Registry registry() {
        return gateway.gateway().registry();
    }

    private void observe() throws Exception {
        observer = new MqttClient(broker.url(), "observer", new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        observer.connect(options);
        IMqttMessageListener listener = (topic, message) -> {
            if (SyncCodec.decode(topic, message.getPayload()) instanceof Decoded.Accepted a) {
                seen.add(a.message());
            }
        };
        observer.subscribe(
                new MqttSubscription[] {new MqttSubscription("edgegate/v1/" + SITE + "/" + NODE + "/#", 1)},
                new IMqttMessageListener[] {listener});
    }

    private void register(String id) {
        String body = "{\"service\":\"llm\",\"id\":\"" + id + "\",\"address\":\"10.0.0.1\",\"port\":8080}";
        HttpResponse<String> response = TestGateway.send("POST", gateway.api("/v1/instances"), body);
        assertEquals(200, response.statusCode(), response.body());
    }

    private void deregister(String id) {
        HttpResponse<String> response = TestGateway.send("DELETE", gateway.api("/v1/instances/" + id), null);
        assertEquals(200, response.statusCode(), response.body());
    }

    /** The registry's instances as a digest accumulator (what a consumer holding them computes). */
    private Digest.Accumulator registryAccumulator() {
        Digest.Accumulator a = new Digest.Accumulator();
        for (ServiceSnapshot s : registry().services()) {
            for (Instance i : s.instances()) {
                a.add(i.id(), i.modifyIndex());
            }
        }
        return a;
    }

    private <T extends SyncMessage> List<T> seen(Class<T> type) {
        List<T> out = new ArrayList<>();
        for (SyncMessage m : seen) {
            if (type.isInstance(m)) {
                out.add(type.cast(m));
            }
        }
        return out;
    }

    private boolean sawDigest(Predicate<Digest> which) {
        return seen(Digest.class).stream().anyMatch(which);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void eachBurstEndsWithARetainedDigestOfTheAcknowledgedStateThatMovesWithARemoval() throws Exception {
        observe();
        await(() -> !seen(NodeStatus.class).isEmpty(), "the retained status");
        for (int i = 0; i < 5; i++) {
            register("llm-" + i);
        }
        long registered = registry().index();
        await(() -> sawDigest(d -> d.index() == registered && d.count() == 5), "a digest after the burst");
        Digest afterBurst = seen(Digest.class).getLast();
        assertTrue(registryAccumulator().matches(afterBurst), "it describes exactly the registry");
        assertEquals(Digest.BUCKETS, afterBurst.buckets().size());

        deregister("llm-2");
        long removed = registry().index();
        await(() -> sawDigest(d -> d.index() == removed && d.count() == 4), "a digest carrying the removal's index");
        assertTrue(registryAccumulator().matches(seen(Digest.class).getLast()));
        assertEquals(1, seen(NodeStatus.class).size(), "only the periodic digest re-asserts the status");

        observer.disconnect();
        observer.close();
        seen.clear();
        observe();
        await(() -> !seen(Digest.class).isEmpty(), "the digest, retained, for a consumer that comes later");
        assertEquals(removed, seen(Digest.class).getFirst().index());
    }

    @Test
    void aResyncOfBucketsIsAnsweredWithTheirInstancesThenTheirManifestsThenADigest() throws Exception {
        for (int i = 0; i < 40; i++) {
            register("llm-" + i);
        }
        await(() -> sync().pending() == 0, "acknowledged");
        observe();
        int first = Digest.bucketOf("llm-7");
        int second = Digest.bucketOf("llm-21");
        List<Integer> buckets =
                first == second ? List.of(first) : List.of(Math.min(first, second), Math.max(first, second));
        Map<String, Long> expected = new TreeMap<>();
        for (Instance i : registry().service("llm").instances()) {
            if (buckets.contains(Digest.bucketOf(i.id()))) {
                expected.put(i.id(), i.modifyIndex());
            }
        }
        await(
                () -> seen(InstanceState.class).size() == 40
                        && !seen(Digest.class).isEmpty(),
                "the retained replay");
        seen.clear();
        observer.publish(
                TOPICS.resync(),
                new MqttMessage(
                        SyncCodec.encode(new ResyncCommand("digest-mismatch", 0, System.currentTimeMillis(), buckets)),
                        1,
                        false,
                        null));
        await(() -> !seen(Digest.class).isEmpty(), "the digest that ends the answer");

        Map<String, Long> republished = new TreeMap<>();
        int lastState = -1;
        int firstManifest = Integer.MAX_VALUE;
        Map<Integer, Map<String, Long>> manifests = new TreeMap<>();
        for (int at = 0; at < seen.size(); at++) {
            switch (seen.get(at)) {
                case InstanceState s -> {
                    republished.put(s.id(), s.index());
                    lastState = at;
                }
                case Manifest m -> {
                    firstManifest = Math.min(firstManifest, at);
                    assertEquals(registry().index(), m.index());
                    for (Manifest.Entry e : m.entries()) {
                        manifests
                                .computeIfAbsent(m.bucket(), b -> new TreeMap<>())
                                .put(e.id(), e.index());
                    }
                }
                default -> {}
            }
        }
        assertEquals(expected, republished, "every instance of the buckets, and no other");
        assertTrue(lastState < firstManifest, "the instances come before the manifests: " + seen);
        Map<String, Long> listed = new TreeMap<>();
        manifests.values().forEach(listed::putAll);
        assertEquals(expected, listed, "each manifest lists exactly its bucket");
        assertEquals(buckets, List.copyOf(manifests.keySet()));
        assertTrue(seen.getLast() instanceof Digest, "the digest comes last: " + seen.getLast());
        assertEquals(1, sync().resyncs());
    }

    @Test
    void retainedCopiesTheBrokerLostOrHoldsOlderArePublishedAgainAfterAReconnect() throws Exception {
        for (int i = 0; i < 5; i++) {
            register("llm-" + i);
        }
        await(() -> sync().pending() == 0, "acknowledged");
        observe();
        relay.cut();
        await(() -> !sync().connected(), "the link is down");
        // As a broker restarted without its store (llm-1 gone) or from an old snapshot (llm-2 older):
        Instance two = registry().instance("llm-2");
        observer.publish(TOPICS.instance("llm-1"), new MqttMessage(new byte[0], 1, true, null));
        observer.publish(
                TOPICS.instance("llm-2"),
                new MqttMessage(
                        SyncCodec.encode(new InstanceState(
                                "llm",
                                "llm-2",
                                "10.0.0.1",
                                8080,
                                List.of(),
                                Map.of(),
                                SyncHealth.PASSING,
                                sync().epoch(),
                                two.modifyIndex() - 1,
                                0)),
                        1,
                        true,
                        null));
        seen.clear();
        relay.restore();
        Map<String, Long> expected =
                Map.of("llm-1", registry().instance("llm-1").modifyIndex(), "llm-2", two.modifyIndex());
        await(() -> republishedStates().equals(expected), "the two published again");
        Thread.sleep(300); // a third would have come by now
        assertEquals(expected, republishedStates(), "only what the broker lacked went out again");
        assertEquals(2, sync().republished());
    }

    /** The newest instance state the observer saw per id, not counting an older one it planted. */
    private Map<String, Long> republishedStates() {
        Map<String, Long> out = new TreeMap<>();
        for (InstanceState s : seen(InstanceState.class)) {
            if (s.timestamp() != 0) {
                out.merge(s.id(), s.index(), Math::max);
            }
        }
        return out;
    }
}
