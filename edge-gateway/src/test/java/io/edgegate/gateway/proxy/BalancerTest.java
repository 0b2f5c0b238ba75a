package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.helidon.http.HeaderNames;
import io.helidon.http.WritableHeaders;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The balancers' tables and picks, without a network. */
class BalancerTest {
    private final ServiceRuntime service =
            new ServiceRuntime("svc", ProxyOptions.defaults(), new ConcurrentHashMap<>(), new AtomicLong());

    private Pool pool(Balancer balancer, int... weights) {
        List<Upstream> upstreams = new ArrayList<>();
        List<Instance> instances = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            upstreams.add(new Upstream("i" + i, service, "127.0.0.1", 1000 + i));
            instances.add(new Instance(
                    new InstanceSpec(
                            "svc", "i" + i, "127.0.0.1", 1000 + i, List.of(), Map.of(), List.of(), weights[i], 1),
                    List.of(),
                    null,
                    1,
                    1));
        }
        return Pool.build(upstreams, instances, balancer, new AtomicLong(), null);
    }

    private static Map<String, Integer> count(Pool pool, Balancer balancer, int picks) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            seen.merge(pool.pick(balancer, 0, false, null, 0, System.nanoTime()).id, 1, Integer::sum);
        }
        return seen;
    }

    @Test
    void smoothWeightedSequenceSpreadsTurnsEvenly() {
        // nginx's example: weights 5, 1, 1 give a a b a c a a, not a a a a a b c
        assertArrayEquals(new int[] {0, 0, 1, 0, 2, 0, 0}, Pool.sequence(new int[] {5, 1, 1}));
        assertArrayEquals(new int[] {0, 1}, Pool.sequence(new int[] {3, 3}), "reduced by the gcd");
        assertArrayEquals(new int[] {0, 1}, Pool.sequence(new int[] {0, 0}), "all zero: equal turns");
    }

    @Test
    void weightedSequenceOfHugeWeightsStaysBoundedAndProportional() {
        int[] sequence = Pool.sequence(new int[] {1_000_000, 250_000, 1});
        assertTrue(sequence.length <= Pool.MAX_SEQUENCE + 3, "length " + sequence.length);
        int[] counts = new int[3];
        for (int i : sequence) {
            counts[i]++;
        }
        assertEquals(4.0, counts[0] / (double) counts[1], 0.01);
        assertEquals(1, counts[2], "a positive weight keeps a turn");
    }

    @Test
    void weightedPicksFollowWeights() {
        Pool pool = pool(Balancer.WEIGHTED, 5, 1, 2);
        assertEquals(Map.of("i0", 500, "i1", 100, "i2", 200), count(pool, Balancer.WEIGHTED, 800));
    }

    @Test
    void roundRobinTakesEachInTurnAndSkipsEjected() {
        Pool pool = pool(Balancer.ROUND_ROBIN, 1, 1, 1);
        assertEquals(Map.of("i0", 3, "i1", 3, "i2", 3), count(pool, Balancer.ROUND_ROBIN, 9));

        pool.upstreams[1].ejectedUntilNanos = System.nanoTime() + 60_000_000_000L;
        Map<String, Integer> seen = count(pool, Balancer.ROUND_ROBIN, 10);
        assertNull(seen.get("i1"));
    }

    @Test
    void everyInstanceEjectedStillPicksOne() {
        Pool pool = pool(Balancer.LEAST_REQUEST, 1, 1);
        for (Upstream u : pool.upstreams) {
            u.ejectedUntilNanos = System.nanoTime() + 60_000_000_000L;
        }
        assertNotNull(pool.pick(Balancer.LEAST_REQUEST, 0, false, null, 0, System.nanoTime()), "panic mode");
    }

    @Test
    void pickSkipsInstancesAlreadyTried() {
        Pool pool = pool(Balancer.ROUND_ROBIN, 1, 1);
        Upstream[] tried = {pool.upstreams[0], pool.upstreams[1]};
        for (int i = 0; i < 4; i++) {
            assertSame(pool.upstreams[1], pool.pick(Balancer.ROUND_ROBIN, 0, false, tried, 1, System.nanoTime()));
        }
        assertNull(pool.pick(Balancer.ROUND_ROBIN, 0, false, tried, 2, System.nanoTime()));
    }

    @Test
    void leastRequestPrefersTheLessLoaded() {
        Pool pool = pool(Balancer.LEAST_REQUEST, 1, 1, 1, 1);
        pool.upstreams[0].inFlight.set(10);
        pool.upstreams[1].inFlight.set(10);
        pool.upstreams[2].inFlight.set(10);
        Map<String, Integer> seen = count(pool, Balancer.LEAST_REQUEST, 4_000);
        // i3 wins every draw it is in: 3 of the 6 pairs, so half the picks; the others share the rest
        assertEquals(0.5, seen.get("i3") / 4_000.0, 0.05);
    }

    @Test
    void consistentHashMovesOnlyTheKeysOfARemovedInstance() {
        Pool four = pool(Balancer.CONSISTENT_HASH, 1, 1, 1, 1);
        List<Upstream> three = List.of(four.upstreams[0], four.upstreams[1], four.upstreams[3]);
        List<Instance> instances = new ArrayList<>();
        for (Upstream u : three) {
            instances.add(new Instance(
                    new InstanceSpec("svc", u.id, "127.0.0.1", u.port, List.of(), Map.of(), List.of(), 1, 1),
                    List.of(),
                    null,
                    1,
                    1));
        }
        Pool after = Pool.build(three, instances, Balancer.CONSISTENT_HASH, new AtomicLong(), null);
        int moved = 0;
        int keys = 2_000;
        Map<String, Integer> spread = new HashMap<>();
        for (int k = 0; k < keys; k++) {
            long hash = Pool.hash("session-" + k);
            Upstream before = four.pick(Balancer.CONSISTENT_HASH, hash, true, null, 0, System.nanoTime());
            Upstream now = after.pick(Balancer.CONSISTENT_HASH, hash, true, null, 0, System.nanoTime());
            spread.merge(before.id, 1, Integer::sum);
            if (!before.id.equals("i2")) {
                assertEquals(before.id, now.id, "key " + k + " of a remaining instance moved");
            } else {
                moved++;
            }
        }
        assertTrue(moved > keys / 8 && moved < keys / 2, "about a quarter moved: " + moved);
        assertEquals(4, spread.size());
    }

    /** Allocation of 6 rounds of 100000 decisions over {@code requests}: the fewest bytes of a round. */
    private static long fewestAllocated(
            RouteTable table, Registry registry, WritableHeaders<?> headers, String[][] requests) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long picked = 0;
        long fewest = Long.MAX_VALUE;
        for (int round = 0; round < 6; round++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100_000; i++) {
                String[] r = requests[i & 3];
                RouteRuntime route = table.match(r[0], r[1], headers);
                ServiceSnapshot snapshot = registry.service(route.service.name);
                RouteRuntime.Table pools = route.table(snapshot);
                boolean hashed = route.hashHeader != null && headers.contains(route.hashHeader);
                long hash = hashed ? Pool.hash(headers.get(route.hashHeader).get()) : 0;
                int subset = pools.choose(hashed, hash);
                Balancer balancer = route.balancer == Balancer.DEFAULT ? Balancer.ROUND_ROBIN : route.balancer;
                Upstream u = pools.pools[subset].pick(balancer, hash, hashed, null, 0, System.nanoTime());
                picked += u.port;
            }
            fewest = Math.min(fewest, threads.getCurrentThreadAllocatedBytes() - before);
        }
        assertTrue(picked > 0);
        return fewest;
    }

    /**
     * The routing decision, route match to balancer pick, allocates nothing once its tables are
     * built: measured with the JVM's per-thread allocation counter.
     */
    @Test
    void routingDecisionAllocatesNothing(@TempDir Path dir) throws Exception {
        ErrorLog errors = new ErrorLog();
        try (Registry registry = Registry.open(dir, new RegistryOptions(1_024, 256, 1_000, 5_000, 64L << 20), errors)) {
            for (int i = 0; i < 6; i++) {
                registry.await(registry.register(new InstanceSpec(
                        "app",
                        "app-" + i,
                        "127.0.0.1",
                        9000 + i,
                        List.of(i < 3 ? "version:v1" : "version:v2"),
                        Map.of("model", "m" + (i % 2)),
                        List.of(),
                        1 + i,
                        1)));
            }
            Forwarder forwarder = new Forwarder(ProxyOptions.defaults(), errors);
            ServiceRuntime runtime =
                    new ServiceRuntime("app", ProxyOptions.defaults(), new ConcurrentHashMap<>(), new AtomicLong());
            List<RouteRuntime> routes = new ArrayList<>();
            for (String json : List.of(
                    "{\"name\":\"canary\",\"match\":{\"host\":\"app.local\",\"path-prefix\":\"/app\"},\"service\":\"app\","
                            + "\"policy\":{\"subsets\":[{\"weight\":80,\"tags\":[\"version:v1\"]},"
                            + "{\"weight\":20,\"tags\":[\"version:v2\"]}],\"balancer\":\"weighted\"}}",
                    "{\"name\":\"hash\",\"match\":{\"path-prefix\":\"/kv\",\"headers\":{\"x-tenant\":\"a\"}},"
                            + "\"service\":\"app\",\"policy\":{\"balancer\":\"consistent-hash\",\"hash-header\":\"x-session\"}}",
                    "{\"name\":\"lr\",\"match\":{\"path-prefix\":\"/lr\"},\"service\":\"app\","
                            + "\"policy\":{\"balancer\":\"least-request\"}}",
                    "{\"name\":\"other\",\"match\":{\"host\":\"*.example\",\"path-prefix\":\"/\"},\"service\":\"app\"}")) {
                RouteSpec spec = ProxyRoutingTest.route(json);
                routes.add(new RouteRuntime(spec, spec.name(), runtime, ProxyOptions.defaults(), forwarder));
            }
            RouteTable table = new RouteTable(routes);
            WritableHeaders<?> headers = WritableHeaders.create();
            headers.set(HeaderNames.create("X-Tenant"), "a");
            headers.set(HeaderNames.create("X-Session"), "user-42");
            // Routes matched on host and path only: nothing at all.
            long fewest = fewestAllocated(table, registry, headers, new String[][] {
                {"app.local:8080", "/app/orders/1"}, {"gw:8080", "/lr/x"}, {"a.example", "/z"}, {"gw:8080", "/lr"}
            });
            assertTrue(fewest < 1_024, "allocated " + fewest + " bytes in 100000 decisions");
            // A header condition and a hash header: two lookups of non-standard header names, each
            // of which costs Helidon's HeaderNameImpl.hashCode() an Object[1] (Objects.hash) unless
            // the JIT scalar-replaces it; nothing of the proxy's own.
            long withHeaders = fewestAllocated(table, registry, headers, new String[][] {
                {"gw:8080", "/kv/key"}, {"gw:8080", "/kv/key"}, {"gw:8080", "/kv/key"}, {"gw:8080", "/kv/key"}
            });
            assertTrue(
                    withHeaders <= 100_000L * 2 * 24 + 1_024,
                    "allocated " + withHeaders + " bytes in 100000 decisions");
            forwarder.close();
        }
    }
}
