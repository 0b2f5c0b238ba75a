package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The persistent snapshot structure: what a change copies, what it shares, that order and the
 * routable set stay right through any sequence of changes, and that two snapshots compare in
 * proportion to what changed.
 */
class ServiceSnapshotTest {
    private static final String SERVICE = "svc";

    private static Instance instance(int n, boolean routable, int rev) {
        InstanceSpec spec = new InstanceSpec(
                SERVICE,
                "i-" + n,
                "10.0." + (n >>> 8 & 0xFF) + "." + (n & 0xFF),
                8080,
                List.of(),
                Map.of("rev", Integer.toString(rev)),
                List.of(),
                1,
                1);
        return new Instance(spec, List.of(), routable ? null : "maintenance", n + 1, n + 1L + rev);
    }

    private static ServiceMembers filled(int count) {
        ServiceMembers members = new ServiceMembers(SERVICE);
        for (int n = 0; n < count; n++) {
            members.put(instance(n, true, 0), -1);
        }
        return members;
    }

    /** Every node of the new snapshot's tries that is not a node of the old one. */
    private static int copiedNodes(ServiceSnapshot before, ServiceSnapshot after) {
        Set<Object> old = Collections.newSetFromMap(new IdentityHashMap<>());
        before.trie().nodes(old::add);
        int[] copied = {0};
        after.trie().nodes(node -> copied[0] += old.contains(node) ? 0 : 1);
        return copied[0];
    }

    @Test
    void changeToOneInstanceOfALargeServiceCopiesOneLeafAndItsBranches() {
        ServiceMembers members = filled(100_000);
        ServiceSnapshot before = members.snapshot(1);
        int[] total = {0};
        before.trie().nodes(node -> total[0]++);

        members.put(instance(54_321, true, 1), -1);
        ServiceSnapshot after = members.snapshot(2);

        // 100,000 slots are four levels: one leaf and three branches are new, the other ~3,250 shared.
        assertEquals(4, copiedNodes(before, after), "of " + total[0] + " nodes");
        assertEquals(100_000, after.instances().size());
        assertEquals("1", after.instances().get(54_321).spec().meta().get("rev"));
        assertEquals("0", before.instances().get(54_321).spec().meta().get("rev"), "the old snapshot is unchanged");
    }

    @Test
    void routableTrieOfALargeServiceCopiesOnlyThePathOfAChange() {
        ServiceMembers members = filled(100_000);
        ServiceSnapshot before = members.snapshot(1);
        members.put(instance(77, false, 1), -1); // leaves the routable set: the last one moves into its place
        ServiceSnapshot after = members.snapshot(2);
        assertEquals(99_999, after.routableCount());
        assertEquals(100_000, before.routableCount());
        Set<Object[]> old = Collections.newSetFromMap(new IdentityHashMap<>());
        before.routableTrie().nodes(old::add);
        int[] copied = {0};
        after.routableTrie().nodes(node -> copied[0] += old.contains(node) ? 0 : 1);
        // Two paths (the position filled and the last one shortened), four levels each, at most.
        assertTrue(copied[0] <= 8, "copied " + copied[0] + " nodes");
    }

    @Test
    void anySequenceOfChangesKeepsRegistrationOrderAndTheRoutableSet() {
        Random random = new Random(7);
        ServiceMembers members = new ServiceMembers(SERVICE);
        LinkedHashMap<String, Instance> expected = new LinkedHashMap<>();
        for (int step = 0; step < 20_000; step++) {
            int n = random.nextInt(700);
            int op = random.nextInt(10);
            String id = "i-" + n;
            if (op < 3 && expected.containsKey(id)) {
                members.remove(id);
                expected.remove(id);
            } else {
                Instance next = instance(n, random.nextInt(4) != 0, step);
                members.put(next, -1);
                expected.put(id, next);
            }
            if (step % 97 == 0 || step == 19_999) {
                assertMatches(expected, members.snapshot(step));
            }
        }
    }

    private static void assertMatches(Map<String, Instance> expected, ServiceSnapshot snapshot) {
        List<Instance> order = new ArrayList<>(expected.values());
        assertEquals(order, new ArrayList<>(snapshot.instances()), "registration order");
        assertEquals(order.size(), snapshot.instances().size());
        for (int i = 0; i < order.size(); i += 13) {
            assertSame(order.get(i), snapshot.instances().get(i), "get(" + i + ")");
        }
        Set<Instance> routable = new HashSet<>();
        for (Instance instance : order) {
            if (instance.routable()) {
                routable.add(instance);
            }
        }
        Set<Instance> seen = new HashSet<>();
        for (int i = 0; i < snapshot.routableCount(); i++) {
            seen.add(snapshot.routable(i));
        }
        assertEquals(routable.size(), snapshot.routableCount(), "no routable instance twice");
        assertEquals(routable, seen);
    }

