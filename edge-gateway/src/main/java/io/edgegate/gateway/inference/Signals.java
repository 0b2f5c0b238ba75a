package io.edgegate.gateway.inference;

import java.util.Set;

/**
 * One instance's engine signals as of one scrape: published whole by the scraper through
 * {@link EngineState#signals}, read by request threads. Immutable. Counts the engine does not
 * export are 0; a KV-cache use it does not export is 0 (no penalty).
 *
 * @param engine the engine (as declared, else as detected), or null when unknown
 * @param counted whether the gateway's own counts stand for the engine's (an engine without
 *     metrics: Ollama, or one whose metrics endpoint is missing): its load is the gateway's
 *     requests in flight, its queue those beyond {@code running}, its parallelism
 * @param running requests in its running batch
 * @param waiting requests in its queue
 * @param kvCacheUsage KV-cache use, 0 to 1
 * @param adapters the LoRA adapters it has loaded (Ollama: the models it has loaded)
 * @param adapterSlotsFull whether its running batch uses {@code max_lora} adapters: a request for
 *     another one waits until one of them drains
 * @param inFlightAtScrape requests this gateway had in flight to it when the scrape started: those
 *     sent since are counted on top of the engine's own counts
 * @param atNanos when the scrape started ({@link System#nanoTime()})
 */
record Signals(
        Engine engine,
        boolean counted,
        double running,
        double waiting,
        double kvCacheUsage,
        Set<String> adapters,
        boolean adapterSlotsFull,
        int inFlightAtScrape,
        long atNanos) {

    Signals {
        adapters = Set.copyOf(adapters);
    }

    /** Signals of one reading: unknown counts and usages as 0. */
    static Signals of(Engine engine, EngineReading reading, int inFlightAtScrape, long atNanos) {
        return new Signals(
                engine,
                false,
                zeroIfNaN(reading.running()),
                zeroIfNaN(reading.waiting()),
                zeroIfNaN(reading.kvCacheUsage()),
                reading.adapters(),
                reading.adapterSlotsFull(),
                inFlightAtScrape,
                atNanos);
    }

    /** The signals of an engine judged by the gateway's own counts, running {@code parallel} requests at once. */
    static Signals counted(Engine engine, int parallel) {
        return new Signals(engine, true, parallel, 0, 0, Set.of(), false, 0, 0);
    }

    /** The same with these loaded adapters (models), as of {@code nanos}. */
    Signals withAdapters(Set<String> loaded, long nanos) {
        return new Signals(
                engine, counted, running, waiting, kvCacheUsage, loaded, adapterSlotsFull, inFlightAtScrape, nanos);
    }

    /** Whether they are at most {@code maxAgeNanos} old at {@code nowNanos}. */
    boolean fresh(long nowNanos, long maxAgeNanos) {
        return nowNanos - atNanos <= maxAgeNanos;
    }

    private static double zeroIfNaN(double v) {
        return Double.isNaN(v) ? 0 : v;
    }
}
