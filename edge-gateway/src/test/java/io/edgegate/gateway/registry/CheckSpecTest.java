package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CheckSpecTest {
    @Test
    void builderDefaultsAreTheCanonicalConstructorsDefaultsForAbsentValues() {
        CheckSpec absent = new CheckSpec(
                "c1", null, CheckKind.TTL, null, null, null, 0, 0, 0, 0, null, 0, 0, 0, false, null, false, null);

        CheckSpec built = CheckSpec.builder("c1", CheckKind.TTL).build();

        assertEquals(absent, built);
        assertEquals("c1", built.name());
        assertEquals("GET", built.method());
        assertEquals(Health.CRITICAL, built.initialStatus());
    }

    @Test
    void toBuilderRebuildsAnEqualCheck() {
        CheckSpec check = CheckSpec.builder("c1", CheckKind.HTTP)
                .name("probe")
                .target("http://127.0.0.1:8080/health")
                .method("HEAD")
                .headers(Map.of("Accept", List.of("text/plain")))
                .intervalMillis(1_000)
                .timeoutMillis(500)
                .deregisterCriticalAfterMillis(60_000)
                .initialStatus(Health.WARNING)
                .thresholds(2, 3, 4)
                .tlsSkipVerify(true)
                .notes("n")
                .build();

        assertEquals(check, check.toBuilder().build());
    }
}
