package io.edgegate.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.Instance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks the benchmark's state, so that what it measures is the routing path it claims to. */
class RoutingLookupBenchmarkTest {

    private static RoutingLookupBenchmark setUp(String impl, int instances) {
        RoutingLookupBenchmark benchmark = new RoutingLookupBenchmark();
        benchmark.impl = impl;
        benchmark.instances = instances;
        benchmark.order = "shuffled";
        benchmark.setUp();
        return benchmark;
    }

    @ParameterizedTest
    @ValueSource(strings = {"registry", "cow-map", "locked-map"})
    void everyLookedUpNameResolvesToRoutableInstancesOfThatService(String impl) {
        RoutingLookupBenchmark benchmark = setUp(impl, 1_000);
        try {
            assertEquals(
                    1_000 / RoutingLookupBenchmark.INSTANCES_PER_SERVICE,
                    benchmark.lookups.length,
                    "one lookup name per service");
            Set<String> distinct = new HashSet<>();
            for (String name : benchmark.lookups) {
                assertTrue(distinct.add(name), "service looked up twice: " + name);
                assertEquals(
                        RoutingLookupBenchmark.INSTANCES_PER_SERVICE,
                        benchmark.table.routableCount(name),
                        impl + ": routable instances of " + name);
                Instance picked = benchmark.table.pick(name, 0);
                assertNotNull(picked, impl + ": no instance picked for " + name);
                assertEquals(name, picked.service(), impl + ": picked an instance of another service");
            }
        } finally {
            benchmark.tearDown();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"registry", "cow-map", "locked-map"})
    void pickSpreadsOverEveryRoutableInstance(String impl) {
        RoutingLookupBenchmark benchmark = setUp(impl, 10);
        try {
            String name = benchmark.lookups[0];
            Set<String> seen = new HashSet<>();
            for (int seq = 0; seq < 1_000; seq++) {
                seen.add(benchmark.table.pick(name, seq).id());
            }
            assertEquals(
                    RoutingLookupBenchmark.INSTANCES_PER_SERVICE, seen.size(), impl + ": instances picked " + seen);
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void lookupNamesAreCopiesNotTheRegisteredKeys() {
        RoutingLookupBenchmark benchmark = setUp("registry", 10);
        try {
            String looked = benchmark.lookups[0];
            String registered = ((RegistryRouteTable) benchmark.table)
                    .registry()
                    .service(looked)
                    .name();
            assertEquals(registered, looked);
            assertNotSame(registered, looked, "an identical key would skip equals() in the map");
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void churnWriteIsARealChangeVisibleToReaders() {
        RoutingLookupBenchmark benchmark = setUp("registry", 10);
        try {
            var registry = ((RegistryRouteTable) benchmark.table).registry();
            long before = registry.index();
            benchmark.churnWrite(new RoutingLookupBenchmark.Writer());
            assertTrue(registry.index() > before, "re-registration was a no-op: index stayed " + before);
            assertEquals(10, registry.instanceCount(), "re-registration added an instance");
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void teardownDeletesTheJournalDirectory() {
        RoutingLookupBenchmark benchmark = setUp("registry", 10);
        Path dataDir = ((RegistryRouteTable) benchmark.table).dataDir();
        assertTrue(Files.isDirectory(dataDir), "journal directory missing during the run");
        benchmark.tearDown();
        assertFalse(Files.exists(dataDir), "journal directory left behind: " + dataDir);
    }

    @Test
    void unknownImplementationIsRefusedBeforeAnythingIsCreated() {
        RoutingLookupBenchmark benchmark = new RoutingLookupBenchmark();
        benchmark.impl = "skip-list";
        benchmark.instances = 10;
        benchmark.order = "shuffled";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, benchmark::setUp);
        assertTrue(e.getMessage().contains("impl=skip-list"), e.getMessage());
        assertNull(benchmark.table, "a table was created for a refused setup");
    }

    @Test
    void spreadStaysInRange() {
        for (int count = 1; count <= 64; count++) {
            for (int seq = -1_000; seq < 1_000; seq++) {
                int at = RouteTable.spread(seq, count);
                assertTrue(at >= 0 && at < count, "spread(" + seq + ", " + count + ")=" + at);
            }
        }
    }
}
