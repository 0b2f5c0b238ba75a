package io.edgegate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Go's duration grammar, the one both services read. */
class GoDurationTest {
    @ParameterizedTest
    @CsvSource({
        "0, 0",
        "10s, 10000",
        "1m30s, 90000",
        "120000ms, 120000",
        "1.5h, 5400000",
        "+2s, 2000",
        "1500us, 2",
        "1ns, 1",
        "2µs, 1",
        "1h1m1s1ms, 3661001"
    })
    void acceptsWhatGoAccepts(String text, long millis) {
        assertEquals(millis, GoDuration.parseMillis(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10", "-1s", "s", "1x", "1.2.3s", "+", "1 s", "5m-1s"})
    void refusesWhatGoRefusesOrNoSettingCanUse(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GoDuration.parseMillis(text));
        assertTrue(e.getMessage().contains("duration"), e.getMessage());
    }
}
