package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LinkOptionsTest {
    @Test
    void aBuilderStartsFromTheDefaults() {
        LinkOptions defaults = LinkOptions.of("tcp://127.0.0.1:1883", "n");
        assertEquals(defaults, LinkOptions.builder("tcp://127.0.0.1:1883", "n").build());
        assertEquals(defaults, defaults.toBuilder().build());
        assertEquals(16, defaults.maxInFlight());
        assertEquals(LinkOptions.Protocol.MQTT_5, defaults.protocol());
    }

    @Test
    void aBuiltCopyChangesOnlyWhatItSets() {
        LinkOptions defaults = LinkOptions.of("tcp://127.0.0.1:1883", "n");
        LinkOptions copy =
                defaults.toBuilder().keepAliveSeconds(2).backoff(20, 200).build();
        assertEquals(2, copy.keepAliveSeconds());
        assertEquals(20, copy.backoffInitialMillis());
        assertEquals(200, copy.backoffMaxMillis());
        assertEquals(
                defaults,
                copy.toBuilder().keepAliveSeconds(10).backoff(100, 30_000).build());
    }

    @Test
    void buildRefusesABackoffCapBelowItsStartNamingBoth() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> LinkOptions.builder("tcp://127.0.0.1:1883", "n")
                        .backoff(500, 100)
                        .build());
        assertTrue(e.getMessage().contains("backoffInitialMillis=500, backoffMaxMillis=100"), e.getMessage());
    }
}
