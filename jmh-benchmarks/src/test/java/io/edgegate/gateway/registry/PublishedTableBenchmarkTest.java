package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks the published-table benchmark's state: both structures answer every id asked, and a replace takes effect. */
class PublishedTableBenchmarkTest {

    private static PublishedTableBenchmark setUp(String impl) {
        PublishedTableBenchmark benchmark = new PublishedTableBenchmark();
        benchmark.impl = impl;
        benchmark.instances = 1_000;
        benchmark.setUp();
        return benchmark;
    }

    @ParameterizedTest
    @ValueSource(strings = {"table", "chm"})
    void everyAskedIdFindsItsInstance(String impl) {
        PublishedTableBenchmark benchmark = setUp(impl);
        for (int i = 0; i < 2_000; i++) {
            Instance found = benchmark.lookup();
            assertNotNull(found, impl + ": lookup " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"table", "chm"})
    void aReplacedInstanceIsTheOneFound(String impl) {
        PublishedTableBenchmark benchmark = setUp(impl);
        // One pass puts revision 0 again, the second revision 1 in place of every instance.
        for (int i = 0; i < 2_000; i++) {
            benchmark.replace();
        }
        for (int i = 0; i < 1_000; i++) {
            assertEquals("1", benchmark.lookup().spec().meta().get("rev"), impl);
        }
    }
}
