package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** Checks the follow benchmark's state: every measured call sees a new snapshot, and each mode does what it names. */
class ProxyFollowBenchmarkTest {

    private static ProxyFollowBenchmark setUp(String impl, int instances) throws Exception {
        ProxyFollowBenchmark benchmark = new ProxyFollowBenchmark();
        benchmark.impl = impl;
        benchmark.instances = instances;
        benchmark.setUp();
        return benchmark;
    }

    @Test
    void rebuildBuildsTheTableOfEveryNewSnapshotOnTheRequestPath() throws Exception {
        ProxyFollowBenchmark benchmark = setUp("rebuild", 1_000);
        try {
            RouteRuntime.Table before = benchmark.firstRequestAfterAChange();
            benchmark.change();
            RouteRuntime.Table after = benchmark.firstRequestAfterAChange();
            assertNotSame(before.snapshot, after.snapshot, "the call saw a new snapshot");
            assertSame(after.snapshot, after.builtFrom);
            assertEquals(1_000, after.pools[0].size());
        } finally {
            benchmark.tearDown();
        }
    }

    @Test
    void followKeepsThePoolsOfALargeServiceOnTheRequestPath() throws Exception {
        ProxyFollowBenchmark benchmark = setUp("follow", 1_000);
        try {
            RouteRuntime.Table before = benchmark.firstRequestAfterAChange();
            benchmark.change();
            RouteRuntime.Table after = benchmark.firstRequestAfterAChange();
            assertNotSame(before.snapshot, after.snapshot, "the call saw a new snapshot");
            assertSame(before.pools, after.pools, "no rebuild on the request path");
        } finally {
            benchmark.tearDown();
        }
    }
}
