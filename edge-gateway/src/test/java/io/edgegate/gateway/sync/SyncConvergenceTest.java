package io.edgegate.gateway.sync;

import static io.edgegate.gateway.sync.EdgeSyncRig.await;
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
import io.edgegate.bridge.testing.TcpRelay;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttMessage;
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
    private static final String SITE = EdgeSyncRig.SITE;
    private static final String NODE = EdgeSyncRig.NODE;
    private static final Topics TOPICS = EdgeSyncRig.TOPICS;

    @TempDir
    Path dataDir;

    private EdgeSyncRig rig;
    private TcpRelay relay;
    private MqttClient observer;
    /** Every message the observer received on the node's topics, in order. */
    private final List<SyncMessage> seen = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        rig = EdgeSyncRig.start(dataDir);
        relay = rig.relay;
        rig.startGateway(
                "EDGEGATE_MQTT_RECONNECT_BACKOFF_INITIAL", "20ms", "EDGEGATE_MQTT_RECONNECT_BACKOFF_MAX", "200ms");
        await(() -> sync().connected(), "connected");
    }

    @AfterEach
    void stop() throws Exception {
        rig.close();
    }

    private SyncAgent sync() {
        return rig.sync();
    }

    private Registry registry() {
        return rig.registry();
    }

    private void observe() throws Exception {
        observer = rig.observe("edgegate/v1/" + SITE + "/" + NODE + "/#", (topic, message) -> {
            if (SyncCodec.decode(topic, message.getPayload()) instanceof Decoded.Accepted a) {
                seen.add(a.message());
            }
        });
    }

    private void register(String id) {
        rig.register(id);
    }

    private void deregister(String id) {
        rig.deregister(id);
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

        rig.closeObserver();
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
