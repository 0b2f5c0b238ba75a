package io.edgegate.gateway.inference;

import io.edgegate.gateway.health.HealthChecker;
import io.edgegate.gateway.health.Probers;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToIntFunction;

/**
 * Keeps the {@link SignalBoard} fresh: scrapes every inference instance's engine on a short
 * interval and publishes what it found as that instance's {@link Signals}; reads its
 * {@code /v1/models} on a longer one and writes the models and adapters it serves into the
 * instance's metadata ({@code engine-models}, {@code engine-adapters}) through the registry, so
 * that they are journaled, shown by both APIs (Consul's {@code ServiceMeta}) and synced to the
 * cloud like everything the registry holds.
 *
 * <p>Which instances: the routable ones whose metadata names an {@code engine} or advertises a
 * model ({@code model}, {@code models}, or what an earlier read wrote). Where: the instance's
 * address, on its port (Triton: 8002) or its {@code metrics-port} metadata, at the engine's
 * metrics path or its {@code metrics-path}; HTTPS when it says {@code scheme: https}. A scrape is
 * an outbound request like an HTTP check: it goes through the health prober
 * ({@link Probers#fetch}: the check-target rules, no redirects, keep-alive) and takes one of the
 * health checker's permits ({@code max-concurrent-probes}). An instance whose metadata names no
 * engine is scraped at {@code /metrics} and its engine found from the metric names; one without
 * metrics (404) is left to the gateway's own counts.
 *
 * <p>Threads: one virtual thread runs the schedule (and alone walks the registry for targets); each
 * scrape runs on a virtual thread of its own, one at a time per instance ({@link
 * EngineState#scraping}). A failed scrape publishes nothing: the instance's signals age until the
 * scorer stops trusting them.
 */
final class EngineScraper implements AutoCloseable {
    private static final Map<String, List<String>> ACCEPT_TEXT = Map.of("Accept", List.of("text/plain; version=0.0.4"));
    private static final Map<String, List<String>> ACCEPT_JSON = Map.of("Accept", List.of("application/json"));
    /** Characters a metadata value may hold (Consul's limit). */
    static final int MAX_META_VALUE = 512;

