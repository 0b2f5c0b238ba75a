package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service table: lookups that find every published service, allocate nothing, and never lock. */
class ServiceTableTest {
    private static ServiceSnapshot snapshot(String name, long index) {
        return new ServiceSnapshot(name, index, InstanceTrie.EMPTY, RoutableTrie.EMPTY);
    }

    @Test
    void everyServiceIsFoundByAnEqualNameAfterTheTableGrew() {
        ServiceTable table = new ServiceTable();
        for (int s = 0; s < 10_000; s++) {
            assertNull(table.put(snapshot("svc-" + s, s)));
        }
        assertEquals(10_000, table.size());
        for (int s = 0; s < 10_000; s++) {
            // A copy of the name, as a name parsed from a request would be.
            ServiceSnapshot found = table.get(new String("svc-" + s));
            assertNotNull(found, "svc-" + s);
            assertEquals(s, found.index());
        }
        assertNull(table.get("svc-10000"));
    }

    @Test
    void namesWithTheSameHashAreToldApart() {
        // "Aa" and "BB" have the same String.hashCode, so do any concatenations of them.
        ServiceTable table = new ServiceTable();
        List<String> names = List.of("AaAa", "AaBB", "BBAa", "BBBB");
        for (int i = 0; i < names.size(); i++) {
            table.put(snapshot(names.get(i), i));
        }
        for (int i = 0; i < names.size(); i++) {
            assertEquals(names.get(0).hashCode(), names.get(i).hashCode());
            assertEquals(i, table.get(new String(names.get(i))).index(), names.get(i));
        }
        assertNull(table.get("AaAaAa"));
    }

    @Test
    void putReplacesTheSnapshotAndAnswersTheOldOne() {
        ServiceTable table = new ServiceTable();
        ServiceSnapshot first = snapshot("llm", 1);
        ServiceSnapshot second = snapshot("llm", 2);
        table.put(first);
        assertSame(first, table.put(second));
        assertSame(second, table.get("llm"));
        assertEquals(1, table.size());
    }

    @Test
    void valuesHoldEveryServiceOnceWithItsCurrentSnapshot() {
        ServiceTable table = new ServiceTable();
        for (int s = 0; s < 100; s++) {
            table.put(snapshot("svc-" + s, 1));
        }
        table.put(snapshot("svc-7", 2));
        Set<String> names = new HashSet<>();
        for (ServiceSnapshot snapshot : table.values()) {
            assertTrue(names.add(snapshot.name()), "twice: " + snapshot.name());
            assertEquals(snapshot.name().equals("svc-7") ? 2 : 1, snapshot.index());
        }
        assertEquals(100, names.size());
        assertEquals(100, new ArrayList<>(table.values()).size());
    }

