package io.edgegate.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.MetricsScrape;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.hawkular.agent.prometheus.types.MetricType;
import org.junit.jupiter.api.Test;

/**
 * What the library writes for the metric kinds the services use is read back by an independent
 * parser (Hawkular's) with the same values: the tests of both services rely on it.
 */
class ExpositionTest {

    private static MetricsScrape scrape(PrometheusRegistry registry) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExpositionFormats.init().getPrometheusTextFormatWriter().write(out, registry.scrape());
        return MetricsScrape.parse(out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void callbackCountersAndGaugesReadTheirSourcesAtEachScrape() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        AtomicLong source = new AtomicLong(3);
        Metrics.counter(registry, "edgegate_test_things_total", "Things.", source::get);
        Metrics.gauge(
                registry,
                "edgegate_test_depth",
                "Depth.",
                c -> {
                    c.call(source.get() * 2, "a");
                    c.call(1, "b");
                },
                "part");
        MetricsScrape first = scrape(registry);
        assertEquals(MetricType.COUNTER, first.type("edgegate_test_things_total"));
        assertEquals(3, first.value("edgegate_test_things_total"));
        assertEquals(6, first.value("edgegate_test_depth", "part", "a"));
        source.set(10);
        MetricsScrape second = scrape(registry);
        assertEquals(10, second.value("edgegate_test_things_total"));
        assertEquals(20, second.value("edgegate_test_depth", "part", "a"));
        assertEquals(1, second.value("edgegate_test_depth", "part", "b"));
    }

    @Test
    void labelledCounterAndClassicHistogramAreParsedWithTheirValues() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        Counter requests = Counter.builder()
                .name("edgegate_test_requests_total")
                .help("Requests.")
                .labelNames("route", "status_class")
                .withoutExemplars()
                .register(registry);
        Histogram latency = Histogram.builder()
                .name("edgegate_test_duration_seconds")
                .help("Latency.")
                .classicOnly()
                .classicUpperBounds(0.01, 0.1, 1)
                .withoutExemplars()
                .register(registry);
        requests.labelValues("r1", "5xx").inc();
        requests.labelValues("r1", "5xx").inc();
        requests.labelValues("r1", "2xx").inc();
        latency.observe(0.05);
        latency.observe(0.5);
        MetricsScrape scrape = scrape(registry);
        assertEquals(2, scrape.value("edgegate_test_requests_total", "route", "r1", "status_class", "5xx"));
        assertEquals(3, scrape.value("edgegate_test_requests_total", "route", "r1"));
        assertEquals(2, scrape.histogramCount("edgegate_test_duration_seconds"));
        assertEquals(0.55, scrape.histogram("edgegate_test_duration_seconds").getSampleSum(), 1e-9);
    }

    @Test
    void nanosHistogramIsReadAsAClassicHistogramInSeconds() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        NanosHistogram histogram =
                NanosHistogram.register(registry, "edgegate_test_wait_seconds", "Waits.", "service", 0.001, 0.1, 1);
        NanosHistogram.Series llm = histogram.series("llm");
        llm.observe(500_000); // 0.5 ms
        llm.observe(1_000_000); // exactly on the 1 ms bound: in that bucket
        llm.observe(50_000_000);
        llm.observe(3_000_000_000L); // above every bound: +Inf
        histogram.series("vision").observe(2_000_000);
        MetricsScrape scrape = scrape(registry);
        assertEquals(MetricType.HISTOGRAM, scrape.type("edgegate_test_wait_seconds"));
        org.hawkular.agent.prometheus.types.Histogram h =
                scrape.histogram("edgegate_test_wait_seconds", "service", "llm");
        assertEquals(4, h.getSampleCount());
        assertEquals(3.0515, h.getSampleSum(), 1e-9);
        assertEquals(2, h.getBuckets().get(0).getCumulativeCount(), "le=0.001");
        assertEquals(3, h.getBuckets().get(1).getCumulativeCount(), "le=0.1");
        assertEquals(3, h.getBuckets().get(2).getCumulativeCount(), "le=1");
        assertEquals(4, h.getBuckets().get(3).getCumulativeCount(), "le=+Inf");
        assertEquals(1, scrape.histogramCount("edgegate_test_wait_seconds", "service", "vision"));
    }

    @Test
    void jvmAndProcessMetricsAreRegistered() throws Exception {
        MetricsScrape scrape = scrape(Metrics.registry());
        assertTrue(scrape.value("jvm_memory_used_bytes", "area", "heap") > 0);
        assertTrue(scrape.has("process_cpu_seconds_total"));
        assertTrue(scrape.value("jvm_threads_current") > 0);
    }
}
