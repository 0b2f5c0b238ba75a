package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Checks the publish benchmark's state: both structures publish the same service, batch after batch. */
class SnapshotPublishBenchmarkTest {

    private static SnapshotPublishBenchmark setUp(String impl, String op, int instances, int changes) {
        SnapshotPublishBenchmark benchmark = new SnapshotPublishBenchmark();
        benchmark.impl = impl;
        benchmark.op = op;
        benchmark.instances = instances;
        benchmark.changes = changes;
        benchmark.setUp();
        return benchmark;
    }

    private static List<Instance> published(Object snapshot) {
        return snapshot instanceof ServiceSnapshot s
                ? List.copyOf(s.instances())
                : ((SnapshotPublishBenchmark.CopiedSnapshot) snapshot).instances();
    }

    private static int routable(Object snapshot) {
        return snapshot instanceof ServiceSnapshot s
                ? s.routableCount()
                : ((SnapshotPublishBenchmark.CopiedSnapshot) snapshot).routable().length;
    }

    @ParameterizedTest
    @CsvSource({"trie,update,1", "copy,update,1", "trie,churn,1", "copy,churn,1", "trie,churn,64", "copy,update,64"})
    void everyBatchPublishesTheWholeServiceWithItsChanges(String impl, String op, int changes) {
        SnapshotPublishBenchmark benchmark = setUp(impl, op, 1_000, changes);
        Object last = null;
        for (int batch = 0; batch < 200; batch++) {
            last = benchmark.batch();
        }
        List<Instance> instances = published(last);
        assertEquals(1_000, instances.size(), impl + " " + op + ": the service keeps its size");
        assertEquals(instances.size(), routable(last), "all routable (no checks)");
        Set<String> ids = new HashSet<>();
        for (Instance instance : instances) {
            ids.add(instance.id());
        }
        assertEquals(instances.size(), ids.size(), "no instance twice");
        if (op.equals("update")) {
            // The first 200 x changes re-registrations put revision 1 in place of revision 0.
            assertEquals("1", instances.get(0).spec().meta().get("rev"));
            assertEquals("0", instances.get(999).spec().meta().get("rev"));
        } else {
            // Removals take the oldest, registrations go last: the published order is the benchmark's.
            assertEquals(List.copyOf(benchmark.live), instances);
        }
    }

    @Test
    void unknownParametersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> setUp("array", "update", 10, 1));
        assertThrows(IllegalArgumentException.class, () -> setUp("trie", "move", 10, 1));
    }
}
