package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks the decode benchmark's state: its body decodes to the batch RegistryScale's fill registers. */
class RegistrationDecodeBenchmarkTest {

    @ParameterizedTest
    @ValueSource(strings = {"all", "half"})
    void bodyDecodesToEveryInstanceWithItsCheck(String ttl) {
        RegistrationDecodeBenchmark benchmark = new RegistrationDecodeBenchmark();
        benchmark.ttl = ttl;
        benchmark.setUp();

        List<InstanceSpec> specs = benchmark.decodeBatch();

        assertEquals(RegistrationDecodeBenchmark.ENTRIES, specs.size());
        int checked = 0;
        for (int n = 0; n < specs.size(); n++) {
            InstanceSpec spec = specs.get(n);
            assertEquals("big", spec.service());
            assertEquals("big-bench-" + n, spec.id());
            assertEquals("10.0." + (n >>> 8 & 0xFF) + "." + (n & 0xFF), spec.address());
            assertEquals(8080, spec.port());
            assertEquals(List.of("version:v1"), spec.tags());
            assertEquals(Map.of("region", "r1"), spec.meta());
            if (!spec.checks().isEmpty()) {
                checked++;
                assertEquals(CheckKind.TTL, spec.checks().get(0).kind());
                assertEquals(300_000, spec.checks().get(0).ttlMillis());
                assertEquals("service:big-bench-" + n, spec.checks().get(0).id());
            }
        }
        assertEquals(ttl.equals("all") ? specs.size() : specs.size() / 2, checked, "instances with a TTL check");
    }
}