    @Test
    void aBatchOfNewInstancesLandsInOrderAcrossLeavesAndIsSeenByTheDiff() {
        ServiceMembers members = filled(5);
        ServiceSnapshot before = members.snapshot(1);
        LinkedHashMap<String, Instance> expected = new LinkedHashMap<>();
        for (Instance instance : before.instances()) {
            expected.put(instance.id(), instance);
        }
        for (int n = 5; n < 105; n++) {
            Instance added = instance(n, n % 3 != 0, 0);
            members.put(added, -1);
            expected.put(added.id(), added);
        }
        // A change to one of the new ones in the same batch, then more new ones.
        Instance changed = instance(50, false, 1);
        members.put(changed, -1);
        expected.put(changed.id(), changed);
        for (int n = 105; n < 155; n++) {
            Instance added = instance(n, true, 0);
            members.put(added, -1);
            expected.put(added.id(), added);
        }
        ServiceSnapshot after = members.snapshot(2);
        assertMatches(expected, after);
        int[] added = {0};
        assertTrue(after.diff(before, (was, now) -> added[0] += was == null && now != null ? 1 : 0));
        assertEquals(150, added[0]);
    }

    @Test
    void diffVisitsExactlyTheInstancesThatChanged() {
        ServiceMembers members = filled(5_000);
        ServiceSnapshot before = members.snapshot(1);
        Instance replaced = instance(10, true, 1);
        Instance added = instance(5_000, true, 0);
        members.put(replaced, -1);
        members.put(added, -1);
        members.remove("i-4000");
        ServiceSnapshot after = members.snapshot(2);

        List<String> changes = new ArrayList<>();
        assertTrue(after.diff(
                before,
                (was, now) -> changes.add(
                        (was == null ? "-" : was.id() + "@" + was.spec().meta().get("rev")) + ">"
                                + (now == null
                                        ? "-"
                                        : now.id() + "@" + now.spec().meta().get("rev")))));
        assertEquals(List.of("i-10@0>i-10@1", "i-4000@0>-", "->i-5000@0"), changes);
    }

    @Test
    void diffAcrossAGrowthOfTheTrieSeesTheNewLevel() {
        ServiceMembers members = filled(20);
        ServiceSnapshot small = members.snapshot(1);
        for (int n = 20; n < 1_500; n++) {
            members.put(instance(n, true, 0), -1);
        }
        members.remove("i-3");
        ServiceSnapshot large = members.snapshot(2);
        int[] added = {0};
        int[] removed = {0};
        assertTrue(large.diff(small, (was, now) -> {
            added[0] += now != null ? 1 : 0;
            removed[0] += was != null ? 1 : 0;
        }));
        assertEquals(1_480, added[0]);
        assertEquals(1, removed[0]);
        assertTrue(small.diff(large, (was, now) -> {}), "the other way round too");
    }

    @Test
    void removingMostInstancesRenumbersAndRefusesToDiffAcrossIt() {
        ServiceMembers members = filled(1_000);
        ServiceSnapshot before = members.snapshot(1);
        for (int n = 0; n < 700; n++) {
            members.remove("i-" + n);
        }
        ServiceSnapshot after = members.snapshot(2);
        assertFalse(after.diff(before, (was, now) -> {}), "slots were renumbered in between");
        assertEquals(300, after.instances().size());
        assertEquals("i-700", after.instances().get(0).id());
        assertEquals("i-999", after.instances().get(299).id());
        // Compact again: 300 instances in at most 300 + 64 slots.
        int[] leaves = {0};
        after.trie().nodes(node -> leaves[0] += node instanceof Instance[] ? 1 : 0);
        assertEquals(10, leaves[0], "300 instances fill 10 leaves of 32");
    }

    @Test
    void anUndoneRemovalPutsTheInstanceBackInItsPlace() {
        ServiceMembers members = filled(100);
        int slot = members.remove("i-40");
        members.put(instance(40, true, 0), slot);
        ServiceSnapshot snapshot = members.snapshot(1);
        assertEquals("i-40", snapshot.instances().get(40).id());
        assertEquals(100, snapshot.instances().size());
    }

    @Test
    void instancesViewIsReadOnlyAndIteratesWithoutCopying() {
        ServiceSnapshot snapshot = filled(3).snapshot(1);
        List<Instance> view = snapshot.instances();
        assertThrows(UnsupportedOperationException.class, () -> view.add(instance(9, true, 0)));
        Iterator<Instance> it = view.iterator();
        assertEquals("i-0", it.next().id());
        assertEquals("i-1", it.next().id());
        assertEquals("i-2", it.next().id());
        assertFalse(it.hasNext());
        assertThrows(IndexOutOfBoundsException.class, () -> view.get(3));
        assertThrows(IndexOutOfBoundsException.class, () -> snapshot.routable(3));
    }

    @Test
    void emptyServiceHasNoInstancesAndNoRoutable() {
        ServiceMembers members = filled(1);
        members.remove("i-0");
        ServiceSnapshot snapshot = members.snapshot(5);
        assertTrue(snapshot.isEmpty());
        assertEquals(0, snapshot.routableCount());
        assertFalse(snapshot.instances().iterator().hasNext());
        assertNull(InstanceTrie.EMPTY.get(0));
    }
}
