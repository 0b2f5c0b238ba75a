package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the proxy follows the registry's snapshots: upstreams brought up to date in proportion to
 * what changed, small services rebuilt on the request path, large ones off it at a bounded rate,
 * and never a pick of an instance that is gone.
 */
class ProxyTablesTest {
    private static final int LARGE = RouteRuntime.SYNC_REBUILD_MAX_INSTANCES + 488; // 1,000

    @TempDir
    Path dir;

    private Registry registry;
    private ScheduledExecutorService rebuilds;
    private Forwarder forwarder;

    @BeforeEach
    void open() {
        registry = Registry.open(dir, new RegistryOptions(65_536, 4_096, 100_000, 5_000, 64L << 20), new ErrorLog());
        rebuilds = Executors.newSingleThreadScheduledExecutor();
        forwarder = new Forwarder(ProxyOptions.defaults(), new ErrorLog());
    }

    @AfterEach
    void close() {
        rebuilds.shutdownNow();
        forwarder.close();
        registry.close();
    }

    private static InstanceSpec spec(String service, int n, Map<String, String> meta) {
        return new InstanceSpec(
                service,
                service + "-" + n,
                "10.2." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                8080,
                List.of(),
                meta,
                List.of(),
                1,
                1);
    }

    private void fill(String service, int count, Map<String, String> meta) {
        for (int from = 0; from < count; from += 1_000) {
            List<InstanceSpec> batch = new ArrayList<>();
            for (int n = from; n < Math.min(count, from + 1_000); n++) {
                batch.add(spec(service, n, meta));
            }
            registry.await(registry.registerAll(batch));
        }
    }

    private RouteRuntime route(String service, ServiceRuntime runtime) {
        return new RouteRuntime(
                RouteRuntime.implicit(service), "svc:" + service, runtime, ProxyOptions.defaults(), forwarder);
    }

    private ServiceRuntime runtime(String service) {
        return new ServiceRuntime(
                service, ProxyOptions.defaults(), new ConcurrentHashMap<>(), new AtomicLong(), rebuilds);
    }

