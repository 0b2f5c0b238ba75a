package io.edgegate.benchmarks;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The routing read path: service name to its routable instances to one instance, for the real
 * {@code registry} and two baselines measured in the same run: {@code cow-map} (the plain JDK
 * lock-free design, a ConcurrentHashMap of copy-on-write arrays) and {@code locked-map} (a
 * ConcurrentHashMap read under a ReentrantReadWriteLock read lock).
 *
 * <ul>
 *   <li>{@link #lookup}: one reader thread, no writes.
 *   <li>{@link #lookupTwoThreads}: two reader threads, no writes: shows whether reads scale or
 *       contend on shared state (the read lock's counter is one cache line every reader writes).
 *   <li>{@code churn} group: one reader and one writer that re-registers one instance (a real
 *       change: new metadata) every {@link #CHURN_PERIOD_NANOS}, paced to the same rate for both
 *       implementations. For the registry each write is durable (journal fsync) before the next.
 *       The reader's figure is the one to compare; the writer's is about the pacing period when
 *       it keeps up.
 * </ul>
 *
 * <p>Instances are spread {@value #INSTANCES_PER_SERVICE} per service, all routable (no checks).
 * Lookups walk a shuffled array of every service name; the names are copies of the registered
 * keys, as a name parsed from a request would be, so the map compares them with {@code equals}
 * and not by identity. The chosen instance depends on a per-thread sequence, so neither the name
 * nor the choice is constant. Fork once per implementation (never {@code -f 0}): a fork that has
 * seen both implementations makes the call site megamorphic.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class RoutingLookupBenchmark {
    static final int INSTANCES_PER_SERVICE = 10;
    /** Instances per registerAll call while filling; the gateway's default limits.max-batch. */
    static final int FILL_BATCH = 1_000;
    /** One re-registration per millisecond in the churn group. */
    static final long CHURN_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** Prime, so stepping by it visits every instance before repeating, across services. */
    private static final int CHURN_STRIDE = 7_919;

    /** Total instances registered. */
    @Param({"10", "1000", "100000"})
    int instances;

    /** Which implementation is measured. */
    @Param({"registry", "cow-map", "locked-map"})
    String impl;

    /**
     * Order of the lookups: {@code shuffled} (default) spreads them over memory like traffic to
     * many services; {@code sequential} walks services in registration order, a control that
     * shows how much of the cost is cache misses (run with {@code -p order=sequential}).
     */
    @Param({"shuffled"})
    String order;

    RouteTable table;
    /** Every service name once, in {@link #order}; equal to but not the same objects as the registered keys. */
    String[] lookups;

    @Setup(Level.Trial)
    public void setUp() {
        // Validate every parameter before the table exists: a failed setup gets no teardown.
        if (instances < INSTANCES_PER_SERVICE || instances % INSTANCES_PER_SERVICE != 0) {
            throw new IllegalArgumentException(
                    "instances must be a positive multiple of " + INSTANCES_PER_SERVICE + ": instances=" + instances);
        }
        if (!order.equals("shuffled") && !order.equals("sequential")) {
            throw new IllegalArgumentException("unknown order: order=" + order + " (shuffled, sequential)");
        }
        if (!impl.equals("registry") && !impl.equals("cow-map") && !impl.equals("locked-map")) {
            throw new IllegalArgumentException(
                    "unknown implementation: impl=" + impl + " (registry, cow-map, locked-map)");
        }
        int services = instances / INSTANCES_PER_SERVICE;
        lookups = new String[services];
        for (int s = 0; s < services; s++) {
            lookups[s] = new String(serviceName(s));
        }
        if (order.equals("shuffled")) {
            shuffle(lookups, new Random(42));
        }
        table = switch (impl) {
            case "registry" -> new RegistryRouteTable();
            case "cow-map" -> new CopyOnWriteMapRouteTable();
            default -> new LockedMapRouteTable();
        };
        try {
            fill(table, instances);
        } catch (RuntimeException e) {
            table.close();
            table = null;
            throw e;
        }
    }

    /** Registers instances 0 to {@code count - 1} in batches, as a node's agents would at start. */
    static void fill(RouteTable table, int count) {
        List<InstanceSpec> batch = new ArrayList<>(FILL_BATCH);
        for (int i = 0; i < count; i++) {
            batch.add(spec(i, 0));
            if (batch.size() == FILL_BATCH) {
                table.register(batch);
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            table.register(batch);
        }
    }

    private static void shuffle(String[] names, Random random) {
        for (int i = names.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            String swap = names[i];
            names[i] = names[j];
            names[j] = swap;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (table != null) {
            table.close();
        }
    }

    static String serviceName(int service) {
        return "svc-" + service;
    }

    /** The {@code i}-th instance; {@code rev} changes its metadata so a re-registration is a real change. */
    static InstanceSpec spec(int i, int rev) {
        int service = i / INSTANCES_PER_SERVICE;
        String name = serviceName(service);
        return new InstanceSpec(
                name,
                name + "-" + (i % INSTANCES_PER_SERVICE),
                "10." + ((i >>> 16) & 0xFF) + "." + ((i >>> 8) & 0xFF) + "." + (i & 0xFF),
                8080,
                List.of("version:v1"),
                Map.of("model", "m", "rev", Integer.toString(rev)),
                null,
                1,
                1);
    }

    /** A reader's position: which name comes next and the sequence that picks the instance. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
        int seq;

        @Setup(Level.Trial)
        public void setUp(RoutingLookupBenchmark benchmark) {
            // Readers start at different names so two threads do not walk in lock step.
            next = (int) (Thread.currentThread().threadId() % benchmark.lookups.length);
        }
    }

    /** The churn writer's position and its pacing deadline. */
    @State(Scope.Thread)
    public static class Writer {
        int next;
        int rev;
        long deadlineNanos;

        @Setup(Level.Iteration)
        public void setUp() {
            deadlineNanos = System.nanoTime();
        }
    }

    private Instance route(Cursor cursor) {
        String[] names = lookups;
        int at = cursor.next;
        String name = names[at];
        cursor.next = at + 1 == names.length ? 0 : at + 1;
        return table.pick(name, cursor.seq++);
    }

    @Benchmark
    public Instance lookup(Cursor cursor) {
        return route(cursor);
    }

    @Benchmark
    @Threads(2)
    public Instance lookupTwoThreads(Cursor cursor) {
        return route(cursor);
    }

    @Benchmark
    @Group("churn")
    @GroupThreads(1)
    public Instance churnLookup(Cursor cursor) {
        return route(cursor);
    }

    @Benchmark
    @Group("churn")
    @GroupThreads(1)
    public void churnWrite(Writer writer) {
        int i = writer.next;
        writer.next = (int) ((i + (long) CHURN_STRIDE) % instances);
        if (writer.next < i) {
            writer.rev++;
        }
        table.register(List.of(spec(i, writer.rev + 1)));
        // Paced to a fixed rate; if a write overran its slot, start afresh rather than burst.
        writer.deadlineNanos += CHURN_PERIOD_NANOS;
        long wait = writer.deadlineNanos - System.nanoTime();
        if (wait > 0) {
            LockSupport.parkNanos(wait);
        } else if (wait < -CHURN_PERIOD_NANOS) {
            writer.deadlineNanos = System.nanoTime();
        }
    }
}
