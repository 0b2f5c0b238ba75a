package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 * What the first request after a registry change pays on the request path, in a service of
 * {@link #instances}: {@link RouteRuntime#table} with the new snapshot. Before each call a real
 * change is made (a re-registration with new metadata, journaled; excluded from the time), so
 * every call sees a snapshot it has not seen.
 *
 * <p>{@code follow}: the proxy as it is, with its rebuild thread: the upstreams follow the
 * snapshot's diff, a service above {@link RouteRuntime#SYNC_REBUILD_MAX_INSTANCES} keeps its
 * pools and is rebuilt off the request path (that thread runs meanwhile, at its bounded rate).
 * {@code rebuild}: the baseline, every table rebuilt on the request path that sees a new
 * snapshot (no rebuild thread), which is what the proxy did for every service before.
 *
 * <p>The journal lives in {@code /dev/shm} when there is one, so that the untimed write before
 * each call does not make the run last for the disk's forces.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class ProxyFollowBenchmark {
    static final String SERVICE = "app";

    @Param({"10", "1000", "100000"})
    int instances;

    @Param({"follow", "rebuild"})
    String impl;

    private Path dataDir;
    private Registry registry;
    private Forwarder forwarder;
    private ScheduledExecutorService rebuilds;
    RouteRuntime route;
    private int next;
    private int rev;

    static InstanceSpec spec(int n, int rev) {
        return new InstanceSpec(
                SERVICE,
                SERVICE + "-" + n,
                "10." + (n >>> 16 & 0xFF) + "." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                8080,
                List.of("version:v1"),
                Map.of("model", "m", "rev", Integer.toString(rev)),
                List.of(),
                1,
                1);
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        if (!impl.equals("follow") && !impl.equals("rebuild")) {
            throw new IllegalArgumentException("unknown implementation: impl=" + impl + " (follow, rebuild)");
        }
        Path shm = Path.of("/dev/shm");
        dataDir = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "edgegate-bench-follow-")
                : Files.createTempDirectory("edgegate-bench-follow-");
        registry =
                Registry.open(dataDir, new RegistryOptions(65_536, 4_096, 1_000_000, 30_000, 1L << 30), new ErrorLog());
        for (int from = 0; from < instances; from += 1_000) {
            List<InstanceSpec> batch = new ArrayList<>();
            for (int n = from; n < Math.min(instances, from + 1_000); n++) {
                batch.add(spec(n, 0));
            }
            registry.await(registry.registerAll(batch));
        }
        ProxyOptions options = ProxyOptions.defaults();
        forwarder = new Forwarder(options, new ErrorLog());
        rebuilds = impl.equals("follow") ? Executors.newSingleThreadScheduledExecutor() : null;
        ServiceRuntime service =
                new ServiceRuntime(SERVICE, options, new ConcurrentHashMap<>(), new AtomicLong(), rebuilds);
        route = new RouteRuntime(RouteRuntime.implicit(SERVICE), "svc:" + SERVICE, service, options, forwarder);
        route.table(registry.service(SERVICE));
    }

    /** One real change, journaled and published, before each measured call. */
    @Setup(Level.Invocation)
    public void change() {
        registry.await(registry.register(spec(next, ++rev)));
        next = next + 1 == instances ? 0 : next + 1;
    }

    @Benchmark
    public RouteRuntime.Table firstRequestAfterAChange() {
        return route.table(registry.service(SERVICE));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (rebuilds != null) {
            rebuilds.shutdownNow();
        }
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
}
