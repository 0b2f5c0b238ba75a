package io.edgegate.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

/** Consul's JSON shape of {@code /v1/agent/metrics}, from the snapshots Prometheus gets. */
class ConsulMetricsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode find(JsonNode list, String name) {
        for (JsonNode entry : list) {
            if (entry.get("Name").asText().equals(name)) {
                return entry;
            }
        }
        throw new AssertionError("no " + name + " in " + list);
    }

    @Test
    void gaugesCountersAndHistogramsGoWhereConsulPutsThem() {
        PrometheusRegistry registry = new PrometheusRegistry();
        Metrics.gauge(registry, "edgegate_test_index", "Index.", () -> 42);
        Counter counter = Counter.builder()
                .name("edgegate_test_requests_total")
                .help("Requests.")
                .labelNames("route")
                .register(registry);
        counter.labelValues("r1").inc(3);
        Histogram histogram = Histogram.builder()
                .name("edgegate_test_duration_seconds")
                .help("Latency.")
                .classicOnly()
                .register(registry);
        histogram.observe(1);
        histogram.observe(3);

        JsonNode body = JSON.valueToTree(ConsulMetrics.of(registry.scrape(), 1_764_756_930_000L));

        assertEquals("2025-12-03 10:15:30 +0000 UTC", body.get("Timestamp").asText());
        assertTrue(body.get("Points").isArray() && body.get("Points").isEmpty());
        assertEquals(
                42, find(body.get("Gauges"), "edgegate_test_index").get("Value").asDouble());
        JsonNode requests = find(body.get("Counters"), "edgegate_test_requests_total");
        assertEquals(3, requests.get("Count").asLong());
        assertEquals("r1", requests.get("Labels").get("route").asText());
        JsonNode duration = find(body.get("Samples"), "edgegate_test_duration_seconds");
        assertEquals(2, duration.get("Count").asLong());
        assertEquals(4, duration.get("Sum").asDouble());
        assertEquals(2, duration.get("Mean").asDouble());
    }
}
