package io.edgegate.bridge.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hawkular.agent.prometheus.text.TextPrometheusMetricDataParser;
import org.hawkular.agent.prometheus.types.Counter;
import org.hawkular.agent.prometheus.types.Gauge;
import org.hawkular.agent.prometheus.types.Histogram;
import org.hawkular.agent.prometheus.types.Metric;
import org.hawkular.agent.prometheus.types.MetricFamily;
import org.hawkular.agent.prometheus.types.MetricType;

/**
 * One scrape of a {@code /metrics} answer, parsed by a parser that is not the writer's
 * (Hawkular's Prometheus text parser), with look-ups by family name and labels. A family is found
 * by the name it has in the text's {@code # TYPE} line; a counter also by its name without
 * {@code _total}, whichever the writer used.
 */
public final class MetricsScrape {
    private final Map<String, MetricFamily> families = new LinkedHashMap<>();

    private MetricsScrape(String text) {
        TextPrometheusMetricDataParser parser =
                new TextPrometheusMetricDataParser(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        try {
            MetricFamily family;
            while ((family = parser.parse()) != null) {
                families.put(family.getName(), family);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses the Prometheus text format. */
    public static MetricsScrape parse(String text) {
        return new MetricsScrape(text);
    }

    public boolean has(String name) {
        return family(name) != null;
    }

    /** The family's type as the text declared it. */
    public MetricType type(String name) {
        return require(name).getType();
    }

    /**
     * The value of the counter or gauge sample whose labels include {@code labels} (name, value,
     * ...); the sum when several do. Fails naming what was there when none does.
     */
    public double value(String name, String... labels) {
        List<Metric> found = matching(name, labels);
        double sum = 0;
        for (Metric m : found) {
            if (m instanceof Counter c) {
                sum += c.getValue();
            } else if (m instanceof Gauge g) {
                sum += g.getValue();
            } else {
                throw new AssertionError(name + " is not a counter or gauge: " + m);
            }
        }
        return sum;
    }

    /** The value, or {@code fallback} when no sample matches (a series not made yet). */
    public double valueOr(double fallback, String name, String... labels) {
        MetricFamily family = family(name);
        if (family == null) {
            return fallback;
        }
        List<Metric> found = select(family, labels);
        return found.isEmpty() ? fallback : value(name, labels);
    }

    /** The observation count of the histogram samples whose labels include {@code labels}. */
    public long histogramCount(String name, String... labels) {
        long count = 0;
        for (Metric m : matching(name, labels)) {
            count += ((Histogram) m).getSampleCount();
        }
        return count;
    }

    /** The histogram sample whose labels include {@code labels} (the first). */
    public Histogram histogram(String name, String... labels) {
        return (Histogram) matching(name, labels).get(0);
    }

    private List<Metric> matching(String name, String... labels) {
        MetricFamily family = require(name);
        List<Metric> found = select(family, labels);
        if (found.isEmpty()) {
            List<Map<String, String>> seen = new ArrayList<>();
            for (Metric m : family.getMetrics()) {
                seen.add(m.getLabels());
            }
            throw new AssertionError("no sample of " + name + " with " + List.of(labels) + "; samples: " + seen);
        }
        return found;
    }

    private static List<Metric> select(MetricFamily family, String... labels) {
        List<Metric> found = new ArrayList<>();
        for (Metric m : family.getMetrics()) {
            boolean match = true;
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(m.getLabels().get(labels[i]))) {
                    match = false;
                    break;
                }
            }
            if (match) {
                found.add(m);
            }
        }
        return found;
    }

    private MetricFamily family(String name) {
        MetricFamily family = families.get(name);
        if (family == null && name.endsWith("_total")) {
            family = families.get(name.substring(0, name.length() - "_total".length()));
        }
        return family;
    }

    private MetricFamily require(String name) {
        MetricFamily family = family(name);
        if (family == null) {
            throw new AssertionError("no metric family " + name + " in the scrape; families: " + families.keySet());
        }
        return family;
    }
}
