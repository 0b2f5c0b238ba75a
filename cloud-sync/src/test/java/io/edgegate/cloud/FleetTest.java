package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceRemoved;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.Manifest;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.ResyncCommand;
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
    final List<ResyncCommand> commands = new ArrayList<>();
    /** Whether the sink can send now (false: as with the link down or its window full). */
    boolean sinkOpen = true;

    final Fleet fleet = new Fleet(
            (site, node, c) -> {
                if (!sinkOpen) {
                    return false;
                }
                resyncs.add(site + "/" + node);
                commands.add(c);
                return true;
            },
            10_000,
            false);

    @AfterEach
    void close() {
        fleet.close();
    }

    static InstanceState state(String id, long epoch, long index, SyncHealth health) {
        return new InstanceState("llm", id, "10.0.0.5", 8000, List.of("v2"), Map.of(), health, epoch, index, 0);
    }

    void apply(SyncMessage m) {
        apply(fleet, m, 1_000);
    }

    static void apply(Fleet fleet, SyncMessage m, long now) {
        TopicName.Kind kind =
                switch (m) {
                    case InstanceState s -> TopicName.Kind.INSTANCE;
                    case InstanceRemoved r -> TopicName.Kind.INSTANCE;
                    case NodeStatus s -> TopicName.Kind.STATUS;
                    case Manifest mf -> TopicName.Kind.MANIFEST;
                    default -> TopicName.Kind.DIGEST;
                };
        String key =
                switch (m) {
                    case InstanceState s -> s.id();
                    case InstanceRemoved r -> r.id();
                    default -> null;
                };
        fleet.apply(new Decoded.Accepted(new TopicName(kind, "plant-a", "node-1", key, null), m), now);
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
    void aDigestMismatchAsksForOneResyncOfTheDifferingBucketOnceTheStreamIsQuiet() {
        apply(state("a", 1, 5, SyncHealth.PASSING));
        Digest.Accumulator edge = new Digest.Accumulator();
        edge.add("a", 5);
        apply(edge.digest(1, 5, 0));
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of(), resyncs, "the same set: nothing to ask");
        edge.add("b", 6);
        apply(edge.digest(1, 6, 0));
        fleet.tick(1_001);
        assertEquals(List.of(), resyncs, "not compared while the stream may still be arriving");
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        fleet.tick(1_000 + 2 * Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of("plant-a/node-1"), resyncs, "one request for one divergence");
        assertEquals(List.of(Digest.bucketOf("b")), commands.get(0).buckets());
    }

    @Test
    void aRetainedDigestReplayedBeforeItsInstancesRaisesNoAlarm() {
        Digest.Accumulator edge = new Digest.Accumulator();
        edge.add("a", 5);
        edge.add("b", 6);
        apply(fleet, edge.digest(1, 6, 0), 1_000);
        apply(fleet, state("a", 1, 5, SyncHealth.PASSING), 1_010);
        apply(fleet, state("b", 1, 6, SyncHealth.PASSING), 1_020);
        fleet.tick(1_020 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of(), resyncs);
    }

    @Test
    void aManifestRemovesWhatTheNodeRemovedWhileThisReplicaWasNotListening() {
        for (int i = 0; i < 200; i++) {
            apply(state("i-" + i, 1, i + 1, SyncHealth.PASSING));
        }
        // The node removed i-7 and i-9 while the replica was away; the broker cleared their
        // retained copies, so the replica's resubscribe brought no word of it. The node's digest:
        Digest.Accumulator edge = new Digest.Accumulator();
        java.util.Map<Integer, List<Manifest.Entry>> buckets = new java.util.TreeMap<>();
        for (int i = 0; i < 200; i++) {
            if (i != 7 && i != 9) {
                edge.add("i-" + i, i + 1);
                buckets.computeIfAbsent(Digest.bucketOf("i-" + i), b -> new ArrayList<>())
                        .add(new Manifest.Entry("i-" + i, i + 1));
            }
        }
        apply(fleet, edge.digest(1, 300, 0), 2_000);
        fleet.tick(2_000 + Fleet.DIGEST_SETTLE_MILLIS);
        List<Integer> asked = commands.get(0).buckets();
        assertEquals(
                java.util.stream.Stream.of(Digest.bucketOf("i-7"), Digest.bucketOf("i-9"))
                        .distinct()
                        .sorted()
                        .toList(),
                asked);
        for (int b : asked) {
            for (Manifest part : Manifest.of(1, 300, b, buckets.getOrDefault(b, List.of()))) {
                apply(fleet, part, 2_500);
            }
        }
        assertEquals(null, instance("i-7"));
        assertEquals(null, instance("i-9"));
        assertEquals(198, fleet.snapshotForTest().instances("llm", null, null).size());
        apply(fleet, edge.digest(1, 300, 0), 3_000);
        fleet.tick(3_000 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(1, resyncs.size(), "converged: no further request");
    }

    @Test
    void aManifestKeepsAnInstanceNewerThanItself() {
        apply(state("a", 1, 50, SyncHealth.PASSING));
        apply(fleet, new Manifest(1, 40, Digest.bucketOf("a"), 0, 1, List.of()), 1_000);
        assertEquals(50, instance("a").state().index(), "registered after the manifest was taken");
    }

    @Test
    void aResyncThatCannotBeSentNowWaitsItsTurnAndIsNotLost() {
        apply(state("a", 1, 5, SyncHealth.PASSING));
        Digest.Accumulator edge = new Digest.Accumulator();
        apply(edge.digest(1, 6, 0));
        sinkOpen = false;
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        fleet.tick(1_000 + 2 * Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of(), resyncs);
        assertTrue((Long) fleet.stats().get("resyncsDeferred") > 0);
        sinkOpen = true;
        fleet.tick(1_000 + 3 * Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of("plant-a/node-1"), resyncs);
    }

    @Test
    void replicasThatReceivedTheSameNewestMessagesAgreeOnTheIndex() {
        Fleet late = new Fleet((site, node, c) -> true, 10_000, false);
        try {
            // One replica saw every intermediate state; the other only the retained newest ones,
            // in another order.
            apply(fleet, new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"), 1_000);
            apply(fleet, state("a", 1, 5, SyncHealth.PASSING), 1_000);
            apply(fleet, state("b", 1, 6, SyncHealth.PASSING), 1_000);
            apply(fleet, state("a", 1, 7, SyncHealth.CRITICAL), 1_000);
            apply(fleet, new InstanceRemoved("b"), 1_000);
            Digest.Accumulator edge = new Digest.Accumulator();
            edge.add("a", 7);
            apply(fleet, edge.digest(1, 8, 0), 1_000);

            apply(late, edge.digest(1, 8, 0), 5_000);
            apply(late, state("a", 1, 7, SyncHealth.CRITICAL), 5_000);
            apply(late, new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"), 5_000);
            assertEquals(fleet.snapshotForTest().index(), late.snapshotForTest().index());
        } finally {
            late.close();
        }
    }

    @Test
    void theIndexRisesWithEveryVisibleChange() {
        apply(new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"));
        apply(state("a", 1, 5, SyncHealth.PASSING));
        long first = fleet.snapshotForTest().index();
        apply(state("a", 1, 6, SyncHealth.CRITICAL));
        long updated = fleet.snapshotForTest().index();
        assertTrue(updated > first);
        apply(new InstanceRemoved("a"));
        Digest.Accumulator edge = new Digest.Accumulator();
        apply(edge.digest(1, 7, 0)); // the digest that follows a removal carries its index
        long removed = fleet.snapshotForTest().index();
        assertTrue(removed > updated);
        apply(new NodeStatus(false, 1, 7, 10, 0, "10.0.0.2"));
        long offline = fleet.snapshotForTest().index();
        assertTrue(offline > removed, "going offline is visible (stale instances)");
        apply(new NodeStatus(true, 1, 7, 11, 900, "10.0.0.2"));
        assertTrue(fleet.snapshotForTest().index() > offline);
    }

    @Test
    void aDivergenceAfterTheNodeReconnectsIsAskedAboutAtOnceThoughAResyncWentShortlyBefore() {
        apply(fleet, new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"), 1_000);
        apply(fleet, state("g", 1, 1, SyncHealth.PASSING), 1_000);
        Digest.Accumulator edge = new Digest.Accumulator();
        apply(fleet, edge.digest(1, 2, 0), 1_000);
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(1, resyncs.size());
        // The node dropped before the resync reached it, and comes back with a new session.
        apply(fleet, new NodeStatus(false, 1, 0, 10, 0, "10.0.0.2"), 1_400);
        apply(fleet, new NodeStatus(true, 1, 0, 11, 1_500, "10.0.0.2"), 1_500);
        apply(fleet, edge.digest(1, 2, 0), 1_600);
        fleet.tick(1_600 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(2, resyncs.size(), "not held back by the minimum interval of 10 s");
    }

    @Test
    void aRemovalReplayedLateIsRepairedFromTheDigestAlreadyHeld() {
        apply(fleet, state("a", 1, 5, SyncHealth.PASSING), 1_000);
        Digest.Accumulator edge = new Digest.Accumulator();
        edge.add("a", 5);
        apply(fleet, edge.digest(1, 5, 0), 1_000);
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of(), resyncs, "in step");
        apply(fleet, new InstanceRemoved("a"), 2_000); // an old removal, duplicated or reordered
        fleet.tick(2_000 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(List.of("plant-a/node-1"), resyncs, "the node still has it: asked again");
        assertEquals(List.of(Digest.bucketOf("a")), commands.get(0).buckets());
    }

    @Test
    void aManifestListingAnInstanceThisReplicaLostAsksForItAgainAndTakesItBack() {
        InstanceState a = state("a", 1, 5, SyncHealth.PASSING);
        apply(fleet, a, 1_000);
        apply(fleet, new InstanceRemoved("a"), 2_000); // replayed late: the node still has a@5
        apply(fleet, a, 2_500); // the resync's answer: refused, the tombstone is at a@5
        assertEquals(null, instance("a"));
        apply(fleet, new Manifest(1, 6, Digest.bucketOf("a"), 0, 1, List.of(new Manifest.Entry("a", 5))), 2_500);
        fleet.tick(2_500);
        assertEquals(List.of("plant-a/node-1"), resyncs, "asked again at once");
        assertEquals(List.of(Digest.bucketOf("a")), commands.get(0).buckets());
        apply(fleet, a, 2_600);
        assertEquals(5, instance("a").state().index(), "taken back");
    }

    @Test
    void aNewDivergenceShortlyAfterAResyncIsAskedAboutAtOnceAndOnlyForItsBuckets() {
        String b = java.util.stream.IntStream.range(0, 100)
                .mapToObj(i -> "b-" + i)
                .filter(id -> Digest.bucketOf(id) != Digest.bucketOf("a"))
                .findFirst()
                .orElseThrow();
        Digest.Accumulator edge = new Digest.Accumulator();
        apply(fleet, state("a", 1, 5, SyncHealth.PASSING), 1_000);
        apply(fleet, state(b, 1, 6, SyncHealth.PASSING), 1_000);
        edge.add("a", 5);
        edge.add(b, 6);
        apply(fleet, edge.digest(1, 6, 0), 1_000);
        apply(fleet, new InstanceRemoved("a"), 1_100); // replayed late
        fleet.tick(1_100 + Fleet.DIGEST_SETTLE_MILLIS);
        apply(fleet, new InstanceRemoved(b), 1_500); // another, before the first is repaired
        fleet.tick(1_500 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(2, resyncs.size(), "the second divergence is not held back by the minimum interval");
        assertEquals(List.of(Digest.bucketOf("a")), commands.get(0).buckets());
        assertEquals(List.of(Digest.bucketOf(b)), commands.get(1).buckets(), "only the bucket not asked for yet");
    }

    @Test
    void afterThisReplicaReconnectsADivergenceIsAskedAboutAtOnceThoughItsBucketWasAskedForShortlyBefore() {
        apply(fleet, state("g", 1, 1, SyncHealth.PASSING), 1_000);
        Digest.Accumulator edge = new Digest.Accumulator();
        apply(fleet, edge.digest(1, 2, 0), 1_000);
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(1, resyncs.size());
        // This replica's link drops before the answer reaches it, and comes back: the broker
        // replays the node's retained digest.
        fleet.brokerReconnected();
        apply(fleet, edge.digest(1, 2, 0), 1_500);
        fleet.tick(1_500 + Fleet.DIGEST_SETTLE_MILLIS);
        assertEquals(2, resyncs.size(), "not held back by the request made before the drop");
    }

    @Test
    void aNodeWhoseStreamIsNeverQuietStillHasItsDigestCompared() {
        apply(fleet, state("g", 1, 1, SyncHealth.PASSING), 0); // removed at the edge while this replica was away
        Digest.Accumulator edge = new Digest.Accumulator();
        for (int i = 0; i < 10; i++) {
            long at = 100L * i; // a change every 100 ms, each followed by the node's digest
            apply(fleet, state("busy", 1, 10 + i, SyncHealth.PASSING), at);
            if (i > 0) {
                edge.remove("busy", 9 + i);
            }
            edge.add("busy", 10 + i);
            apply(fleet, edge.digest(1, 10 + i, 0), at + 5);
            fleet.tick(at + 6);
        }
        assertEquals(List.of("plant-a/node-1"), resyncs, "compared once a digest had waited, though never quiet");
        assertEquals(List.of(Digest.bucketOf("g")), commands.get(0).buckets());
    }

    @Test
    void aReplicaStillHoldingARemovedInstanceIsBehindUntilItsManifestRemovesIt() {
        Fleet ghostly = new Fleet((site, node, c) -> true, 10_000, false);
        try {
            NodeStatus online = new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2");
            apply(fleet, online, 1_000);
            apply(ghostly, online, 1_000);
            // The ghostly replica kept g from before; it missed its removal while away.
            apply(ghostly, state("g", 1, 3, SyncHealth.PASSING), 1_000);
            Digest.Accumulator edge = new Digest.Accumulator();
            for (SyncMessage m :
                    List.<SyncMessage>of(state("a", 1, 5, SyncHealth.PASSING), state("b", 1, 9, SyncHealth.PASSING))) {
                apply(fleet, m, 2_000);
                apply(ghostly, m, 2_000);
                InstanceState s = (InstanceState) m;
                edge.add(s.id(), s.index());
            }
            Digest digest = edge.digest(1, 9, 0);
            apply(fleet, digest, 2_000);
            apply(ghostly, digest, 2_000);
            long converged = fleet.snapshotForTest().index();
            long behind = ghostly.snapshotForTest().index();
            assertTrue(behind < converged, "a replica still showing g is behind: " + behind + " vs " + converged);
            apply(ghostly, new Manifest(1, 9, Digest.bucketOf("g"), 0, 1, List.of()), 2_500);
            FleetView after = ghostly.snapshotForTest();
            assertTrue(after.instances("llm", "plant-a", "node-1").stream()
                    .noneMatch(i -> i.state().id().equals("g")));
            assertEquals(converged, after.index(), "the removal moved its index to the converged replica's");
        } finally {
            ghostly.close();
        }
    }

    @Test
    void theIndexStaysPositiveAndGrowsWithEpochsInMilliseconds() {
        long epoch = 1_796_257_788_972L; // epochs are start times in milliseconds
        long last = 0;
        for (int i = 1; i <= 50; i++) {
            for (String node : List.of("node-1", "node-2", "node-3")) {
                fleet.apply(
                        new Decoded.Accepted(
                                new TopicName(TopicName.Kind.INSTANCE, "plant-a", node, "x-" + i, null),
                                new InstanceState(
                                        "llm",
                                        "x-" + i,
                                        "10.0.0.5",
                                        8000,
                                        List.of(),
                                        Map.of(),
                                        SyncHealth.PASSING,
                                        epoch,
                                        1_000_000_000L + i,
                                        0)),
                        1_000);
                fleet.apply(
                        new Decoded.Accepted(
                                new TopicName(TopicName.Kind.STATUS, "plant-a", node, null, null),
                                new NodeStatus(true, epoch, 0, epoch + i, 500, "10.0.0.2")),
                        1_000);
            }
            long index = fleet.snapshotForTest().index();
            assertTrue(index > last, "index " + index + " after " + last);
            last = index;
        }
    }

    @Test
    void theIndexStaysPositiveAndRisesWithMillisecondEpochsOverManyNodes() {
        long epoch = 1_764_720_000_000L; // a node's epoch is the millisecond it was made
        long last = 0;
        for (int n = 0; n < 2_000; n++) {
            TopicName node = new TopicName(TopicName.Kind.STATUS, "plant-a", "node-" + n, null, null);
            fleet.apply(new Decoded.Accepted(node, new NodeStatus(true, epoch + n, 5, epoch + n, 500, "")), 1_000);
            long index = fleet.snapshotForTest().index();
            assertTrue(index > last, "node " + n + ": " + index + " after " + last);
            last = index;
        }
        // a node restarting its index in a new epoch a second after one of 100,000 changes still
        // moves the index up (the order holds below 256 changes per millisecond of an epoch)
        TopicName restarted = new TopicName(TopicName.Kind.STATUS, "plant-b", "node-r", null, null);
        fleet.apply(new Decoded.Accepted(restarted, new NodeStatus(true, epoch, 100_000, epoch, 500, "")), 1_000);
        long before = fleet.snapshotForTest().index();
        fleet.apply(
                new Decoded.Accepted(restarted, new NodeStatus(true, epoch + 1_000, 1, epoch + 1_000, 600, "")), 2_000);
        assertTrue(fleet.snapshotForTest().index() > before);
    }

    @Test
    void resyncsAwaitingTheirAcknowledgementStayUnderTheLimitSoTheWindowNeverRefusesOne() {
        List<String> sent = new ArrayList<>();
        int[] unacknowledged = {0};
        Fleet many = new Fleet(
                new Fleet.ResyncSink() {
                    @Override
                    public boolean requestResync(String site, String node, ResyncCommand command) {
                        sent.add(node);
                        unacknowledged[0]++;
                        return true;
                    }

                    @Override
                    public int inFlight() {
                        return unacknowledged[0];
                    }
                },
                10_000,
                false);
        try {
            int nodes = Fleet.MAX_RESYNCS_IN_FLIGHT + 20;
            for (int n = 0; n < nodes; n++) {
                TopicName t = new TopicName(TopicName.Kind.DIGEST, "plant-a", "node-" + n, null, null);
                Digest.Accumulator edge = new Digest.Accumulator();
                edge.add("missing", 5);
                many.apply(new Decoded.Accepted(t, edge.digest(1, 5, 0)), 1_000);
            }
            many.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
            assertEquals(Fleet.MAX_RESYNCS_IN_FLIGHT, sent.size(), "no more than the limit unacknowledged");
            assertEquals(0L, many.stats().get("resyncsDeferred"), "none refused: the rest wait their turn");
            for (int turn = 1; sent.size() < nodes && turn < 10; turn++) {
                unacknowledged[0] = 0; // the broker acknowledged them: the next ones go
                int before = sent.size();
                many.tick(2_000 + turn);
                assertTrue(sent.size() - before <= Fleet.MAX_RESYNCS_IN_FLIGHT);
            }
            assertEquals(nodes, sent.size(), "every node asked once");
            assertEquals(0L, many.stats().get("resyncsDeferred"));
        } finally {
            many.close();
        }
    }
}
