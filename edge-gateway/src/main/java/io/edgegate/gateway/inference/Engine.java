package io.edgegate.gateway.inference;

import java.util.Locale;

/**
 * The inference engines whose signals the gateway reads, as an instance names them in its
 * {@code engine} metadata or as its metrics reveal them, and where each keeps those signals.
 */
enum Engine {
    /** vLLM: {@code vllm:*} metrics, LoRA adapters in {@code vllm:lora_requests_info}. */
    VLLM("vllm", "/metrics", "vllm:"),
    /** SGLang ({@code --enable-metrics}): {@code sglang:*} metrics. */
    SGLANG("sglang", "/metrics", "sglang:"),
    /** Hugging Face Text Generation Inference: {@code tgi_*} metrics. */
    TGI("tgi", "/metrics", "tgi_"),
    /** NVIDIA Triton: {@code nv_*} metrics on the metrics port (8002 unless the instance says). */
    TRITON("triton", "/metrics", "nv_"),
    /** llama.cpp's server: {@code llamacpp:*} metrics ({@code --metrics}) and {@code /slots}. */
    LLAMA_CPP("llama.cpp", "/metrics", "llamacpp:"),
    /** Ollama: no metrics; the gateway's own counts, and the models it has loaded ({@code /api/ps}). */
    OLLAMA("ollama", null, null);

    /** Triton's default metrics port. */
    static final int TRITON_METRICS_PORT = 8002;

    private final String wireName;
    private final String metricsPath;
    private final String metricPrefix;

    Engine(String wireName, String metricsPath, String metricPrefix) {
        this.wireName = wireName;
        this.metricsPath = metricsPath;
        this.metricPrefix = metricPrefix;
    }

    String wireName() {
        return wireName;
    }

    /** The path of its Prometheus metrics, or null when it has none. */
    String metricsPath() {
        return metricsPath;
    }

    /** The engine of an {@code engine} metadata value (case-insensitive; {@code llamacpp} too), or null. */
    static Engine parse(String text) {
        if (text == null) {
            return null;
        }
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("llamacpp") || t.equals("llama-cpp")) {
            return LLAMA_CPP;
        }
        for (Engine engine : values()) {
            if (engine.wireName.equals(t)) {
                return engine;
            }
        }
        return null;
    }

    /** The engine whose metrics carry this name, or null. */
    static Engine ofMetric(String metricName) {
        for (Engine engine : values()) {
            if (engine.metricPrefix != null && metricName.startsWith(engine.metricPrefix)) {
                return engine;
            }
        }
        return null;
    }
}
