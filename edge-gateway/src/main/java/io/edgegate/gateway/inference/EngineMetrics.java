package io.edgegate.gateway.inference;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.hawkular.agent.prometheus.text.TextPrometheusMetricDataParser;
import org.hawkular.agent.prometheus.types.Gauge;
import org.hawkular.agent.prometheus.types.Metric;
import org.hawkular.agent.prometheus.types.MetricFamily;

/**
 * Reads an engine's Prometheus text exposition (format 0.0.4) into an {@link EngineReading}, with
 * Hawkular's text parser ({@code org.hawkular.agent:prometheus-scraper}). The metrics read, by
 * engine (gauges; series of one name are summed, usages take their largest):
 *
 * <table>
 *   <caption>signals by engine</caption>
 *   <tr><th>engine<th>running<th>waiting<th>KV-cache use<th>adapters
 *   <tr><td>vLLM<td>{@code vllm:num_requests_running}<td>{@code vllm:num_requests_waiting}
 *       <td>{@code vllm:kv_cache_usage_perc}, older {@code vllm:gpu_cache_usage_perc}
 *       <td>{@code vllm:lora_requests_info} labels {@code running_lora_adapters},
 *       {@code waiting_lora_adapters}, {@code max_lora} (of the series with the newest value: a
 *       timestamp)
 *   <tr><td>SGLang<td>{@code sglang:num_running_reqs}<td>{@code sglang:num_queue_reqs}
 *       <td>{@code sglang:token_usage}<td>
 *   <tr><td>TGI<td>{@code tgi_batch_current_size}<td>{@code tgi_queue_size}<td><td>
 *   <tr><td>Triton<td>{@code nv_trt_llm_request_metrics{request_type="scheduled"}} (else
 *       {@code "active"})<td>{@code nv_trt_llm_request_metrics{request_type="waiting"}}, else
 *       {@code nv_inference_pending_request_count}<td>{@code
 *       nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"}}, else used / max<td>
 *   <tr><td>llama.cpp<td>{@code llamacpp:requests_processing}<td>{@code llamacpp:requests_deferred}
 *       <td>{@code llamacpp:kv_cache_usage_ratio} (older servers)<td>
 * </table>
 *
 * <p>The parser knows the four types of the text format; a family typed otherwise
 * ({@code untyped}, {@code unknown}, OpenMetrics' {@code info}, {@code stateset},
 * {@code gaugehistogram}) would stop it, so {@code untyped} and {@code unknown} are read as gauges
 * and the others are left out (their samples are skipped as untyped). A text the parser gives up
 * on midway yields what was read before. Stateless.
 */
final class EngineMetrics {
    private static final Set<String> PARSED_TYPES = Set.of("counter", "gauge", "summary", "histogram");

    private EngineMetrics() {}

    /** The signals in {@code text}; {@link EngineReading#NONE}'s values where it has none. */
    static EngineReading parse(String text) {
        Accumulator a = new Accumulator();
        byte[] bytes = normalized(text).getBytes(StandardCharsets.UTF_8);
        TextPrometheusMetricDataParser parser = new TextPrometheusMetricDataParser(new BytesInput(bytes));
        try {
            for (MetricFamily family = parser.parse(); family != null; family = parser.parse()) {
                a.add(family);
            }
        } catch (IOException | RuntimeException e) {
            // The parser stops at what it cannot read (a malformed line); what came before stands.
        }
        return a.reading();
    }

