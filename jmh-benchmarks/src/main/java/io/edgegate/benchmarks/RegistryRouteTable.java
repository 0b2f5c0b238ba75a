package io.edgegate.benchmarks;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The real registry with its durable journal in a fresh temporary directory, deleted on close.
 * Reads are the gateway's routing path: one map read to the service's immutable snapshot, then an
 * array read. Writes go through the registry thread and return once journaled and published.
 */
final class RegistryRouteTable implements RouteTable {
    private final Path dataDir;
    private final Registry registry;

    RegistryRouteTable() {
        try {
            dataDir = Files.createTempDirectory("edgegate-bench-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the journal directory", e);
        }
        registry = Registry.open(dataDir, RegistryOptions.defaults(), new ErrorLog());
    }

    Path dataDir() {
        return dataDir;
    }

    Registry registry() {
        return registry;
    }

    @Override
    public void register(List<InstanceSpec> specs) {
        registry.await(registry.registerAll(specs));
    }

    @Override
    public Instance pick(String service, int seq) {
        ServiceSnapshot snapshot = registry.service(service);
        if (snapshot == null) {
            return null;
        }
        int count = snapshot.routableCount();
        return count == 0 ? null : snapshot.routable(RouteTable.spread(seq, count));
    }

    @Override
    public int routableCount(String service) {
        ServiceSnapshot snapshot = registry.service(service);
        return snapshot == null ? 0 : snapshot.routableCount();
    }

    @Override
    public void close() {
        registry.close();
        deleteRecursively(dataDir);
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the journal directory: dir=" + dir, e);
        }
    }
}
