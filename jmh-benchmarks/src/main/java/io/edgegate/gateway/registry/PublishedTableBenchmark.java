package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The published instances by id, as readers ask for them (a heartbeat's or a TTL report's fast
 * path, {@code GET /v1/instances/{id}}) and as the writer replaces them after each batch:
 * {@code table} is the registry's {@link SingleWriterTable} (one array, no node per entry);
 * {@code chm} is the {@code ConcurrentHashMap} it replaced, in the same run. {@link #lookup} asks
 * for the {@link #instances} ids in a shuffled order, each a copy of the key (as an id parsed from
 * a request is); {@link #replace} puts a new version of an existing instance, what publishing a
 * re-registration costs. In package {@code io.edgegate.gateway.registry} because the table is
 * package-private.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class PublishedTableBenchmark {
    /** Instances published. */
    @Param({"1000", "100000"})
    int instances;

    /** {@code table} (the registry) or {@code chm} (the JDK map it replaced). */
    @Param({"table", "chm"})
    String impl;

    /** The two structures behind one call site (one implementation per fork). */
    interface Published {
        Instance get(String id);

        void put(String id, Instance instance);
    }

    private Published published;
    /** Copies of the ids in a shuffled order. */
    private String[] asked;
    /** Two versions of every instance, alternated by {@link #replace}. */
    private Instance[][] versions;

    private int cursor;
    private int flip;

    @Setup
    public void setUp() {
        published = switch (impl) {
            case "table" -> {
                SingleWriterTable<Instance> table = new SingleWriterTable<>();
                yield new Published() {
                    @Override
                    public Instance get(String id) {
                        return table.get(id);
                    }

                    @Override
                    public void put(String id, Instance instance) {
                        table.put(id, instance);
                    }
                };
            }
            case "chm" -> {
                ConcurrentHashMap<String, Instance> map = new ConcurrentHashMap<>();
                yield new Published() {
                    @Override
                    public Instance get(String id) {
                        return map.get(id);
                    }

                    @Override
                    public void put(String id, Instance instance) {
                        map.put(id, instance);
                    }
                };
            }
            default -> throw new IllegalArgumentException("impl: " + impl);
        };
        versions = new Instance[instances][2];
        List<String> ids = new ArrayList<>(instances);
        for (int n = 0; n < instances; n++) {
            String id = "big-i-" + n;
            for (int v = 0; v < 2; v++) {
                InstanceSpec spec = new InstanceSpec(
                        "big",
                        id,
                        "10." + (n >>> 16 & 0xFF) + "." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                        8080,
                        List.of("version:v1"),
                        Map.of("rev", Integer.toString(v)),
                        List.of(),
                        1,
                        1);
                versions[n][v] = new Instance(spec, List.of(), null, n + 1, n + 1);
            }
            published.put(id, versions[n][0]);
            ids.add(new String(id));
        }
        Collections.shuffle(ids, new Random(17));
        asked = ids.toArray(new String[0]);
        for (String id : asked) {
            id.hashCode(); // a request's id is hashed by the first lookup; measured here: the lookup
        }
    }

    @Benchmark
    public Instance lookup() {
        int i = cursor;
        cursor = i + 1 == asked.length ? 0 : i + 1;
        return published.get(asked[i]);
    }

    @Benchmark
    public int replace() {
        int i = cursor;
        Instance next = versions[i][flip];
        if (i + 1 == instances) {
            cursor = 0;
            flip ^= 1;
        } else {
            cursor = i + 1;
        }
        published.put(next.id(), next);
        return i;
    }
}
