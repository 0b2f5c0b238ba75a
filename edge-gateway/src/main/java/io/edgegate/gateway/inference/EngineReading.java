package io.edgegate.gateway.inference;

import java.util.Set;

/**
 * What one scrape of an engine's metrics said. Immutable. A value the engine does not export is
 * {@link Double#NaN} (counts, usage) or -1 ({@code maxLora}).
 *
 * @param engine the engine the metric names revealed, or null when none did
 * @param running requests in the engine's running batch
 * @param waiting requests waiting in the engine's queue
 * @param kvCacheUsage KV-cache use, 0 to 1
 * @param adapters the LoRA adapters (or, for Ollama, models) the engine has loaded: running or waiting
 * @param maxLora how many adapters it can hold at once
 * @param adaptersRunning how many distinct adapters its running batch uses (-1: unknown): when
 *     they are {@code maxLora}, a request for another adapter waits for one of them to drain
 */
record EngineReading(
        Engine engine,
        double running,
        double waiting,
        double kvCacheUsage,
        Set<String> adapters,
        int maxLora,
        int adaptersRunning) {

    static final EngineReading NONE = new EngineReading(null, Double.NaN, Double.NaN, Double.NaN, Set.of(), -1, -1);

    EngineReading {
        adapters = Set.copyOf(adapters);
    }

    /** Whether every adapter slot is taken by the running batch: another adapter must wait. */
    boolean adapterSlotsFull() {
        return maxLora > 0 && adaptersRunning >= maxLora;
    }

    /** Whether it carries any signal the scorer uses. */
    boolean hasSignals() {
        return !Double.isNaN(running) || !Double.isNaN(waiting) || !Double.isNaN(kvCacheUsage) || !adapters.isEmpty();
    }

    EngineReading withEngine(Engine e) {
        return new EngineReading(e, running, waiting, kvCacheUsage, adapters, maxLora, adaptersRunning);
    }

    EngineReading withRunning(double r) {
        return new EngineReading(engine, r, waiting, kvCacheUsage, adapters, maxLora, adaptersRunning);
    }

    EngineReading withAdapters(Set<String> loaded) {
        return new EngineReading(engine, running, waiting, kvCacheUsage, loaded, maxLora, adaptersRunning);
    }
}
