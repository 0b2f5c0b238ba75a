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
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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
 * EngineState#scraping}). The schedule sleeps on a queue of due scrapes and follows the registry
 * through snapshot diffs, so its cost is in proportion to the scrapes and the changes, not to the
 * number of instances. A failed scrape publishes nothing: the instance's signals age until the
 * scorer stops trusting them, and each failure in a row doubles the wait before the next scrape (up
 * to 64 intervals and 30 s), so instances that advertise a model but answer nothing cost little.
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
    private final Map<String, Scheduled> targets = new HashMap<>();
    /** The snapshot of each service the targets reflect: a newer one is read as its diff. */
    private final Map<String, ServiceSnapshot> serviceSnapshots = new HashMap<>();
    /** Every instance of each service, target or not (their states leave the board with them). */
    private final Map<String, Set<String>> serviceMembers = new HashMap<>();

    /** Failed scrapes in a row double the wait before the next, up to this many intervals (and 30 s). */
    static final int MAX_BACKOFF_INTERVALS = 64;

    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** A target with its state on the board. */
    private record Scheduled(Target target, EngineState state) {}

    /**
     * The next scrape of one instance. Each instance has one of these in {@link #due} at a time:
     * put there when it becomes a target, taken by the schedule when due, put back by its scrape
     * when that ends (at the next interval, or later after failures). One that finds its instance
     * gone, or its state replaced, is dropped: the schedule's cost follows the scrapes that are
     * due, not the number of targets.
     */
    private record Due(String id, EngineState state, long atNanos) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(atNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(atNanos, ((Due) other).atNanos);
        }
    }

    /** The scrapes to come, by due time; the schedule takes, scrapes put back (thread-safe). */
    private final DelayQueue<Due> due = new DelayQueue<>();

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
        long refreshNanos = Math.min(intervalNanos, TimeUnit.MILLISECONDS.toNanos(250));
        long nextRefresh = 0;
        while (running) {
            try {
                long now = System.nanoTime();
                if (now - nextRefresh >= 0) {
                    refreshTargets();
                    nextRefresh = now + refreshNanos;
                }
                Due d = due.poll(Math.max(1, nextRefresh - System.nanoTime()), TimeUnit.NANOSECONDS);
                while (d != null) {
                    dispatch(d, intervalNanos);
                    d = due.poll();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                errors.record(e);
            }
        }
    }

    /** Starts the scrape {@code d} stands for, if its instance is still this target. */
    private void dispatch(Due d, long intervalNanos) {
        Scheduled s = targets.get(d.id());
        if (s == null || s.state() != d.state()) {
            d.state().scheduled.set(false); // gone, or replaced by a new state with a chain of its own
            return;
        }
        if (!d.state().scraping.compareAndSet(false, true)) {
            return; // running: that scrape puts the next one in the queue
        }
        EngineState state = s.state();
        state.nextScrapeNanos = System.nanoTime() + intervalNanos;
        Target target = s.target();
        scrapes.execute(() -> scrape(target, state));
    }

    /**
     * Brings the targets up to the registry: only services whose snapshot moved are looked at
     * again, through the snapshot's diff with the one seen last (in proportion to what changed; the
     * whole service only the first time or after the registry renumbered it); an instance that left
     * the registry leaves the board (and its prefix slot is freed).
     */
    private void refreshTargets() {
        Set<String> seenServices = new HashSet<>();
        for (ServiceSnapshot snapshot : registry.services()) {
            String service = snapshot.name();
            seenServices.add(service);
            ServiceSnapshot known = serviceSnapshots.get(service);
            if (known == snapshot || known != null && known.index() == snapshot.index()) {
                continue;
            }
            serviceSnapshots.put(service, snapshot);
            Set<String> members = serviceMembers.computeIfAbsent(service, k -> new HashSet<>());
            if (known != null
                    && snapshot.diff(known, (before, after) -> {
                        if (before != null && (after == null || !before.id().equals(after.id()))) {
                            // gone (or its slot now holds another instance)
                            members.remove(before.id());
                            forget(before.id());
                        }
                        if (after != null) {
                            members.add(after.id());
                            track(after);
                        }
                    })) {
                continue;
            }
            Set<String> present = new HashSet<>();
            for (Instance instance : snapshot.instances()) {
                present.add(instance.id());
                track(instance);
            }
            for (String id : members) {
                if (!present.contains(id)) {
                    forget(id);
                }
            }
            serviceMembers.put(service, present);
        }
        for (String service : new HashSet<>(serviceSnapshots.keySet())) {
            if (!seenServices.contains(service)) {
                serviceSnapshots.remove(service);
                for (String id : serviceMembers.getOrDefault(service, Set.of())) {
                    forget(id);
                }
                serviceMembers.remove(service);
            }
        }
    }

    /** An instance as the newest snapshot has it: a target when it is a routable inference instance. */
    private void track(Instance instance) {
        Target t = instance.routable() ? target(instance) : null;
        if (t == null) {
            targets.remove(instance.id());
            return;
        }
        EngineState state = board.state(t.id());
        targets.put(t.id(), new Scheduled(t, state));
        if (state.scheduled.compareAndSet(false, true)) {
            // First sight: spread the first scrapes over one interval.
            state.nextScrapeNanos = System.nanoTime()
                    + ThreadLocalRandom.current()
                            .nextLong(TimeUnit.MILLISECONDS.toNanos(options.scrapeIntervalMillis()) + 1);
            due.add(new Due(t.id(), state, state.nextScrapeNanos));
        }
        state.baseline = t.engine() == Engine.OLLAMA ? Signals.counted(Engine.OLLAMA, t.parallel()) : null;
    }

    /** An instance that left its service: no longer scraped, its signals off the board. */
    private void forget(String id) {
        targets.remove(id);
        board.remove(id);
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
            if (running) {
                due.add(new Due(target.id(), state, state.nextScrapeNanos));
            }
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
            state.failures = 0;
        } catch (IOException e) {
            failed(state, e);
            // An instance that does not answer (down, or no engine behind the advertised model)
            // is asked again later and later, not every interval: at most one scrape per 30 s.
            state.failures = Math.min(state.failures + 1, 31);
            long wait = TimeUnit.MILLISECONDS.toNanos(options.scrapeIntervalMillis())
                    * Math.min(1L << state.failures, MAX_BACKOFF_INTERVALS);
            state.nextScrapeNanos = start
                    + Math.max(
                            TimeUnit.MILLISECONDS.toNanos(options.scrapeIntervalMillis()),
                            Math.min(wait, MAX_BACKOFF_NANOS));
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
