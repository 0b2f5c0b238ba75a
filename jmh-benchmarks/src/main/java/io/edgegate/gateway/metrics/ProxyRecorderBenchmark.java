package io.edgegate.gateway.metrics;

import io.edgegate.gateway.proxy.ProxyObserver;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What metrics add to one proxied request, alone: the work of the hooks in {@code ProxyService}
 * and {@code Forwarder} with the recorders {@link ProxyMetrics} gives (two {@code System.nanoTime}
 * calls, one histogram observation, one counter increment), against the same hooks with no
 * recorder (metrics off: two null tests). Two threads, as two request threads on the 2-core
 * machine would contend for the same route's counters.
 *
 * <p>{@code metrics}: {@code off} (no recorder) or {@code on}. In this package for
 * {@link ProxyMetrics}, which is package-private.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@Threads(2)
public class ProxyRecorderBenchmark {
    @Param({"off", "on"})
    String metrics;

    private ProxyObserver.RouteRecorder route;
    private ProxyObserver.ServiceRecorder service;

    @Setup
    public void setUp() {
        if (metrics.equals("on")) {
            ProxyMetrics observer = new ProxyMetrics(new PrometheusRegistry());
            route = observer.route("svc:llm", "llm");
            service = observer.service("llm");
        }
    }

    /** The hooks of one request that got an answer: latency of the attempt, then the status class. */
    @Benchmark
    public void request() {
        ProxyObserver.ServiceRecorder recorder = service;
        long start = recorder == null ? 0 : System.nanoTime();
        if (recorder != null) {
            recorder.upstreamAnswered(System.nanoTime() - start);
        }
        ProxyObserver.RouteRecorder answers = route;
        if (answers != null) {
            answers.answered(200);
        }
    }
}