    /** The ids of every upstream of the table's pools that a pick may still choose. */
    private static Set<String> pickable(RouteRuntime.Table table) {
        Set<String> ids = new HashSet<>();
        for (Upstream u : table.pools[0].upstreams) {
            if (u.live) {
                ids.add(u.id);
            }
        }
        return ids;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void smallServiceIsRebuiltOnTheRequestThatSeesTheChange() {
        fill("small", 10, Map.of());
        RouteRuntime route = route("small", runtime("small"));
        route.table(registry.service("small"));
        registry.await(registry.register(spec("small", 10, Map.of())));
        ServiceSnapshot now = registry.service("small");
        RouteRuntime.Table table = route.table(now);
        assertSame(now, table.builtFrom, "built from the snapshot it answers for");
        assertEquals(11, table.pools[0].size());
    }

    @Test
    void largeServiceSkipsAnInstanceThatLeftOnTheFirstRequestAfterIt() {
        fill("big", LARGE, Map.of());
        RouteRuntime route = route("big", runtime("big"));
        RouteRuntime.Table first = route.table(registry.service("big"));
        registry.await(registry.deregister("big-17"));
        registry.await(registry.maintenance("big-18", true, "upgrade"));

        RouteRuntime.Table table = route.table(registry.service("big"));
        assertSame(first.pools, table.pools, "the pools of a large service are not rebuilt on the request path");
        assertEquals(LARGE - 1, table.registered);
        assertEquals(LARGE - 2, table.routable);
        Set<String> pickable = pickable(table);
        assertFalse(pickable.contains("big-17"), "deregistered");
        assertFalse(pickable.contains("big-18"), "in maintenance");
        assertEquals(LARGE - 2, pickable.size());
        for (int i = 0; i < 3 * LARGE; i++) {
            String id = table.pools[0].pick(Balancer.ROUND_ROBIN, 0, false, null, 0, System.nanoTime()).id;
            assertTrue(!id.equals("big-17") && !id.equals("big-18"), "picked " + id);
        }
    }

    @Test
    void largeServiceTakesANewInstanceWithTheNextRebuildOffThePath() throws Exception {
        fill("big", LARGE, Map.of());
        RouteRuntime route = route("big", runtime("big"));
        route.table(registry.service("big"));
        registry.await(registry.register(spec("big", LARGE, Map.of())));
        ServiceSnapshot now = registry.service("big");
        route.table(now);
        await(() -> route.table(registry.service("big")).builtFrom == now, "the rebuild off the request path");
        RouteRuntime.Table table = route.table(now);
        assertEquals(LARGE + 1, table.pools[0].size());
        assertTrue(pickable(table).contains("big-" + LARGE));
        assertEquals(1, route.offPathRebuilds());
    }

    @Test
    void rebuildsOfALargeServiceUnderConstantChurnAreSpacedByTheInterval() throws Exception {
        fill("big", LARGE, Map.of());
        RouteRuntime route = route("big", runtime("big"));
        route.table(registry.service("big"));
        long start = System.nanoTime();
        for (int n = 0; n < 60; n++) {
            registry.await(registry.register(spec("big", LARGE + n, Map.of())));
            route.table(registry.service("big"));
            Thread.sleep(5);
        }
        ServiceSnapshot last = registry.service("big");
        await(() -> route.table(last).builtFrom == last, "the last rebuild");
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        long rebuilt = route.offPathRebuilds();
        assertTrue(rebuilt >= 1, "rebuilt " + rebuilt);
        assertTrue(
                rebuilt <= elapsedMillis / RouteRuntime.MIN_REBUILD_INTERVAL_MILLIS + 1,
                rebuilt + " rebuilds in " + elapsedMillis + " ms for 60 changes");
        assertEquals(LARGE + 60, route.table(last).pools[0].size());
    }

    @Test
    void followingOneChangeOfALargeServiceAllocatesInProportionToTheChange() {
        fill("big", 20_000, Map.of());
        ServiceRuntime runtime = runtime("big");
        RouteRuntime route = route("big", runtime);
        route.table(registry.service("big"));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long most = 0;
        for (int n = 0; n < 20; n++) {
            registry.await(registry.maintenance("big-" + n, true, "drain"));
            ServiceSnapshot now = registry.service("big");
            long before = threads.getCurrentThreadAllocatedBytes();
            route.table(now);
            most = Math.max(most, threads.getCurrentThreadAllocatedBytes() - before);
        }
        // A rebuild of 20,000 instances allocates megabytes; following one change, a few objects.
        assertTrue(most < 16_384, "allocated " + most + " bytes to follow one change");
    }

    @Test
    void anInstanceThatMovedToAnotherPortIsNotPickedAtItsOldOne() {
        fill("big", LARGE, Map.of());
        RouteRuntime route = route("big", runtime("big"));
        RouteRuntime.Table first = route.table(registry.service("big"));
        Upstream old = null;
        for (Upstream u : first.pools[0].upstreams) {
            if (u.id.equals("big-5")) {
                old = u;
            }
        }
        assertNotNull(old);
        InstanceSpec moved = new InstanceSpec("big", "big-5", "10.9.9.9", 9999, List.of(), Map.of(), List.of(), 1, 1);
        registry.await(registry.register(moved));
        route.table(registry.service("big"));
        assertFalse(old.live, "the upstream of the old endpoint");
    }

    @Test
    void poolNeverPicksAnUpstreamThatIsNoLongerLiveWithAnyBalancer() {
        ServiceRuntime runtime = runtime("p");
        List<Upstream> upstreams = new ArrayList<>();
        List<Instance> instances = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            upstreams.add(new Upstream("p" + i, runtime, "127.0.0.1", 1000 + i));
            instances.add(new Instance(
                    new InstanceSpec("p", "p" + i, "127.0.0.1", 1000 + i, List.of(), Map.of(), List.of(), 1, 1),
                    List.of(),
                    null,
                    1,
                    1));
        }
        upstreams.get(2).live = false;
        for (Balancer balancer :
                List.of(Balancer.ROUND_ROBIN, Balancer.WEIGHTED, Balancer.LEAST_REQUEST, Balancer.CONSISTENT_HASH)) {
            Pool pool = Pool.build(upstreams, instances, balancer, new AtomicLong(), null);
            for (int k = 0; k < 400; k++) {
                Upstream u = pool.pick(balancer, Pool.hash("key-" + k), true, null, 0, System.nanoTime());
                assertNotSame(upstreams.get(2), u, balancer + " picked the upstream that is not live");
            }
        }
        // Every live one ejected: panic mode picks among them, never the one that is gone.
        long now = System.nanoTime();
        for (Upstream u : upstreams) {
            u.ejectedUntilNanos = now + 60_000_000_000L;
        }
        Pool pool = Pool.build(upstreams, instances, Balancer.ROUND_ROBIN, new AtomicLong(), null);
        for (int k = 0; k < 40; k++) {
            assertNotSame(upstreams.get(2), pool.pick(Balancer.ROUND_ROBIN, 0, false, null, 0, now));
        }
        for (Upstream u : upstreams) {
            u.live = false;
        }
        assertNull(pool.pick(Balancer.ROUND_ROBIN, 0, false, null, 0, now), "nothing live: nothing picked");
    }

    @Test
    void modelDirectoryOfALargeServiceSkipsAnInstanceThatLeftAtOnce() throws Exception {
        fill("llm", LARGE, Map.of("model", "m1"));
        ConcurrentHashMap<String, ServiceRuntime> runtimes = new ConcurrentHashMap<>();
        ModelDirectory models = new ModelDirectory(registry, s -> runtimes.computeIfAbsent(s, this::runtime), rebuilds);
        ModelDirectory.Table first = models.table();
        assertEquals(LARGE, first.pools().get("m1").size());
        registry.await(registry.deregister("llm-3"));
        ModelDirectory.Table table = models.table();
        assertSame(first.pools(), table.pools(), "kept on the request path");
        for (Upstream u : table.pools().get("m1").upstreams) {
            assertEquals(!u.id.equals("llm-3"), u.live, u.id);
        }
        await(() -> models.table().pools().get("m1").size() == LARGE - 1, "the rebuild off the request path");
    }
}
