package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.journal.FaultInjectingChannels;
import io.edgegate.gateway.journal.Journal;
import io.edgegate.gateway.journal.JournalOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the registry publishes after a batch: shared structure, and the same order as before a failure. */
class RegistryPublicationTest {
    @TempDir
    Path dir;

    private final FaultInjectingChannels channels = new FaultInjectingChannels();
    private Registry registry;

    @AfterEach
    void close() {
        if (registry != null) {
            registry.close();
        }
    }

    private Registry open() {
        Journal journal =
                Journal.open(dir, JournalOptions.builder().channels(channels).build());
        registry = Registry.open(journal, RegistryOptions.defaults(), new ErrorLog(), System::currentTimeMillis);
        return registry;
    }

    private static InstanceSpec spec(String service, int n) {
        return new InstanceSpec(
                service,
                service + "-" + n,
                "10.1." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                8080,
                List.of(),
                Map.of(),
                List.of(),
                1,
                1);
    }

    private static List<String> ids(ServiceSnapshot snapshot) {
        List<String> ids = new ArrayList<>();
        for (Instance instance : snapshot.instances()) {
            ids.add(instance.id());
        }
        return ids;
    }

    @Test
    void oneRegistrationIntoALargeServiceSharesEveryUnchangedChunk() {
        Registry r = open();
        for (int from = 0; from < 50_000; from += 1_000) {
            List<InstanceSpec> batch = new ArrayList<>();
            for (int n = from; n < from + 1_000; n++) {
                batch.add(spec("big", n));
            }
            r.await(r.registerAll(batch));
        }
        ServiceSnapshot before = r.service("big");
        r.await(r.register(spec("big", 50_000)));
        ServiceSnapshot after = r.service("big");

        Set<Object> old = Collections.newSetFromMap(new IdentityHashMap<>());
        before.trie().nodes(old::add);
        int[] nodes = {0, 0};
        after.trie().nodes(node -> {
            nodes[0]++;
            nodes[1] += old.contains(node) ? 0 : 1;
        });
        assertEquals(50_001, after.instances().size());
        assertEquals(50_001, after.routableCount());
        assertTrue(nodes[1] <= 4, nodes[1] + " of " + nodes[0] + " nodes copied for one registration");
        int[] changes = {0};
        assertTrue(after.diff(before, (was, now) -> changes[0]++));
        assertEquals(1, changes[0]);
    }

    @Test
    void deregistrationThatFailsToReachTheDiskLeavesTheOrderAsItWas() {
        Registry r = open();
        for (int n = 0; n < 5; n++) {
            r.await(r.register(spec("llm", n)));
        }
        List<String> before = ids(r.service("llm"));
        channels.diskFullAfter(0);
        assertThrows(RegistryException.class, () -> r.await(r.deregister("llm-2")));
        channels.spaceBack();
        r.await(r.register(spec("llm", 5)));
        List<String> expected = new ArrayList<>(before);
        expected.add("llm-5");
        assertEquals(expected, ids(r.service("llm")), "llm-2 keeps its place");
    }
}
