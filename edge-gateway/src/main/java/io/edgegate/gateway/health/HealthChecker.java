package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.ProbeLauncher;
import io.edgegate.gateway.registry.Registry;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Runs the active probes the registry writer finds due: each on its own virtual thread, at most
 * {@code maxConcurrentProbes} at a time, and reports the result back to the registry, which
 * applies the thresholds and changes statuses. No platform thread per instance: the schedule is
 * the registry's timer wheel, the wait is a parked virtual thread.
 *
 * <p>{@link #launch} is called on the registry thread and never blocks: it only starts a virtual
 * thread. Thread-safe.
 */
public final class HealthChecker implements ProbeLauncher, AutoCloseable {
    private final Registry registry;
    private final Prober prober;
    private final ErrorLog errors;
    private final Semaphore permits;
    private final ExecutorService probes = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("edgegate-probe-", 0).factory());
    private final AtomicLong completed = new AtomicLong();
    /** Probes finished, by check kind (ordinal) and result (ordinal). */
    private final LongAdder[][] results = new LongAdder[CheckKind.values().length][Health.values().length];

    public HealthChecker(Registry registry, Prober prober, int maxConcurrentProbes, ErrorLog errors) {
        this.registry = registry;
        this.prober = prober;
        this.errors = errors;
        this.permits = new Semaphore(maxConcurrentProbes);
        for (LongAdder[] byResult : results) {
            for (int i = 0; i < byResult.length; i++) {
                byResult[i] = new LongAdder();
            }
        }
    }

    /** Attaches to the registry: from now on its due checks are probed. */
    public HealthChecker start() {
        registry.attachProbes(this);
        return this;
    }

    @Override
    public void launch(String checkId, long generation, CheckSpec check, String instanceAddress) {
        probes.execute(() -> run(checkId, generation, check, instanceAddress));
    }

    private void run(String checkId, long generation, CheckSpec check, String instanceAddress) {
        ProbeResult result;
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            return; // closing
        }
        try {
            result = prober.probe(check, instanceAddress);
        } catch (RuntimeException e) {
            errors.record(e);
            result = new ProbeResult(Health.CRITICAL, "probe failed: " + e);
        } finally {
            permits.release();
        }
        completed.incrementAndGet();
        results[check.kind().ordinal()][result.status().ordinal()].increment();
        registry.probeResult(checkId, generation, result.status(), result.output());
    }

    /**
     * Runs {@code task} within the probes' concurrency limit ({@code max-concurrent-probes}): other
     * outbound requests to instances (an engine's metrics) share the permits with the probes, so
     * the node never has more of them in flight than that. Waits for a permit on the caller's
     * (virtual) thread.
     *
     * @throws InterruptedException when interrupted while waiting for a permit
     */
    public <T, E extends Exception> T withPermit(PermittedTask<T, E> task) throws E, InterruptedException {
        permits.acquire();
        try {
            return task.run();
        } finally {
            permits.release();
        }
    }

    /** Work run under a permit (see {@link #withPermit}). */
    @FunctionalInterface
    public interface PermittedTask<T, E extends Exception> {
        T run() throws E;
    }

    /** Probes finished since start. */
    public long completed() {
        return completed.get();
    }

    /** Probes of checks of this kind finished since start with this result (before thresholds). */
    public long completed(CheckKind kind, Health result) {
        return results[kind.ordinal()][result.ordinal()].sum();
    }

    @Override
    public void close() {
        registry.attachProbes(null);
        probes.shutdownNow();
        try {
            probes.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
