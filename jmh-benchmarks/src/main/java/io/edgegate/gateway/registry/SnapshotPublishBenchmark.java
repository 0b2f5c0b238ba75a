package io.edgegate.gateway.registry;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the registry thread pays to publish one batch of changes to one service of
 * {@link #instances} members: apply {@link #changes} changes to the service's members, then make
 * the snapshot readers get. {@code trie} is the registry's {@link ServiceMembers} (persistent
 * tries, path copying); {@code copy} is the plain structure it replaced, measured in the same
 * run: a {@code LinkedHashMap} of the members, copied into a new list and a new routable array
 * for every snapshot, as {@code ServiceSnapshot} was built before.
 *
 * <p>{@link #op}: {@code update} re-registers existing members with a change (a new
 * {@link Instance}, as a real re-registration makes); {@code churn} registers new instances and
 * removes the oldest ones in equal numbers, so the size stays put while slots, holes and
 * renumbering happen as on a node where instances come and go. Instances are made in setup: what
 * is measured is the structure, not building records. In package
 * {@code io.edgegate.gateway.registry} because {@link ServiceMembers} is package-private.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Thread)
public class SnapshotPublishBenchmark {
    private static final String SERVICE = "svc";

    /** Members of the service. */
    @Param({"10", "1000", "100000"})
    int instances;

    /** Changes per batch (one snapshot per batch). */
    @Param({"1", "64"})
    int changes;

    /** {@code trie} (the registry) or {@code copy} (the plain structure, rebuilt per snapshot). */
    @Param({"trie", "copy"})
    String impl;

    /** {@code update} or {@code churn}. */
    @Param({"update", "churn"})
    String op;

    private Publisher publisher;
    /** Two versions of every member, alternated by {@code update}. */
    private Instance[][] versions;
    /**
     * Instances {@code churn} registers, made ahead: ids cycle over {@code instances + changes}
     * so that the one registered next is never live (the live ones are a sliding window).
     */
    private Instance[] fresh;
    /** Members in registration order, oldest first, for {@code churn}. */
    final ArrayDeque<Instance> live = new ArrayDeque<>();

    private int cursor;
    private int flip;
    private int nextNew;
    private long index;

    /** The two structures behind one call site (one implementation per fork). */
    interface Publisher {
        void put(Instance instance);

        void remove(String id);

        Object publish(long index);
    }

    /** The registry's members: path-copied tries, O(1) snapshot. */
    static final class TriePublisher implements Publisher {
        private final ServiceMembers members = new ServiceMembers(SERVICE);

        @Override
        public void put(Instance instance) {
            members.put(instance, -1);
        }

        @Override
        public void remove(String id) {
            members.remove(id);
        }

        @Override
        public Object publish(long index) {
            return members.snapshot(index);
        }
    }

    /** The structure before: members in a LinkedHashMap, every snapshot a full copy (O(n)). */
    static final class CopyPublisher implements Publisher {
        private final LinkedHashMap<String, Instance> members = new LinkedHashMap<>();

        @Override
        public void put(Instance instance) {
            members.put(instance.id(), instance);
        }

        @Override
        public void remove(String id) {
            members.remove(id);
        }

        @Override
        public Object publish(long index) {
            return new CopiedSnapshot(index, new ArrayList<>(members.values()));
        }
    }

    /** What {@code ServiceSnapshot}'s constructor did before: copy the list, filter the routable. */
    record CopiedSnapshot(long index, List<Instance> instances, Instance[] routable) {
        CopiedSnapshot(long index, List<Instance> members) {
            this(index, List.copyOf(members), routable(members));
        }

        private static Instance[] routable(List<Instance> members) {
            int count = 0;
            for (Instance instance : members) {
                if (instance.routable()) {
                    count++;
                }
            }
            Instance[] ready = new Instance[count];
            int i = 0;
            for (Instance instance : members) {
                if (instance.routable()) {
                    ready[i++] = instance;
                }
            }
            return ready;
        }
    }

    static Instance instance(int n, int rev) {
        InstanceSpec spec = new InstanceSpec(
                SERVICE,
                SERVICE + "-" + n,
                "10." + (n >>> 16 & 0xFF) + "." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                8080,
                List.of("version:v1"),
                Map.of("model", "m", "rev", Integer.toString(rev)),
                List.of(),
                1,
                1);
        return new Instance(spec, List.of(), null, n + 1L, n + 1L + rev);
    }

    @Setup(Level.Trial)
    public void setUp() {
        publisher = switch (impl) {
            case "trie" -> new TriePublisher();
            case "copy" -> new CopyPublisher();
            default -> throw new IllegalArgumentException("unknown implementation: impl=" + impl + " (trie, copy)");
        };
        if (!op.equals("update") && !op.equals("churn")) {
            throw new IllegalArgumentException("unknown operation: op=" + op + " (update, churn)");
        }
        if (op.equals("churn") && changes % 2 != 0 && changes != 1) {
            throw new IllegalArgumentException("churn needs an even number of changes or 1: changes=" + changes);
        }
        versions = new Instance[instances][];
        for (int n = 0; n < instances; n++) {
            versions[n] = new Instance[] {instance(n, 0), instance(n, 1)};
            publisher.put(versions[n][0]);
            live.add(versions[n][0]);
        }
        fresh = new Instance[instances + changes];
        for (int n = 0; n < fresh.length; n++) {
            fresh[n] = n < instances ? versions[n][0] : instance(n, 0);
        }
        nextNew = instances;
        flip = 1; // the first pass of update puts the other version: every put is a change
        publisher.publish(0);
    }

    @Benchmark
    public Object batch() {
        if (op.equals("update")) {
            for (int k = 0; k < changes; k++) {
                publisher.put(versions[cursor][flip]);
                if (++cursor == instances) {
                    cursor = 0;
                    flip ^= 1;
                }
            }
        } else {
            // Half new registrations, half removals of the oldest; one change of each when changes is 1
            // (alternating batches), so the service keeps its size.
            int adds = changes == 1 ? (flip ^= 1) : changes / 2;
            int removes = changes == 1 ? 1 - adds : changes / 2;
            for (int k = 0; k < adds; k++) {
                Instance added = fresh[nextNew];
                nextNew = nextNew + 1 == fresh.length ? 0 : nextNew + 1;
                publisher.put(added);
                live.add(added);
            }
            for (int k = 0; k < removes; k++) {
                publisher.remove(live.poll().id());
            }
        }
        return publisher.publish(++index);
    }
}
