package io.edgegate.gateway.inference;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the gateway knows of one instance's engine, kept for as long as the instance is registered:
 * its latest {@link Signals} and its slot in the {@link PrefixTable}.
 *
 * <p>Threads: request threads read {@link #signals} (one volatile read) and {@link #slot}. The
 * scraper writes {@link #signals}; the other fields belong to the scrape of this instance, which
 * runs on one virtual thread at a time: {@link #scraping} is taken before and released after, so
 * each scrape sees what the one before wrote.
 */
final class EngineState {
    final String instanceId;
    /** Its owner number in the prefix table, 1-65535; 0 when slots ran out (no prefix affinity). */
    final int slot;

    /** The latest signals, or null before the first scrape that had any. */
    volatile Signals signals;

    /**
     * Signals that hold without a scrape, whatever their age, or null: an engine without metrics
     * (Ollama) is judged by the gateway's own counts against its parallelism.
     */
    volatile Signals baseline;

    /**
     * What loading costs on it: the LoRA adapters its engine serves ({@code /v1/models} entries
     * with a parent; for Ollama, every model it has), empty until read. A request for one of them
     * prefers the instances that have it loaded, or that this gateway sent it to lately.
     */
    volatile java.util.Set<String> loadable = java.util.Set.of();

    /** Taken by the scrape in progress. */
    final AtomicBoolean scraping = new AtomicBoolean();
    /** Its next scrape is in the scraper's queue, or a scrape runs that will put it back there. */
    final AtomicBoolean scheduled = new AtomicBoolean();

    // ---- owned by the scrape of this instance ----
    /** What its metrics revealed, when its metadata names no engine. */
    Engine detected;
    /**
     * When its next scrape is due (set by the schedule when it starts one, pushed back by a failed
     * scrape), and its next read of /v1/models.
     */
    volatile long nextScrapeNanos;
    /** Scrapes failed in a row: each doubles the wait before the next one (see EngineScraper). */
    int failures;

    long nextModelsNanos;
    /** Its metrics endpoint answered 404 (no such endpoint): looked for again with its models only. */
    boolean noMetrics;
    /** The last scrape's failure, for the status; null after a good one. */
    volatile String lastError;

    EngineState(String instanceId, int slot) {
        this.instanceId = instanceId;
        this.slot = slot;
    }
}
