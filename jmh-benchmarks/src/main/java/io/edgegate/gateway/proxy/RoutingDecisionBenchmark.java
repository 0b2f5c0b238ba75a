package io.edgegate.gateway.proxy;

import io.edgegate.gateway.proxy.RouteSpec.ModelRouting;
import io.edgegate.gateway.proxy.RouteSpec.Policy;
import io.edgegate.gateway.proxy.RouteSpec.Subset;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.WritableHeaders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The proxy's routing decision for one request, as {@code ProxyService.forward} makes it before
 * any I/O: route match ({@link RouteTable#match}: host, path prefix, headers) → the registry's
 * current snapshot of the service → the route's pool table for it ({@link RouteRuntime#table}) →
 * the key hash of a consistent-hash route → the subset draw ({@link RouteRuntime.Table#choose}) →
 * the balancer's pick ({@link Pool#pick}).
 *
 * <p>In package {@code io.edgegate.gateway.proxy} (the proxy's classes are package-private; the
 * same package in this module works on the class path). The state is the real one: a
 * {@link Registry} with its journal in a fresh temporary directory, the proxy's
 * {@link ServiceRuntime}, one {@link RouteRuntime} per route, a {@link RouteTable} of twelve
 * routes (four of them with exact hosts, two with wildcard hosts, one with a header condition,
 * checked before the route taken, as the table sorts them) and prebuilt request headers, as the
 * web server hands them over.
 *
 * <p>{@code impl}: {@code round-robin}, {@code weighted} (smooth weighted round robin over
 * registration weights 1-4), {@code least-request} (power of two choices over fixed in-flight
 * counts), {@code consistent-hash} (a {@code x-session-id} header, 64 distinct keys), {@code
 * canary} (host + prefix + subsets 90/10 by tag, round robin inside), and the baseline {@code
 * map-random}: a {@code HashMap<String, List<Instance>>} lookup by service name and a
 * {@link ThreadLocalRandom} index. One implementation per fork, so the call sites stay as they
 * would be in a gateway running one kind of route; {@code -prof gc} gives the bytes per decision.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class RoutingDecisionBenchmark {
    static final String SERVICE = "vision";
    /** Instances of the service: 6 tagged version:v1, 2 tagged version:v2. */
    static final int INSTANCES = 8;
    /** Distinct requests walked in turn (distinct paths and session keys). */
    static final int REQUESTS = 64;

    static final HeaderName SESSION = HeaderNames.create("x-session-id");
    static final HeaderName TENANT = HeaderNames.create("x-tenant");

    @Param({"round-robin", "weighted", "least-request", "consistent-hash", "canary", "map-random"})
    String impl;

    Path dataDir;
    Registry registry;
    Forwarder forwarder;
    RouteTable routes;
    Decision decision;
    /** The requests, walked in turn. */
    Request[] requests;

    /** What the web server hands the router: authority, raw path, parsed headers. */
    record Request(String authority, String path, Headers headers, String serviceName) {}

    /** One way to decide; one implementation per fork. */
    interface Decision {
        /** The instance id chosen for {@code request} (an id, so the baseline and the proxy return alike). */
        Object decide(Request request);
    }

    @Setup(Level.Trial)
    public void setUp() {
        String prefix =
                switch (impl) {
                    case "round-robin" -> "/rr";
                    case "weighted" -> "/weighted";
                    case "least-request" -> "/lr";
                    case "consistent-hash" -> "/session";
                    case "canary" -> "/app";
                    case "map-random" -> "/svc/" + SERVICE;
                    default ->
                        throw new IllegalArgumentException("unknown implementation: impl=" + impl
                                + " (round-robin, weighted, least-request, consistent-hash, canary, map-random)");
                };
        try {
            dataDir = Files.createTempDirectory("edgegate-bench-proxy-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the journal directory", e);
        }
        registry = Registry.open(dataDir, RegistryOptions.defaults(), new ErrorLog());
        List<InstanceSpec> specs = new ArrayList<>();
        for (int i = 0; i < INSTANCES; i++) {
            String version = i < 6 ? "version:v1" : "version:v2";
            specs.add(new InstanceSpec(
                    SERVICE,
                    SERVICE + "-" + i,
                    "10.0.0." + (i + 1),
                    8000,
                    List.of(version, "line:3"),
                    Map.of("zone", "hall-" + (i % 2)),
                    List.of(),
                    1 + i % 4,
                    1));
        }
        registry.await(registry.registerAll(specs));

        ProxyOptions options = ProxyOptions.defaults();
        forwarder = new Forwarder(options, new ErrorLog());
        ServiceRuntime service = new ServiceRuntime(SERVICE, options, new ConcurrentHashMap<>(), new AtomicLong());
        routes = new RouteTable(routeRuntimes(service, options));

        requests = new Request[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            WritableHeaders<?> h = WritableHeaders.create();
            h.set(HeaderValues.create(HeaderNames.ACCEPT, "application/json"));
            h.set(HeaderValues.create(HeaderNames.USER_AGENT, "line-3-camera/1.4"));
            h.set(HeaderValues.create(SESSION, "session-" + Integer.toHexString(0x5f3a00 + i * 7919)));
            String authority = impl.equals("canary") ? "api.factory.local:8080" : "gw.factory.local:8080";
            requests[i] = new Request(authority, prefix + "/frames/" + i, h, new String(SERVICE.toCharArray()));
        }

        if (impl.equals("map-random")) {
            Map<String, List<Instance>> map = new HashMap<>();
            ServiceSnapshot snapshot = registry.service(SERVICE);
            List<Instance> routable = new ArrayList<>();
            for (int i = 0; i < snapshot.routableCount(); i++) {
                routable.add(snapshot.routable(i));
            }
            map.put(SERVICE, routable);
            decision = new MapRandom(map);
        } else {
            decision = new ProxyDecision(routes, registry);
            // Build the tables once, outside the measurement, and give least-request unequal loads.
            RouteRuntime route = routes.match(requests[0].authority, requests[0].path, requests[0].headers);
            RouteRuntime.Table table = route.table(registry.service(SERVICE));
            for (Pool pool : table.pools) {
                for (int i = 0; i < pool.upstreams.length; i++) {
                    pool.upstreams[i].inFlight.set(i % 3);
                }
            }
        }
    }

    /** The route table: the measured route plus routes that the matcher checks before it. */
    private List<RouteRuntime> routeRuntimes(ServiceRuntime service, ProxyOptions options) {
        List<RouteSpec> specs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            specs.add(spec("host-" + i, "plant-" + i + ".factory.local", "/", Map.of(), policy(Balancer.ROUND_ROBIN)));
        }
        specs.add(spec("wild-a", "*.lab.local", "/", Map.of(), policy(Balancer.ROUND_ROBIN)));
        specs.add(spec("wild-b", "*.test.local", "/api", Map.of(), policy(Balancer.ROUND_ROBIN)));
        specs.add(spec("tenant-a", null, "/rr", Map.of("x-tenant", "a"), policy(Balancer.ROUND_ROBIN)));
        specs.add(spec("rr", null, "/rr", Map.of(), policy(Balancer.ROUND_ROBIN)));
        specs.add(spec("weighted", null, "/weighted", Map.of(), policy(Balancer.WEIGHTED)));
        specs.add(spec("lr", null, "/lr", Map.of(), policy(Balancer.LEAST_REQUEST)));
        specs.add(spec(
                "session",
                null,
                "/session",
                Map.of(),
                new Policy(
                        List.of(),
                        Map.of(),
                        List.of(),
                        Balancer.CONSISTENT_HASH,
                        "x-session-id",
                        ModelRouting.OFF,
                        null,
                        null,
                        null,
                        null,
                        false,
                        null,
                        null)));
        specs.add(spec(
                "canary",
                "api.factory.local",
                "/app",
                Map.of(),
                new Policy(
                        List.of("line:3"),
                        Map.of(),
                        List.of(
                                new Subset("stable", 90, List.of("version:v1"), Map.of()),
                                new Subset("canary", 10, List.of("version:v2"), Map.of())),
                        Balancer.ROUND_ROBIN,
                        null,
                        ModelRouting.OFF,
                        null,
                        null,
                        null,
                        null,
                        false,
                        null,
                        null)));
        List<RouteRuntime> runtimes = new ArrayList<>();
        for (RouteSpec spec : specs) {
            runtimes.add(new RouteRuntime(spec, spec.name(), service, options, forwarder));
        }
        return runtimes;
    }

    private static RouteSpec spec(String name, String host, String prefix, Map<String, String> headers, Policy p) {
        return new RouteSpec(name, host, prefix, headers, SERVICE, true, p, RouteSpec.SOURCE_CONFIG);
    }

    private static Policy policy(Balancer balancer) {
        return new Policy(
                List.of(),
                Map.of(),
                List.of(),
                balancer,
                null,
                ModelRouting.OFF,
                null,
                null,
                null,
                null,
                false,
                null,
                null);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (forwarder != null) {
            forwarder.close();
        }
        if (registry != null) {
            registry.close();
        }
        if (dataDir != null && Files.exists(dataDir)) {
            try (Stream<Path> paths = Files.walk(dataDir)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete the journal directory: dir=" + dataDir, e);
            }
        }
    }

    /** The walk over the requests, per thread. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Benchmark
    public Object decide(Cursor cursor) {
        int i = cursor.next;
        cursor.next = (i + 1) & (REQUESTS - 1);
        return decision.decide(requests[i]);
    }

    /** The proxy's decision, step for step as in {@code ProxyService.forward}. */
    static final class ProxyDecision implements Decision {
        private final RouteTable routes;
        private final Registry registry;

        ProxyDecision(RouteTable routes, Registry registry) {
            this.routes = routes;
            this.registry = registry;
        }

        @Override
        public Object decide(Request request) {
            return pick(request).id;
        }

        Upstream pick(Request request) {
            Headers headers = request.headers();
            RouteRuntime route = routes.match(request.authority(), request.path(), headers);
            RouteRuntime.Table table = route.table(registry.service(route.service.name));
            long hash = 0;
            boolean hashed = false;
            if (route.hashHeader != null && headers.contains(route.hashHeader)) {
                hash = Pool.hash(headers.get(route.hashHeader).get());
                hashed = true;
            }
            int subset = table.choose(hashed, hash);
            if (subset < 0) {
                return null;
            }
            Balancer balancer = route.balancer == Balancer.DEFAULT ? Balancer.ROUND_ROBIN : route.balancer;
            return table.pools[subset].pick(balancer, hash, hashed, null, 0, System.nanoTime());
        }

        /** The route a request matches (for the test). */
        RouteRuntime route(Request request) {
            return routes.match(request.authority(), request.path(), request.headers());
        }
    }

    /** The baseline: the plain JDK structures, a map of lists and a random index. */
    static final class MapRandom implements Decision {
        private final Map<String, List<Instance>> services;

        MapRandom(Map<String, List<Instance>> services) {
            this.services = services;
        }

        @Override
        public Object decide(Request request) {
            List<Instance> list = services.get(request.serviceName());
            return list.get(ThreadLocalRandom.current().nextInt(list.size())).id();
        }
    }
}
