package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.edgegate.config.GoDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Durations at the API boundary read exactly as {@link GoDuration} reads them, refusals naming the field. */
class DurationsTest {
    private static final String[] UNITS = {"ms", "s", "m", "h"};

    @Test
    void wholeNumbersOfUpToSixDigitsReadAsGoDurationReadsThem() {
        for (String unit : UNITS) {
            for (int n = 0; n <= 999_999; n = n < 20_000 ? n + 1 : n + 97) {
                assertReadWithoutGoDuration(n + unit);
            }
            assertReadWithoutGoDuration("999999" + unit);
            assertReadWithoutGoDuration("000001" + unit);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "1m30s", "1.5h", "+5s", "1000000s", "999999999ms", "5us", "5µs", "250ns", ".5s"})
    void otherSpellingsAreLeftToGoDuration(String text) {
        assertEquals(-1, Durations.wholeMillis(text), text);
        assertSameAsGoDuration(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "s", "10", "-1s", "10x", "5 s", "1e3s", "10S", "10sec", "1h1", "9999999h"})
    void notADurationIsRefusedNamingTheFieldAsGoDurationSays(String text) {
        IllegalArgumentException expected =
                assertThrows(IllegalArgumentException.class, () -> GoDuration.parseMillis(text));
        ApiException refusal = assertThrows(ApiException.class, () -> Durations.parseMillis("check", "ttl", text));
        assertEquals(400, refusal.status());
        assertEquals("check.ttl", refusal.field());
        assertEquals("duration", refusal.rule());
        assertEquals("check.ttl: " + expected.getMessage(), refusal.getMessage());
        assertEquals(
                "wait",
                assertThrows(ApiException.class, () -> Durations.parseMillis("wait", text))
                        .field());
    }

    @Test
    void absentDurationIsRefusedAsEmpty() {
        ApiException refusal = assertThrows(ApiException.class, () -> Durations.parseMillis("wait", null));
        assertEquals("wait", refusal.field());
        assertEquals(
                "wait: "
                        + assertThrows(IllegalArgumentException.class, () -> GoDuration.parseMillis(null))
                                .getMessage(),
                refusal.getMessage());
    }

    /** {@code text} is read by the whole-number path, to GoDuration's value. */
    private static void assertReadWithoutGoDuration(String text) {
        assertEquals(GoDuration.parseMillis(text), Durations.wholeMillis(text), text);
        assertSameAsGoDuration(text);
    }

    private static void assertSameAsGoDuration(String text) {
        long expected = GoDuration.parseMillis(text);
        assertEquals(expected, Durations.parseMillis("check", "ttl", text), text);
        assertEquals(expected, Durations.parseMillis("wait", text), text);
    }
}
