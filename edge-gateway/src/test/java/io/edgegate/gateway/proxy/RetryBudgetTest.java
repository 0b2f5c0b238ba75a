package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

/** The retry budget: a bounded bank, a ratio of the requests, a floor per second. */
class RetryBudgetTest {
    @Test
    void allowsItsRatioOfRequestsOnceTheBankIsSpent() {
        RetryBudget budget = new RetryBudget(0.2, 0);
        int banked = 0;
        while (budget.tryRetry()) {
            banked++;
        }
        assertEquals(RetryBudget.capTokens(0), banked);
        for (int i = 0; i < 100; i++) {
            budget.deposit();
        }
        int allowed = 0;
        while (budget.tryRetry()) {
            allowed++;
        }
        assertEquals(20, allowed, "20% of 100 requests");
    }

    @Test
    void floorIsSpentWithinASecond() {
        RetryBudget budget = new RetryBudget(0, 3);
        while (budget.tryRetry()) {
            // spend the bank and this second's floor
        }
        assertFalse(budget.canRetry());
    }
}
