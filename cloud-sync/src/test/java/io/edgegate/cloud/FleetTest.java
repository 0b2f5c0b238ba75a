package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceRemoved;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.SyncMessage;
import io.edgegate.bridge.TopicName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The applier's rules, fed directly (no broker). */
class FleetTest {
    final List<String> resyncs = new ArrayList<>();
    final Fleet fleet = new Fleet((site, node, c) -> resyncs.add(site + "/" + node), 10_000);

    @AfterEach
    void close() {
        fleet.close();
    }

    static InstanceState state(String id, long epoch, long index, SyncHealth health) {
        return new InstanceState("llm", id, "10.0.0.5", 8000, List.of("v2"), Map.of(), health, epoch, index, 0);
    }

    void apply(SyncMessage m) {
        TopicName.Kind kind =
                switch (m) {
                    case InstanceState s -> TopicName.Kind.INSTANCE;
                    case InstanceRemoved r -> TopicName.Kind.INSTANCE;
                    case NodeStatus s -> TopicName.Kind.STATUS;
                    default -> TopicName.Kind.DIGEST;
                };
        String key =
                switch (m) {
                    case InstanceState s -> s.id();
                    case InstanceRemoved r -> r.id();
                    default -> null;
                };
        fleet.apply(new Decoded.Accepted(new TopicName(kind, "plant-a", "node-1", key, null), m), 1_000);
    }

    FleetView.InstanceView instance(String id) {
        // apply() runs on the test thread here: build the view through the same path
        return fleet.snapshotForTest().instances("llm", "plant-a", "node-1").stream()
                .filter(i -> i.state().id().equals(id))
                .findFirst()
                .orElse(null);
    }

    @Test
    void duplicatesAndReorderedOlderStatesChangeNothing() {
        apply(state("a", 1, 5, SyncHealth.PASSING));
        apply(state("a", 1, 7, SyncHealth.CRITICAL));
        apply(state("a", 1, 5, SyncHealth.PASSING));
        apply(state("a", 1, 7, SyncHealth.CRITICAL));
        apply(state("a", 1, 6, SyncHealth.WARNING));
        assertEquals(SyncHealth.CRITICAL, instance("a").state().health());
        assertEquals(3, fleet.ignoredCount());
    }

    @Test
    void aNewerEpochWinsOverAHigherIndexAndAnOlderEpochLoses() {
        apply(state("a", 1, 100, SyncHealth.PASSING));
        apply(state("a", 2, 1, SyncHealth.WARNING));
        apply(state("a", 1, 200, SyncHealth.CRITICAL));
        assertEquals(SyncHealth.WARNING, instance("a").state().health());
    }

    @Test
    void aRemovalLeavesATombstoneSoAStaleDuplicateDoesNotResurrect() {
        apply(state("a", 1, 5, SyncHealth.PASSING));
        apply(new InstanceRemoved("a"));
        apply(state("a", 1, 5, SyncHealth.PASSING));
        assertEquals(null, instance("a"));
        apply(state("a", 1, 9, SyncHealth.PASSING));
        assertEquals(9, instance("a").state().index());
    }

    @Test
    void anOfflineNodeKeepsItsInstancesMarkedStale() {
        apply(new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"));
        apply(state("a", 1, 5, SyncHealth.PASSING));
        assertFalse(instance("a").stale());
        apply(new NodeStatus(false, 1, 0, 10, 0, "10.0.0.2"));
        FleetView.InstanceView a = instance("a");
        assertTrue(a.stale());
        assertEquals(1_000, a.lastSeen());
        apply(new NodeStatus(true, 1, 0, 10, 600, "10.0.0.2"));
        assertTrue(instance("a").stale(), "an online of the same session must not beat its will");
        apply(new NodeStatus(true, 1, 0, 11, 700, "10.0.0.2"));
        assertFalse(instance("a").stale());
    }

    @Test
    void aDigestMismatchAsksForOneResync() {
        apply(state("a", 1, 5, SyncHealth.PASSING));
        Digest.Accumulator edge = new Digest.Accumulator();
        edge.add("a", 5);
        apply(edge.digest(1, 5, 0));
        assertEquals(List.of(), resyncs);
        edge.add("b", 6);
        apply(edge.digest(1, 6, 0));
        apply(edge.digest(1, 6, 0));
        assertEquals(List.of("plant-a/node-1"), resyncs);
    }
}
