/**
 * Inference-aware routing: what the gateway reads from the inference engines behind it (queue
 * depth, running requests, KV-cache use, loaded LoRA adapters, served models) and the
 * {@code score} balancer that picks an instance by it, with prefix and adapter affinity.
 *
 * <p>Parts: {@link io.edgegate.gateway.inference.EngineScraper} (scrapes on the health prober,
 * within the check-target rules and the probes' permits), {@link
 * io.edgegate.gateway.inference.EngineMetrics} (Prometheus text, by engine), {@link
 * io.edgegate.gateway.inference.EngineJson} ({@code /v1/models}, llama.cpp's {@code /slots},
 * Ollama's {@code /api/ps}), the {@link io.edgegate.gateway.inference.SignalBoard} the scraper
 * writes and the scorer reads, the {@link io.edgegate.gateway.inference.PrefixTable} and
 * {@link io.edgegate.gateway.inference.PromptPrefix} for prefix affinity, and the {@link
 * io.edgegate.gateway.inference.InferenceScorer} that the proxy calls through its
 * {@link io.edgegate.gateway.proxy.InstanceScorer} plug-in point. {@link
 * io.edgegate.gateway.inference.InferenceRouting} wires them.
 */
package io.edgegate.gateway.inference;