    /**
     * A reader that learned a service exists (through a volatile counter the writer moves after
     * each put) always finds it, while the writer keeps growing the table under it.
     */
    @Test
    @Tag("concurrency")
    void readersFindEveryPublishedServiceWhileTheWriterGrowsTheTable() throws Exception {
        ServiceTable table = new ServiceTable();
        int total = 200_000;
        String[] names = new String[total];
        for (int s = 0; s < total; s++) {
            names[s] = "svc-" + s;
        }
        AtomicInteger published = new AtomicInteger();
        AtomicReference<String> missed = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int seed = r;
            readers.add(Thread.ofPlatform().start(() -> {
                int k = seed;
                while (published.get() < total && missed.get() == null) {
                    int known = published.get();
                    if (known == 0) {
                        continue;
                    }
                    k = (k * 1_103_515_245 + 12_345) & Integer.MAX_VALUE;
                    String name = names[k % known];
                    if (table.get(new String(name)) == null) {
                        missed.set(name);
                    }
                }
            }));
        }
        for (int s = 0; s < total; s++) {
            table.put(snapshot(names[s], s));
            published.set(s + 1);
        }
        for (Thread reader : readers) {
            reader.join(30_000);
        }
        assertNull(missed.get(), "a published service was not found");
    }

    /**
     * A snapshot whose routable instances are {@code count} instances of service {@code name},
     * each stamped with the snapshot's {@code index}, so a reader can tell whether what it reads
     * belongs together.
     */
    private static ServiceSnapshot stamped(String name, long index, int count) {
        RoutableTrie routable = RoutableTrie.EMPTY;
        for (int n = 0; n < count; n++) {
            InstanceSpec spec =
                    new InstanceSpec(name, name + "-" + n, "10.0.0.1", 1000 + n, List.of(), Map.of(), List.of(), 1, 1);
            routable = routable.append(new Instance(spec, List.of(), null, index, index));
        }
        return new ServiceSnapshot(name, index, InstanceTrie.EMPTY, routable);
    }

    /**
     * While the writer replaces the snapshots of some services (each time with another number of
     * routable instances) and adds new services that grow the table, a reader always gets the
     * snapshot of the name it asked for, and that snapshot's routable instances are its own: the
     * service's, stamped with the snapshot's index, as many as that index calls for.
     */
    @Test
    @Tag("concurrency")
    void aReaderNeverSeesOneSnapshotWithAnothersNameOrRoutableInstances() throws Exception {
        ServiceTable table = new ServiceTable();
        int replaced = 64;
        String[] names = new String[replaced];
        for (int s = 0; s < replaced; s++) {
            names[s] = "svc-" + s;
            table.put(stamped(names[s], 0, 1));
        }
        AtomicInteger done = new AtomicInteger();
        AtomicReference<String> torn = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int seed = r + 1;
            readers.add(Thread.ofPlatform().start(() -> {
                int k = seed;
                try {
                    while (done.get() == 0 && torn.get() == null) {
                        k = (k * 1_103_515_245 + 12_345) & Integer.MAX_VALUE;
                        String name = names[k % replaced];
                        ServiceSnapshot found = table.get(new String(name));
                        String why = consistency(name, found);
                        if (why != null) {
                            torn.set(why);
                        }
                    }
                } catch (RuntimeException e) {
                    // a leaf of the wrong type (ClassCastException) or a torn trie is a failure too,
                    // not a reader that quietly stopped
                    torn.set("reader failed: " + e);
                }
            }));
        }
        for (int round = 1; round <= 400 && torn.get() == null; round++) {
            for (int s = 0; s < replaced; s++) {
                table.put(stamped(names[s], round, 1 + round % 40));
            }
            for (int s = 0; s < 100; s++) {
                table.put(stamped("grown-" + round + "-" + s, round, 1));
            }
        }
        done.set(1);
        for (Thread reader : readers) {
            reader.join(30_000);
        }
        assertNull(torn.get());
    }

    /** Why {@code found} is not a whole snapshot of {@code name} (see {@link #stamped}), or null. */
    private static String consistency(String name, ServiceSnapshot found) {
        if (found == null) {
            return "no snapshot for " + name;
        }
        if (!found.name().equals(name)) {
            return "asked for " + name + ", got " + found.name();
        }
        long index = found.index();
        int expected = index == 0 ? 1 : 1 + (int) (index % 40);
        if (found.routableCount() != expected) {
            return name + " at index " + index + " has " + found.routableCount() + " routable, not " + expected;
        }
        for (int i = 0; i < expected; i++) {
            Instance instance = found.routable(i);
            if (!instance.service().equals(name) || instance.modifyIndex() != index) {
                return name + " at index " + index + " holds " + instance.id() + " of index " + instance.modifyIndex();
            }
        }
        return null;
    }

    /** The routing lookup (name to snapshot to one routable instance) allocates nothing. */
    @Test
    void lookupOfARoutableInstanceAllocatesNothing(@TempDir Path dir) {
        try (Registry registry = Registry.open(dir, RegistryOptions.defaults(), new ErrorLog())) {
            for (int from = 0; from < 5_000; from += 1_000) {
                List<InstanceSpec> specs = new ArrayList<>();
                for (int i = from; i < from + 1_000; i++) {
                    specs.add(new InstanceSpec(
                            "svc-" + i % 500, "i-" + i, "10.0.0.1", 1000 + i, List.of(), Map.of(), List.of(), 1, 1));
                }
                registry.await(registry.registerAll(specs));
            }
            // One service of 2,000: its routable trie has two levels.
            for (int from = 0; from < 2_000; from += 1_000) {
                List<InstanceSpec> big = new ArrayList<>();
                for (int i = from; i < from + 1_000; i++) {
                    big.add(new InstanceSpec(
                            "big", "big-" + i, "10.0.1.1", 1000 + i, List.of(), Map.of(), List.of(), 1, 1));
                }
                registry.await(registry.registerAll(big));
            }
            String[] names = new String[501];
            for (int s = 0; s < 500; s++) {
                names[s] = new String("svc-" + s);
            }
            names[500] = new String("big");
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long fewest = Long.MAX_VALUE;
            long sum = 0;
            for (int round = 0; round < 6; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 200_000; i++) {
                    ServiceSnapshot snapshot = registry.service(names[i % names.length]);
                    sum += snapshot.routable(i % snapshot.routableCount())
                            .spec()
                            .port();
                }
                fewest = Math.min(fewest, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertTrue(sum > 0);
            assertEquals(0, fewest, "bytes allocated by 200,000 lookups");
        }
    }
}