    private final Registry registry;
    private final Probers probers;
    private final HealthChecker checker;
    private final SignalBoard board;
    private final InferenceOptions options;
    private final ToIntFunction<String> inFlight;
    private final ErrorLog errors;
    private final ExecutorService scrapes = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("edgegate-scrape-", 0).factory());
    private final Thread schedule;
    private volatile boolean running = true;

    // ---- owned by the schedule thread ----
    private final Map<String, Target> targets = new HashMap<>();
    private final Map<String, Long> serviceIndexes = new HashMap<>();
    /** Every instance of each service, target or not (their states leave the board with them). */
    private final Map<String, Set<String>> serviceMembers = new HashMap<>();

    final LongAdder scraped = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder annotated = new LongAdder();

    /**
     * Where and how to scrape one instance, from its registration.
     *
     * @param id instance id
     * @param address its address (where every request goes: the check-target rules)
     * @param baseUrl {@code http(s)://address:port} of its API
     * @param metricsUrl its metrics' URL, or null (Ollama)
     * @param engine the engine its metadata names, or null
     * @param parallel requests it runs at once, for an engine without metrics ({@code parallel})
     * @param meta its metadata (what the last read of its models left there)
     */
    record Target(
            String id,
            String address,
            String baseUrl,
            String metricsUrl,
            Engine engine,
            int parallel,
            Map<String, String> meta) {}

    EngineScraper(
            Registry registry,
            Probers probers,
            HealthChecker checker,
            SignalBoard board,
            InferenceOptions options,
            ToIntFunction<String> inFlight,
            ErrorLog errors) {
        this.registry = registry;
        this.probers = probers;
        this.checker = checker;
        this.board = board;
        this.options = options;
        this.inFlight = inFlight;
        this.errors = errors;
        this.schedule = Thread.ofVirtual().name("edgegate-inference").unstarted(this::run);
    }

    EngineScraper start() {
        schedule.start();
        return this;
    }

    // ---------------------------------------------------------------- the schedule thread

    private void run() {
        long intervalNanos = TimeUnit.MILLISECONDS.toNanos(options.scrapeIntervalMillis());
        long tick = Math.max(
                TimeUnit.MILLISECONDS.toNanos(5), Math.min(intervalNanos / 4, TimeUnit.MILLISECONDS.toNanos(50)));
        long nextRefresh = 0;
        while (running) {
            try {
                long now = System.nanoTime();
                if (now - nextRefresh >= 0) {
                    refreshTargets();
                    nextRefresh = now + Math.min(intervalNanos, TimeUnit.MILLISECONDS.toNanos(250));
                }
                for (Target target : targets.values()) {
                    EngineState state = board.state(target.id());
                    if (now - state.nextScrapeNanos >= 0 && state.scraping.compareAndSet(false, true)) {
                        state.nextScrapeNanos = now + intervalNanos;
                        scrapes.execute(() -> scrape(target, state));
                    }
                }
            } catch (RuntimeException e) {
                errors.record(e);
            }
            LockSupport.parkNanos(tick);
        }
    }

    /**
     * Brings the targets up to the registry: only services whose snapshot moved are looked at
     * again; an instance that left the registry leaves the board (and its prefix slot is freed).
     */
    private void refreshTargets() {
        Set<String> seenServices = new HashSet<>();
        for (ServiceSnapshot snapshot : registry.services()) {
            seenServices.add(snapshot.name());
            Long known = serviceIndexes.get(snapshot.name());
            if (known != null && known == snapshot.index()) {
                continue;
            }
            serviceIndexes.put(snapshot.name(), snapshot.index());
            Set<String> before = serviceMembers.getOrDefault(snapshot.name(), Set.of());
            Set<String> present = new HashSet<>();
            for (Instance instance : snapshot.instances()) {
                present.add(instance.id());
                Target t = instance.routable() ? target(instance) : null;
                if (t == null) {
                    targets.remove(instance.id());
                    continue;
                }
                Target old = targets.put(t.id(), t);
                EngineState state = board.state(t.id());
                if (old == null) {
                    // First sight: spread the first scrapes over one interval.
                    state.nextScrapeNanos = System.nanoTime()
                            + ThreadLocalRandom.current()
                                    .nextLong(TimeUnit.MILLISECONDS.toNanos(options.scrapeIntervalMillis()) + 1);
                }
                state.baseline = t.engine() == Engine.OLLAMA ? Signals.counted(Engine.OLLAMA, t.parallel()) : null;
            }
            for (String id : before) {
                if (!present.contains(id)) {
                    targets.remove(id);
                    board.remove(id);
                }
            }
            serviceMembers.put(snapshot.name(), present);
        }
        for (String service : new HashSet<>(serviceIndexes.keySet())) {
            if (!seenServices.contains(service)) {
                serviceIndexes.remove(service);
                for (String id : serviceMembers.getOrDefault(service, Set.of())) {
                    targets.remove(id);
                    board.remove(id);
                }
                serviceMembers.remove(service);
            }
        }
    }

    /** The target of an instance that runs an inference engine, or null. */
    static Target target(Instance instance) {
        Map<String, String> meta = instance.spec().meta();
        Engine engine = Engine.parse(meta.get("engine"));
        boolean inference = engine != null
                || meta.containsKey("model")
                || meta.containsKey("models")
                || meta.containsKey("engine-models")
                || meta.containsKey("engine-adapters");
        if (!inference || instance.spec().port() <= 0) {
            return null;
        }
        String address = instance.spec().address();
        String host = address.indexOf(':') >= 0 && !address.startsWith("[") ? "[" + address + "]" : address;
        String scheme = "https".equalsIgnoreCase(meta.getOrDefault("scheme", "")) ? "https" : "http";
        String base = scheme + "://" + host + ":" + instance.spec().port();
        String metricsUrl = null;
        if (engine != Engine.OLLAMA) {
            int port = intMeta(
                    meta,
                    "metrics-port",
                    engine == Engine.TRITON
                            ? Engine.TRITON_METRICS_PORT
                            : instance.spec().port());
            String path = meta.getOrDefault("metrics-path", "/metrics");
            metricsUrl = scheme + "://" + host + ":" + port + (path.startsWith("/") ? path : "/" + path);
        }
        return new Target(
                instance.id(), address, base, metricsUrl, engine, Math.max(1, intMeta(meta, "parallel", 1)), meta);
    }

    private static int intMeta(Map<String, String> meta, String key, int fallback) {
        String v = meta.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            return n > 0 && n <= 65_535 ? n : fallback;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    // ---------------------------------------------------------------- one scrape (its own thread)

    private void scrape(Target target, EngineState state) {
        try {
            checker.withPermit(() -> {
                scrapeNow(target, state);
                return null;
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            errors.record(e);
        } finally {
            state.scraping.set(false);
        }
    }

    private void scrapeNow(Target target, EngineState state) {
        long start = System.nanoTime();
        int inFlightThen = inFlight.applyAsInt(target.id());
        Engine engine = target.engine() != null ? target.engine() : state.detected;
        try {
            EngineReading reading = null;
            if (target.metricsUrl() != null && !state.noMetrics) {
                Probers.Fetched metrics = fetch(target, "metrics", target.metricsUrl(), ACCEPT_TEXT);
                if (metrics.status() == 200) {
                    reading = EngineMetrics.parse(metrics.body());
                    if (engine == null && reading.engine() != null) {
                        engine = reading.engine();
                        state.detected = engine;
                    }
                } else if (metrics.status() == 404 && target.engine() == null) {
                    // No metrics (an engine the gateway does not know, or none): judged by the
                    // gateway's own counts until its metrics are looked for again, with its models.
                    state.noMetrics = true;
                    state.baseline = Signals.counted(null, target.parallel());
                } else if (engine != Engine.LLAMA_CPP) {
                    throw new IOException("metrics answered " + metrics.status());
                }
            }
            if (engine == Engine.LLAMA_CPP) {
                reading = withSlots(target, reading);
            } else if (engine == Engine.OLLAMA) {
                Probers.Fetched ps = fetch(target, "ps", target.baseUrl() + "/api/ps", ACCEPT_JSON);
                Set<String> loaded = ps.status() == 200 ? EngineJson.loadedModels(ps.body()) : null;
                state.signals = Signals.counted(Engine.OLLAMA, target.parallel())
                        .withAdapters(loaded == null ? Set.of() : loaded, start);
            }
            if (reading != null && engine != Engine.OLLAMA && reading.hasSignals()) {
                state.signals = Signals.of(engine, reading, inFlightThen, start);
                state.baseline = null;
            }
            scraped.increment();
            state.lastError = null;
        } catch (IOException e) {
            failed(state, e);
        }
        if (start - state.nextModelsNanos >= 0) {
            state.nextModelsNanos = start + TimeUnit.MILLISECONDS.toNanos(options.modelsIntervalMillis());
            state.noMetrics = false;
            readModels(target);
        }
    }

    /** llama.cpp's busy slots, the running count when its metrics are off (or lack it). */
    private EngineReading withSlots(Target target, EngineReading reading) throws IOException {
        Probers.Fetched slots = fetch(target, "slots", target.baseUrl() + "/slots", ACCEPT_JSON);
        int[] busyTotal = slots.status() == 200 ? EngineJson.slots(slots.body()) : null;
        if (busyTotal == null) {
            if (reading == null) {
                throw new IOException("neither /metrics nor /slots answered (slots: " + slots.status() + ")");
            }
            return reading;
        }
        EngineReading r = reading == null ? EngineReading.NONE.withEngine(Engine.LLAMA_CPP) : reading;
        return Double.isNaN(r.running()) ? r.withRunning(busyTotal[0]) : r;
    }

    /** Reads what the engine serves and, when it differs from the instance's metadata, writes it there. */
    private void readModels(Target target) {
        EngineJson.Served served;
        try {
            Probers.Fetched models = fetch(target, "models", target.baseUrl() + "/v1/models", ACCEPT_JSON);
            served = models.status() == 200 && !models.truncated() ? EngineJson.models(models.body()) : null;
        } catch (IOException e) {
            return; // the signals' scrape counts failures; models are read again next time
        }
        if (served == null) {
            return;
        }
        EngineState state = board.lookup(target.id());
        if (state != null) {
            // Ollama loads whole models on demand (seconds): each of them is an "adapter" to keep warm.
            state.loadable = Set.copyOf(target.engine() == Engine.OLLAMA ? union(served) : served.adapters());
        }
        Map<String, String> wanted = new HashMap<>();
        wanted.put("engine-models", list(served.models()));
        wanted.put("engine-adapters", list(served.adapters()));
        boolean same = true;
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            same &= java.util.Objects.equals(e.getValue(), target.meta().get(e.getKey()));
        }
        if (same) {
            return;
        }
        registry.annotate(target.id(), wanted).whenComplete((change, error) -> {
            if (error == null) {
                annotated.increment();
            }
            // else the instance left meanwhile (404) or the registry is full: read again next time
        });
    }

    private static Set<String> union(EngineJson.Served served) {
        Set<String> all = new HashSet<>(served.models());
        all.addAll(served.adapters());
        return all;
    }

    /** Names joined with commas, as many as fit a metadata value; null (the key removed) for none. */
    static String list(Set<String> names) {
        StringBuilder out = new StringBuilder();
        for (String name : names) {
            if (out.length() + name.length() + (out.isEmpty() ? 0 : 1) > MAX_META_VALUE) {
                break;
            }
            out.append(out.isEmpty() ? "" : ",").append(name);
        }
        return out.isEmpty() ? null : out.toString();
    }

    private Probers.Fetched fetch(Target target, String what, String url, Map<String, List<String>> headers)
            throws IOException {
        return probers.fetch(
                "inference:" + target.id() + ":" + what,
                url,
                headers,
                target.address(),
                options.scrapeTimeoutMillis(),
                options.maxScrapeBytes());
    }

    private void failed(EngineState state, IOException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (message.startsWith("refused by ")) {
            refused.increment();
        } else {
            failed.increment();
        }
        state.lastError = message;
    }

    /** Instances scraped now. */
    int targets() {
        return board.size();
    }

    @Override
    public void close() {
        running = false;
        schedule.interrupt();
        scrapes.shutdownNow();
        try {
            scrapes.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
