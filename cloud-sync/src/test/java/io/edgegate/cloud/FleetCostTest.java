package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.SyncMessage;
import io.edgegate.bridge.TopicName;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What applying costs, structurally (no timing): work in proportion to the changes, none for what
 * changes nothing, a full hand-off queue that holds the reader back without losing a message, and
 * the memory an instance takes.
 */
class FleetCostTest {
    final Fleet fleet = new Fleet((site, node, c) -> true, 10_000, false);

    @AfterEach
    void close() {
        fleet.close();
    }

    static InstanceState state(String id, long index) {
        return new InstanceState(
                "llm",
                id,
                "10.0.0.5",
                8000,
                List.of("version:v2", "zone:a"),
                Map.of("model", "llama3", "runtime", "vllm"),
                SyncHealth.PASSING,
                1,
                index,
                0);
    }

    static Decoded.Accepted message(String node, SyncMessage m) {
        TopicName.Kind kind =
                switch (m) {
                    case InstanceState s -> TopicName.Kind.INSTANCE;
                    case NodeStatus s -> TopicName.Kind.STATUS;
                    default -> TopicName.Kind.DIGEST;
                };
        String key = m instanceof InstanceState s ? s.id() : null;
        return new Decoded.Accepted(new TopicName(kind, "plant-a", node, key, null), m);
    }

    void apply(String node, SyncMessage m) {
        fleet.apply(message(node, m), 1_000);
    }

    /** A node with {@code n} instances i-0..i-(n-1) at indexes 1..n, its status and matching digest. */
    Digest.Accumulator load(String node, int n) {
        apply(node, new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"));
        Digest.Accumulator edge = new Digest.Accumulator();
        for (int i = 0; i < n; i++) {
            apply(node, state("i-" + i, i + 1));
            edge.add("i-" + i, i + 1);
        }
        apply(node, edge.digest(1, n, 0));
        fleet.tick(1_000 + Fleet.DIGEST_SETTLE_MILLIS);
        return edge;
    }

    @Test
    void aDuplicateMarksNoNodeChanged() {
        load("node-1", 10);
        long index = fleet.view().index();
        apply("node-1", state("i-3", 4));
        assertEquals(0, fleet.changedNodeCount(), "a duplicate changes nothing a reader sees");
        fleet.tick(2_000);
        assertEquals(index, fleet.view().index());
    }

    @Test
    void aDigestThatRaisesNothingMarksNoNodeChanged() {
        Digest.Accumulator edge = load("node-1", 10);
        long heads = fleet.headsWritten();
        apply("node-1", edge.digest(1, 10, 0));
        assertEquals(0, fleet.changedNodeCount());
        fleet.tick(2_000);
        assertEquals(heads, fleet.headsWritten());
    }

    @Test
    void aBatchWritesOneRecordPerChangeAndLeavesTheOtherInstancesAlone() {
        load("node-1", 5_000);
        load("node-2", 5_000);
        InstanceRecord untouched = fleet.record("plant-a", "node-1", "i-10");
        long records = fleet.recordsWritten();
        long heads = fleet.headsWritten();
        apply("node-1", state("i-1", 6_001));
        apply("node-1", state("i-2", 6_002));
        apply("node-2", state("i-3", 6_003));
        fleet.tick(2_000);
        assertEquals(3, fleet.recordsWritten() - records, "one record per change, not per instance of the node");
        assertEquals(2, fleet.headsWritten() - heads, "one head per changed node");
        assertSame(untouched, fleet.record("plant-a", "node-1", "i-10"), "an unchanged instance is not rebuilt");
        assertEquals(6_002, fleet.record("plant-a", "node-1", "i-2").index);
    }

    @Test
    void aFullQueueHoldsTheReaderBackAndLosesNothing() throws Exception {
        try (Fleet small = new Fleet((site, node, c) -> true, 10_000, false, 16)) {
            int total = 200;
            AtomicInteger offered = new AtomicInteger();
            Thread reader = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < total; i++) {
                    assertTrue(small.offer(message("node-1", state("i-" + i, i + 1)), 1_000));
                    offered.incrementAndGet();
                }
            });
            awaitTrue(
                    "the reader waits on the full queue",
                    () -> (Long) small.stats().get("backpressureWaits") > 0);
            assertEquals(16, offered.get(), "the reader took no more than the queue holds");
            assertTrue(reader.isAlive());
            while (reader.isAlive() || (Long) small.stats().get("queued") > 0) {
                small.applyQueued(2_000);
            }
            assertEquals(total, small.view().instances(null, null, null).size(), "every message applied");
            assertEquals(0L, small.stats().get("dropped"));
        }
    }

    @Test
    void closingReleasesAReaderWaitingOnAFullQueueAndCountsTheMessage() throws Exception {
        Fleet small = new Fleet((site, node, c) -> true, 10_000, false, 1);
        assertTrue(small.offer(message("node-1", state("i-0", 1)), 1_000));
        boolean[] taken = {true};
        Thread reader = Thread.ofPlatform().start(() -> taken[0] = small.offer(message("node-1", state("i-1", 2)), 1));
        awaitTrue("the reader waits", () -> (Long) small.stats().get("backpressureWaits") > 0);
        small.close();
        reader.join(TimeUnit.SECONDS.toMillis(5));
        assertFalse(reader.isAlive());
        assertFalse(taken[0]);
        assertEquals(1L, small.stats().get("dropped"));
        assertEquals(Map.of("closing", 1L), small.stats().get("rejected"));
    }

    @Test
    void instancesWithTheSameServiceTagsAndMetadataShareThem() {
        apply("node-1", state("a", 1));
        apply("node-2", state("b", 2));
        apply("node-2", state("c", 3));
        InstanceRecord a = fleet.record("plant-a", "node-1", "a");
        InstanceRecord b = fleet.record("plant-a", "node-2", "b");
        InstanceRecord c = fleet.record("plant-a", "node-2", "c");
        assertSame(a.service, b.service);
        assertSame(a.tags, b.tags);
        assertSame(a.meta, b.meta);
        assertSame(b.address, c.address, "instances of one node on one address share it");
    }

    /**
     * Live heap per instance, measured as the issue states it: used heap after a full collection
     * with the instances loaded, against the same fleet empty, in the same JVM. 20,000 instances of
     * the benchmark's shape (unique id and address, shared service, tags and metadata).
     */
    @Test
    void liveHeapPerInstanceIsAtMost400Bytes() {
        int n = 20_000;
        apply("node-0", new NodeStatus(true, 1, 0, 10, 500, "10.0.0.2"));
        fleet.tick(1_000);
        long empty = usedAfterGc();
        for (int i = 0; i < n; i++) {
            String address = "10.1." + (i / 250) + "." + (i % 250);
            String id = "llm-" + address + "-" + (8000 + i % 1000);
            apply(
                    "node-" + (i % 10),
                    new InstanceState(
                            "llm",
                            id,
                            address,
                            8000 + i % 1000,
                            List.of("version:v" + (i % 3), "zone:a"),
                            Map.of("model", "llama3", "runtime", "vllm"),
                            SyncHealth.PASSING,
                            1_764_720_000_000L,
                            i + 1,
                            0));
        }
        fleet.tick(2_000);
        long loaded = usedAfterGc();
        long perInstance = (loaded - empty) / n;
        assertEquals(n, fleet.view().instances(null, null, null).size());
        assertTrue(perInstance <= 400, "live heap per instance: " + perInstance + " bytes");
    }

    private static long usedAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            least = Math.min(least, memory.getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    static void awaitTrue(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }
}
