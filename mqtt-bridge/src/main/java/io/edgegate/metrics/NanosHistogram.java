package io.edgegate.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.registry.MetricType;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricFamilyDescriptor;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A classic histogram of durations, in seconds as Prometheus wants them, recorded in nanoseconds
 * for request threads that must not wait for one another: one label (a service), and per label
 * value a {@link Series} of {@link LongAdder}s, one per bucket and one for the sum. An observation
 * compares a {@code long} with at most a dozen bounds and adds to two adders: no lock, no
 * allocation, no shared counter all threads hit (the library's {@code Histogram} keeps one
 * striped {@code AtomicLong} per processor and a {@code DoubleAdder}, twice the cost with two
 * threads on two cores, measured). The snapshot is made at scrape time: the count is the sum of
 * the buckets, so the two agree; the sum may miss an observation being recorded.
 *
 * <p>Thread-safe: {@link Series#observe} from any thread, {@link #collect} from the scraper.
 */
public final class NanosHistogram implements Collector {
    private final String name;
    private final String help;
    private final String labelName;
    private final double[] upperBoundsSeconds;
    private final long[] upperBoundsNanos;
    private final Map<String, Series> series = new ConcurrentHashMap<>();

    private NanosHistogram(String name, String help, String labelName, double[] upperBoundsSeconds) {
        this.name = name;
        this.help = help;
        this.labelName = labelName;
        this.upperBoundsSeconds = new double[upperBoundsSeconds.length + 1];
        this.upperBoundsNanos = new long[upperBoundsSeconds.length];
        for (int i = 0; i < upperBoundsSeconds.length; i++) {
            if (i > 0 && upperBoundsSeconds[i] <= upperBoundsSeconds[i - 1]) {
                throw new IllegalArgumentException(name + ": bucket bounds must rise: " + upperBoundsSeconds[i]);
            }
            this.upperBoundsSeconds[i] = upperBoundsSeconds[i];
            this.upperBoundsNanos[i] = Math.round(upperBoundsSeconds[i] * 1e9);
        }
        this.upperBoundsSeconds[upperBoundsSeconds.length] = Double.POSITIVE_INFINITY;
    }

    /** A histogram named {@code name} (ending in {@code _seconds}) with one label, registered. */
    public static NanosHistogram register(
            PrometheusRegistry registry, String name, String help, String labelName, double... upperBoundsSeconds) {
        NanosHistogram histogram = new NanosHistogram(name, help, labelName, upperBoundsSeconds);
        registry.register(histogram);
        return histogram;
    }

    /** The series of one label value, made on first use (resolve it once, keep it). */
    public Series series(String labelValue) {
        return series.computeIfAbsent(labelValue, v -> new Series(upperBoundsNanos));
    }

    /** The observations of one label value. */
    public static final class Series {
        private final long[] upperBoundsNanos;
        /** Per bucket, the last one for values above every bound (+Inf); not cumulative. */
        private final LongAdder[] buckets;

        private final LongAdder sumNanos = new LongAdder();

        private Series(long[] upperBoundsNanos) {
            this.upperBoundsNanos = upperBoundsNanos;
            this.buckets = new LongAdder[upperBoundsNanos.length + 1];
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        /** Records one duration. */
        public void observe(long nanos) {
            long[] bounds = upperBoundsNanos;
            int i = 0;
            while (i < bounds.length && nanos > bounds[i]) {
                i++;
            }
            buckets[i].increment();
            sumNanos.add(nanos);
        }
    }

    /** Its name, type, help and label, for the registry's check that no two metrics share a name. */
    @Override
    public MetricFamilyDescriptor getMetricFamilyDescriptor() {
        return MetricFamilyDescriptor.of(MetricType.HISTOGRAM, new MetricMetadata(name, help), List.of(labelName));
    }

    @Override
    public HistogramSnapshot collect() {
        List<HistogramSnapshot.HistogramDataPointSnapshot> points = new ArrayList<>(series.size());
        series.forEach((value, s) -> {
            long[] counts = new long[s.buckets.length];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = s.buckets[i].sum();
            }
            points.add(new HistogramSnapshot.HistogramDataPointSnapshot(
                    ClassicHistogramBuckets.of(upperBoundsSeconds, counts),
                    s.sumNanos.sum() / 1e9,
                    Labels.of(labelName, value),
                    Exemplars.EMPTY,
                    0));
        });
        return new HistogramSnapshot(new MetricMetadata(name, help), points);
    }
}
