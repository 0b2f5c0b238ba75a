package io.edgegate.metrics;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.DistributionDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Label;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.StateSetSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON of Consul's {@code GET /v1/agent/metrics} (without {@code format}), made from the same
 * snapshots as the Prometheus text: {@code Timestamp} ({@code 2026-12-03 10:15:30 +0000 UTC}),
 * {@code Gauges}, {@code Points}, {@code Counters}, {@code Samples}.
 *
 * <ul>
 *   <li>a gauge (an info metric is 1, each state of a state set 1 or 0) is a {@code Gauges} entry
 *       {@code {"Name", "Value", "Labels"}};
 *   <li>a counter is a {@code Counters} entry {@code {"Name", "Count", "Sum", "Labels"}} whose count
 *       and sum are its value since start (Consul's agent reports an interval's aggregate;
 *       these counters are cumulative, as in the Prometheus text);
 *   <li>a histogram or summary is a {@code Samples} entry {@code {"Name", "Count", "Sum", "Mean",
 *       "Labels"}} (no minimum, maximum or deviation: the buckets do not keep them);
 *   <li>{@code Points} is always empty.
 * </ul>
 *
 * Names are the Prometheus names (a counter's with {@code _total}); labels are a JSON object.
 * Stateless.
 */
public final class ConsulMetrics {
    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss '+0000 UTC'").withZone(ZoneOffset.UTC);

    private ConsulMetrics() {}

    /** The JSON body (maps and lists for Jackson) of the snapshots taken at {@code nowMillis}. */
    public static Map<String, Object> of(MetricSnapshots snapshots, long nowMillis) {
        List<Object> gauges = new ArrayList<>();
        List<Object> counters = new ArrayList<>();
        List<Object> samples = new ArrayList<>();
        for (MetricSnapshot snapshot : snapshots) {
            String name = snapshot.getMetadata().getPrometheusName();
            switch (snapshot) {
                case CounterSnapshot c -> {
                    for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                        Map<String, Object> entry = entry(name + "_total");
                        entry.put("Count", (long) p.getValue());
                        entry.put("Sum", p.getValue());
                        counters.add(labelled(entry, p));
                    }
                }
                case GaugeSnapshot g -> {
                    for (GaugeSnapshot.GaugeDataPointSnapshot p : g.getDataPoints()) {
                        gauges.add(gauge(name, p.getValue(), p));
                    }
                }
                case UnknownSnapshot u -> {
                    for (UnknownSnapshot.UnknownDataPointSnapshot p : u.getDataPoints()) {
                        gauges.add(gauge(name, p.getValue(), p));
                    }
                }
                case InfoSnapshot i -> {
                    for (InfoSnapshot.InfoDataPointSnapshot p : i.getDataPoints()) {
                        gauges.add(gauge(name + "_info", 1, p));
                    }
                }
                case StateSetSnapshot s -> {
                    for (StateSetSnapshot.StateSetDataPointSnapshot p : s.getDataPoints()) {
                        for (int k = 0; k < p.size(); k++) {
                            Map<String, Object> entry = entry(name);
                            entry.put("Value", p.isTrue(k) ? 1 : 0);
                            Map<String, String> labels = labels(p.getLabels());
                            labels.put(name, p.getName(k));
                            entry.put("Labels", labels);
                            gauges.add(entry);
                        }
                    }
                }
                default -> {
                    for (DataPointSnapshot p : snapshot.getDataPoints()) {
                        if (p instanceof DistributionDataPointSnapshot d) {
                            Map<String, Object> entry = entry(name);
                            long count = d.hasCount() ? d.getCount() : 0;
                            double sum = d.hasSum() ? d.getSum() : 0;
                            entry.put("Count", count);
                            entry.put("Sum", sum);
                            entry.put("Mean", count == 0 ? 0 : sum / count);
                            samples.add(labelled(entry, p));
                        }
                    }
                }
            }
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Timestamp", TIMESTAMP.format(Instant.ofEpochMilli(nowMillis)));
        body.put("Gauges", gauges);
        body.put("Points", List.of());
        body.put("Counters", counters);
        body.put("Samples", samples);
        return body;
    }

    private static Map<String, Object> entry(String name) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("Name", name);
        return entry;
    }

    private static Map<String, Object> gauge(String name, double value, DataPointSnapshot p) {
        Map<String, Object> entry = entry(name);
        entry.put("Value", value);
        return labelled(entry, p);
    }

    private static Map<String, Object> labelled(Map<String, Object> entry, DataPointSnapshot p) {
        entry.put("Labels", labels(p.getLabels()));
        return entry;
    }

    private static Map<String, String> labels(Labels labels) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Label label : labels) {
            out.put(label.getName(), label.getValue());
        }
        return out;
    }
}
