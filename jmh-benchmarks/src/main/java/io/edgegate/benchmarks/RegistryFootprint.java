package io.edgegate.benchmarks;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Heap bytes per registered instance: the live heap after a full collection with the registry
 * empty, then with {@code instances} registered (no checks), spread over {@code services}
 * services, divided by the instances. Everything the registry keeps counts: the instances and
 * their strings, tags and metadata, both id maps, the per-service members and tries, the
 * published snapshots and the service table. The journal is on disk ({@code /dev/shm} when there
 * is one) and not counted.
 *
 * <pre>
 * java -XX:+UseSerialGC -cp jmh-benchmarks/target/benchmarks.jar io.edgegate.benchmarks.RegistryFootprint 100000 1
 * </pre>
 *
 * Prints {@code RESULT instances=N services=S bytes_per_instance=B heap_mib=M}. The instances look
 * like those of the load scripts: id {@code <service>-<n>}, an IPv4 address, port 8080, one tag
 * ({@code version:v1}) and one metadata entry ({@code model: m}).
 */
public final class RegistryFootprint {
    private RegistryFootprint() {}

    public static void main(String[] args) throws IOException {
        int instances = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int services = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        Path shm = Path.of("/dev/shm");
        Path dir = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "edgegate-footprint-")
                : Files.createTempDirectory("edgegate-footprint-");
        try {
            Registry registry = Registry.open(
                    dir, new RegistryOptions(65_536, 4_096, instances + 1, 60_000, 1L << 34), new ErrorLog());
            long empty = liveHeap();
            for (int from = 0; from < instances; from += 1_000) {
                List<InstanceSpec> batch = new ArrayList<>();
                for (int n = from; n < Math.min(instances, from + 1_000); n++) {
                    String service = "svc-" + n % services;
                    batch.add(new InstanceSpec(
                            service,
                            service + "-" + n,
                            "10." + (n >>> 16 & 0xFF) + "." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                            8080,
                            List.of("version:v1"),
                            Map.of("model", "m"),
                            List.of(),
                            1,
                            1));
                }
                registry.await(registry.registerAll(batch));
            }
            long full = liveHeap();
            if (registry.instanceCount() != instances) {
                throw new IllegalStateException("registered " + registry.instanceCount() + " of " + instances);
            }
            System.out.printf(
                    Locale.ROOT,
                    "RESULT instances=%d services=%d bytes_per_instance=%.0f heap_mib=%.1f%n",
                    instances,
                    services,
                    (full - empty) / (double) instances,
                    full / 1048576.0);
            Reference.reachabilityFence(registry);
            registry.close();
        } finally {
            RegistryRouteTable.deleteRecursively(dir);
        }
    }

    /** Heap in use after full collections, once it stops shrinking. */
    private static long liveHeap() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            long used = memory.getHeapMemoryUsage().getUsed();
            if (used >= last - 1024) {
                return used;
            }
            last = used;
        }
        return last;
    }
}
