package io.edgegate.benchmarks.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.Manifest;
import io.edgegate.bridge.ResyncCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The simulated node answers resyncs as the protocol says (no broker: its outbox is read). */
class SimulatedNodeTest {
    final SimulatedNode node = new SimulatedNode(3, "plant-0", 2_000, 1);

    @Test
    void aBucketResyncQueuesThatBucketsInstancesThenItsManifest() {
        node.onResync(new ResyncCommand("digest-mismatch", 0, 0, List.of(5)));
        List<Object> queued = new ArrayList<>(node.outbox);
        Set<String> states = new TreeSet<>();
        Set<String> listed = new TreeSet<>();
        boolean manifestSeen = false;
        for (Object o : queued) {
            if (o instanceof InstanceState s) {
                assertTrue(!manifestSeen, "every state of the bucket comes before its manifest");
                assertEquals(5, Digest.bucketOf(s.id()));
                states.add(s.id());
            } else {
                Manifest m = (Manifest) o;
                manifestSeen = true;
                assertEquals(5, m.bucket());
                m.entries().forEach(e -> listed.add(e.id()));
            }
        }
        assertTrue(manifestSeen);
        assertTrue(!states.isEmpty() && states.size() < 2_000, "one bucket of 64, not the node: " + states.size());
        assertEquals(states, listed, "the manifest lists exactly the bucket's instances");
    }

    @Test
    void aResyncWithoutBucketsQueuesEveryInstanceWithoutManifests() {
        node.onResync(new ResyncCommand("operator", 0, 0));
        assertEquals(2_000, node.outbox.size());
        assertTrue(node.outbox.stream().allMatch(o -> o instanceof InstanceState));
    }

    @Test
    void instancesShareServiceNamesAndHaveUniqueIds() {
        node.queueAll();
        Set<String> ids = new TreeSet<>();
        Set<String> services = new TreeSet<>();
        for (Object o : node.outbox) {
            InstanceState s = (InstanceState) o;
            ids.add(s.id());
            services.add(s.service());
        }
        assertEquals(2_000, ids.size());
        assertEquals(SimulatedNode.SERVICES.length, services.size());
    }
}
