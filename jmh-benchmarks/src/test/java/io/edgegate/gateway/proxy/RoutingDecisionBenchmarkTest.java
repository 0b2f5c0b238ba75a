package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks the benchmark's state: each implementation takes the route it claims and picks valid instances. */
class RoutingDecisionBenchmarkTest {

    private static RoutingDecisionBenchmark setUp(String impl) {
        RoutingDecisionBenchmark benchmark = new RoutingDecisionBenchmark();
        benchmark.impl = impl;
        benchmark.setUp();
        return benchmark;
    }

    /** Picks per instance id over {@code n} decisions through the benchmark method. */
    private static Map<String, Integer> decide(RoutingDecisionBenchmark benchmark, int n) {
        RoutingDecisionBenchmark.Cursor cursor = new RoutingDecisionBenchmark.Cursor();
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Object id = benchmark.decide(cursor);
            assertNotNull(id, benchmark.impl + ": no instance for decision " + i);
            counts.merge((String) id, 1, Integer::sum);
        }
        return counts;
    }

    private static Set<String> allIds() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < RoutingDecisionBenchmark.INSTANCES; i++) {
            ids.add(RoutingDecisionBenchmark.SERVICE + "-" + i);
        }
        return ids;
    }

    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "weighted", "least-request", "consistent-hash", "map-random"})
    void everyDecisionPicksARegisteredInstanceAndSpreads(String impl) {
        RoutingDecisionBenchmark benchmark = setUp(impl);
        try {
            Map<String, Integer> counts = decide(benchmark, 4_096);
            assertTrue(allIds().containsAll(counts.keySet()), impl + ": picked unknown ids " + counts.keySet());
            assertTrue(counts.size() >= 4, impl + ": picks concentrate on " + counts);
        } finally {
            benchmark.tearDown();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "weighted", "least-request", "consistent-hash", "canary"})
    void requestsMatchTheRouteOfTheirImplementation(String impl) {
        Map<String, String> expected = Map.of(
                "round-robin", "rr",
                "weighted", "weighted",
                "least-request", "lr",
                "consistent-hash", "session",
                "canary", "canary");
        RoutingDecisionBenchmark benchmark = setUp(impl);
        try {
            RoutingDecisionBenchmark.ProxyDecision decision =
                    (RoutingDecisionBenchmark.ProxyDecision) benchmark.decision;
            for (RoutingDecisionBenchmark.Request request : benchmark.requests) {
                assertEquals(expected.get(impl), decision.route(request).name, impl + ": route of " + request.path());
            }
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void roundRobinVisitsEveryInstanceEqually() {
        RoutingDecisionBenchmark benchmark = setUp("round-robin");
        try {
            Map<String, Integer> counts = decide(benchmark, 800);
            assertEquals(allIds(), counts.keySet());
            counts.values().forEach(c -> assertEquals(100, c, "round robin: " + counts));
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void weightedFollowsRegistrationWeights() {
        // Weights 1 + i % 4: instances 3 and 7 (weight 4) get four times instances 0 and 4 (weight 1).
        RoutingDecisionBenchmark benchmark = setUp("weighted");
        try {
            Map<String, Integer> counts = decide(benchmark, 2_000);
            assertEquals(4.0, counts.get("vision-3") / (double) counts.get("vision-0"), 0.05, "weighted: " + counts);
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void consistentHashKeepsEachSessionOnOneInstance() {
        RoutingDecisionBenchmark benchmark = setUp("consistent-hash");
        try {
            RoutingDecisionBenchmark.ProxyDecision decision =
                    (RoutingDecisionBenchmark.ProxyDecision) benchmark.decision;
            for (RoutingDecisionBenchmark.Request request : benchmark.requests) {
                String first = decision.pick(request).id;
                for (int k = 0; k < 5; k++) {
                    assertEquals(first, decision.pick(request).id, "session moved: " + request.headers());
                }
            }
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void canarySendsAboutOneTenthToVersionTwo() {
        RoutingDecisionBenchmark benchmark = setUp("canary");
        try {
            Map<String, Integer> counts = decide(benchmark, 20_000);
            int canary = counts.getOrDefault("vision-6", 0) + counts.getOrDefault("vision-7", 0);
            assertEquals(0.10, canary / 20_000.0, 0.02, "canary share: " + counts);
            assertEquals(allIds(), counts.keySet(), "both subsets used, every instance: " + counts);
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void tearDownDeletesTheJournal() {
        RoutingDecisionBenchmark benchmark = setUp("round-robin");
        Path dir = benchmark.dataDir;
        assertTrue(Files.isDirectory(dir));
        benchmark.tearDown();
        assertFalse(Files.exists(dir), "journal directory left: " + dir);
    }
}
