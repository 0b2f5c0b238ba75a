package io.edgegate.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The prefix table keeps the last three instances that served a prefix, and forgets on collision. */
class PrefixTableTest {
    private static final long PREFIX = 0x1234_5678_9ABC_DEF0L;

    @Test
    void lastThreeOwnersAreKeptMostRecentFirst() {
        PrefixTable table = new PrefixTable();
        assertEquals(0, table.owners(PREFIX), "nobody served it yet");
        table.put(PREFIX, 1);
        table.put(PREFIX, 2);
        table.put(PREFIX, 3);
        long owners = table.owners(PREFIX);
        assertTrue(PrefixTable.owns(owners, 1) && PrefixTable.owns(owners, 2) && PrefixTable.owns(owners, 3));
        assertEquals(3, owners & 0xFFFF, "the most recent first");
        table.put(PREFIX, 4);
        owners = table.owners(PREFIX);
        assertFalse(PrefixTable.owns(owners, 1), "the oldest of four is forgotten");
        assertTrue(PrefixTable.owns(owners, 4) && PrefixTable.owns(owners, 3) && PrefixTable.owns(owners, 2));
    }

    @Test
    void servingAgainMovesAnOwnerToTheFrontWithoutDuplicates() {
        PrefixTable table = new PrefixTable();
        table.put(PREFIX, 1);
        table.put(PREFIX, 2);
        table.put(PREFIX, 1);
        long owners = table.owners(PREFIX);
        assertEquals(1, owners & 0xFFFF);
        assertEquals(2, owners >>> 16 & 0xFFFF);
        assertEquals(0, owners >>> 32 & 0xFFFF, "1 is listed once");
    }

    @Test
    void aCollidingPrefixReplacesTheEntry() {
        PrefixTable table = new PrefixTable();
        long other = PREFIX ^ (1L << 20); // same index (low 16 bits), another tag
        table.put(PREFIX, 1);
        table.put(other, 2);
        assertEquals(0, table.owners(PREFIX), "forgotten");
        assertTrue(PrefixTable.owns(table.owners(other), 2));
    }
}