    /** {@code text} with families of types the parser lacks retyped or untyped (see the class comment). */
    static String normalized(String text) {
        if (!text.contains("# TYPE ")) {
            return text;
        }
        StringBuilder out = null;
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            int next = end < 0 ? text.length() : end + 1;
            String line = text.substring(start, end < 0 ? text.length() : end);
            String replacement = null;
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.trim().split("\\s+");
                String type = parts.length >= 4 ? parts[3].toLowerCase(Locale.ROOT) : "";
                if (!PARSED_TYPES.contains(type)) {
                    replacement =
                            type.equals("untyped") || type.equals("unknown") ? "# TYPE " + parts[2] + " gauge\n" : "";
                }
            }
            if (replacement != null && out == null) {
                out = new StringBuilder(text.length());
                out.append(text, 0, start);
            }
            if (out != null) {
                out.append(replacement != null ? replacement : text.substring(start, next));
            }
            start = next;
        }
        return out == null ? text : out.toString();
    }

    /** Sums and picks the signals family by family. Owned by one parse. */
    private static final class Accumulator {
        Engine engine;
        double running = Double.NaN;
        double waiting = Double.NaN;
        double kv = Double.NaN;
        double kvOld = Double.NaN;
        double trtScheduled = Double.NaN;
        double trtActive = Double.NaN;
        double trtWaiting = Double.NaN;
        double tritonPending = Double.NaN;
        double trtFraction = Double.NaN;
        double trtUsed = Double.NaN;
        double trtMax = Double.NaN;
        double loraNewest = Double.NEGATIVE_INFINITY;
        Set<String> adapters = Set.of();
        int maxLora = -1;
        int adaptersRunning = -1;

        void add(MetricFamily family) {
            String name = family.getName();
            if (engine == null) {
                engine = Engine.ofMetric(name);
            }
            switch (name) {
                case "vllm:num_requests_running",
                        "sglang:num_running_reqs",
                        "tgi_batch_current_size",
                        "llamacpp:requests_processing" -> running = sum(running, family);
                case "vllm:num_requests_waiting",
                        "sglang:num_queue_reqs",
                        "tgi_queue_size",
                        "llamacpp:requests_deferred" -> waiting = sum(waiting, family);
                case "vllm:kv_cache_usage_perc", "sglang:token_usage", "llamacpp:kv_cache_usage_ratio" ->
                    kv = max(kv, family);
                case "vllm:gpu_cache_usage_perc" -> kvOld = max(kvOld, family);
                case "vllm:lora_requests_info" -> lora(family);
                case "nv_inference_pending_request_count" -> tritonPending = sum(tritonPending, family);
                case "nv_trt_llm_request_metrics" -> {
                    trtScheduled = sumWhere(trtScheduled, family, "request_type", "scheduled");
                    trtActive = sumWhere(trtActive, family, "request_type", "active");
                    trtWaiting = sumWhere(trtWaiting, family, "request_type", "waiting");
                }
                case "nv_trt_llm_kv_cache_block_metrics" -> {
                    trtFraction = sumWhere(trtFraction, family, "kv_cache_block_type", "fraction");
                    trtUsed = sumWhere(trtUsed, family, "kv_cache_block_type", "used");
                    trtMax = sumWhere(trtMax, family, "kv_cache_block_type", "max");
                }
                default -> {
                    // not a signal the scorer uses
                }
            }
        }

        /** vLLM keeps one series per adapter set it has seen; the newest (its value is a time) holds. */
        private void lora(MetricFamily family) {
            for (Metric m : family.getMetrics()) {
                if (!(m instanceof Gauge g) || !(g.getValue() > loraNewest)) {
                    continue;
                }
                loraNewest = g.getValue();
                Map<String, String> labels = m.getLabels();
                Set<String> loaded = new HashSet<>();
                split(labels.get("running_lora_adapters"), loaded);
                adaptersRunning = loaded.size();
                split(labels.get("waiting_lora_adapters"), loaded);
                adapters = loaded;
                try {
                    maxLora = Integer.parseInt(
                            labels.getOrDefault("max_lora", "-1").trim());
                } catch (NumberFormatException e) {
                    maxLora = -1;
                }
            }
        }

        EngineReading reading() {
            double r = running;
            double w = waiting;
            double k = Double.isNaN(kv) ? kvOld : kv;
            if (Double.isNaN(r)) {
                r = Double.isNaN(trtScheduled) ? trtActive : trtScheduled;
            }
            if (Double.isNaN(w)) {
                w = Double.isNaN(trtWaiting) ? tritonPending : trtWaiting;
            }
            if (Double.isNaN(k)) {
                k = !Double.isNaN(trtFraction)
                        ? trtFraction
                        : !Double.isNaN(trtUsed) && trtMax > 0 ? trtUsed / trtMax : Double.NaN;
            }
            if (!Double.isNaN(k)) {
                k = Math.max(0, Math.min(1, k));
            }
            return new EngineReading(engine, r, w, k, adapters, maxLora, adaptersRunning);
        }

        private static double sum(double acc, MetricFamily family) {
            for (Metric m : family.getMetrics()) {
                if (m instanceof Gauge g && Double.isFinite(g.getValue())) {
                    acc = Double.isNaN(acc) ? g.getValue() : acc + g.getValue();
                }
            }
            return acc;
        }

        private static double max(double acc, MetricFamily family) {
            for (Metric m : family.getMetrics()) {
                if (m instanceof Gauge g && Double.isFinite(g.getValue())) {
                    acc = Double.isNaN(acc) ? g.getValue() : Math.max(acc, g.getValue());
                }
            }
            return acc;
        }

        private static double sumWhere(double acc, MetricFamily family, String label, String value) {
            for (Metric m : family.getMetrics()) {
                if (m instanceof Gauge g
                        && Double.isFinite(g.getValue())
                        && value.equals(m.getLabels().get(label))) {
                    acc = Double.isNaN(acc) ? g.getValue() : acc + g.getValue();
                }
            }
            return acc;
        }

        private static void split(String list, Set<String> into) {
            if (list == null) {
                return;
            }
            for (String name : list.split(",")) {
                String n = name.trim();
                if (!n.isEmpty()) {
                    into.add(n);
                }
            }
        }
    }

    /** A byte array as a stream without {@link java.io.ByteArrayInputStream}'s lock per byte (the parser reads byte by byte). */
    private static final class BytesInput extends InputStream {
        private final byte[] bytes;
        private int pos;

        BytesInput(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            return pos < bytes.length ? bytes[pos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= bytes.length) {
                return -1;
            }
            int n = Math.min(len, bytes.length - pos);
            System.arraycopy(bytes, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
