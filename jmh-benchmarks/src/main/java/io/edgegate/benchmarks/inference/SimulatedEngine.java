package io.edgegate.benchmarks.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A simulated vLLM engine on a loopback port: the scheduling that makes routing matter, with the
 * GPU's time simulated by sleeping (no CPU is burnt, so a shared machine's load bends the clock
 * equally for every balancer).
 *
 * <ul>
 *   <li>A step loop: requests wait in a FIFO queue until a batch slot ({@code maxNumSeqs}), the
 *       LoRA adapter they name and KV-cache blocks for their prompt and output are free; each
 *       step prefills up to {@code prefillChunkTokens} tokens (chunked prefill) and decodes one
 *       token for every running request, and lasts {@code stepBaseMs + prefill tokens *
 *       prefillMsPerToken + decoding requests * decodeMsPerSeq} (+ adapter loads).
 *   <li>A KV cache of {@code kvBlocks} blocks of {@value #BLOCK_TOKENS} tokens with prefix
 *       caching: the full blocks of a prompt are kept after its request ends, found again by a
 *       later prompt with the same leading text (a cumulative hash per block), and evicted least
 *       recently used when space is needed. A cached block is not prefilled again.
 *   <li>LoRA adapters: {@code maxLora} loaded at once; a request naming another one loads it
 *       (the step stalls {@code adapterLoadMs}), evicting the least recently used adapter that no
 *       running request uses.
 *   <li>Its HTTP API: {@code POST /v1/chat/completions} (always streamed: server-sent events,
 *       one per {@code tokensPerEvent} tokens and one for the first token), {@code GET /metrics}
 *       with vLLM's metric names ({@code vllm:num_requests_running}, {@code
 *       vllm:num_requests_waiting}, {@code vllm:kv_cache_usage_perc}, {@code
 *       vllm:lora_requests_info}, prefix cache counters), {@code GET /v1/models} (the base model
 *       and the adapters, with their {@code parent}).
 * </ul>
 *
 * A prompt's tokens are its characters / {@value #CHARS_PER_TOKEN}. Threads: the step loop (one
 * platform thread) owns the scheduling state; the HTTP server's virtual threads hand requests in
 * through a queue and stream each request's events from its own queue.
 */
final class SimulatedEngine implements AutoCloseable {
    static final int BLOCK_TOKENS = 64;
    static final int CHARS_PER_TOKEN = 4;
    static final int BLOCK_CHARS = BLOCK_TOKENS * CHARS_PER_TOKEN;
    static final String BASE_MODEL = "sim-base";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The engine's size and speed.
     *
     * @param maxNumSeqs requests in the running batch at most
     * @param kvBlocks KV-cache capacity in blocks
     * @param maxLora adapters loaded at once
     * @param adapters adapters it serves ({@code ad-0} ...)
     * @param stepBaseMs a step's fixed time
     * @param prefillMsPerToken a step's time per prefilled token
     * @param decodeMsPerSeq a step's time per decoding request
     * @param prefillChunkTokens tokens prefilled per step at most
     * @param adapterLoadMs time to load an adapter
     * @param tokensPerEvent tokens per streamed event after the first
     */
    record Config(
            int maxNumSeqs,
            int kvBlocks,
            int maxLora,
            int adapters,
            double stepBaseMs,
            double prefillMsPerToken,
            double decodeMsPerSeq,
            int prefillChunkTokens,
            double adapterLoadMs,
            int tokensPerEvent) {}

    final String name;
    private final Config config;
    private final HttpServer server;
    private final Thread loop;
    private final LinkedBlockingQueue<Req> incoming = new LinkedBlockingQueue<>();
    private volatile boolean running = true;
    private volatile String metrics = "";

    // ---- owned by the step loop ----
    private final ArrayDeque<Req> waiting = new ArrayDeque<>();
    private final List<Req> batch = new ArrayList<>();
    /** Every cached prompt block by its hash. */
    private final Map<Long, Block> cache = new HashMap<>();
    /** Cached blocks no running request uses, least recently used first: what eviction takes. */
    private final LinkedHashMap<Long, Block> evictable = new LinkedHashMap<>();
    /** Blocks held by running requests outside the cache (a prompt's partial block, the output). */
    private int privateBlocks;
    /** Loaded adapters, least recently used first. */
    private final LinkedHashMap<String, Boolean> loaded = new LinkedHashMap<>(16, 0.75f, true);

    final AtomicLong promptTokens = new AtomicLong();
    final AtomicLong cachedTokens = new AtomicLong();
    final AtomicLong adapterLoads = new AtomicLong();
    final AtomicLong completed = new AtomicLong();
    final AtomicLong maxWaiting = new AtomicLong();
    /** Steps whose admission stopped at a request the KV cache had no room for. */
    final AtomicLong kvBlocked = new AtomicLong();
    /** Requests passed over by an admission because every adapter slot was busy with others. */
    final AtomicLong loraBlocked = new AtomicLong();

    private static final class Block {
        final long hash;
        int refs;

        Block(long hash) {
            this.hash = hash;
        }
    }

    /** One request, its scheduling state owned by the step loop, its events read by its HTTP thread. */
    private static final class Req {
        final String adapter;
        final long[] blocks;
        final int promptTokens;
        final int maxTokens;
        final BlockingQueue<int[]> events = new LinkedBlockingQueue<>();
        final List<Block> held = new ArrayList<>();
        int privateBlocks;
        int prefillLeft;
        int generated;
        /** Tokens sent in events so far. */
        int streamed;

        boolean started;

        Req(String adapter, long[] blocks, int promptTokens, int maxTokens) {
            this.adapter = adapter;
            this.blocks = blocks;
            this.promptTokens = promptTokens;
            this.maxTokens = maxTokens;
        }
    }

    /** A token count to stream, or {@link #DONE}. */
    private static final int[] DONE = new int[0];

    SimulatedEngine(String name, Config config) throws IOException {
        this.name = name;
        this.config = config;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        publishMetrics();
        this.loop = Thread.ofPlatform().name("engine-" + name).daemon().start(this::run);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    // ---------------------------------------------------------------- HTTP

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            switch (path) {
                case "/metrics" -> send(exchange, "text/plain; version=0.0.4; charset=utf-8", metrics);
                case "/v1/models" -> send(exchange, "application/json", models());
                case "/v1/chat/completions" -> chat(exchange);
                default -> {
                    exchange.sendResponseHeaders(404, -1);
                }
            }
        }
    }

    private static void send(HttpExchange exchange, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private String models() {
        StringBuilder out = new StringBuilder("{\"object\":\"list\",\"data\":[{\"id\":\"" + BASE_MODEL
                + "\",\"object\":\"model\",\"owned_by\":\"vllm\",\"root\":\"" + BASE_MODEL + "\",\"parent\":null}");
        for (int i = 0; i < config.adapters(); i++) {
            out.append(",{\"id\":\"ad-")
                    .append(i)
                    .append("\",\"object\":\"model\",\"owned_by\":\"vllm\",\"root\":\"/lora/ad-")
                    .append(i)
                    .append("\",\"parent\":\"")
                    .append(BASE_MODEL)
                    .append("\"}");
        }
        return out.append("]}").toString();
    }

    private void chat(HttpExchange exchange) throws IOException {
        JsonNode body = JSON.readTree(exchange.getRequestBody());
        String model = body.path("model").asText(BASE_MODEL);
        StringBuilder text = new StringBuilder();
        for (JsonNode m : body.path("messages")) {
            text.append(m.path("role").asText())
                    .append('\u001f')
                    .append(m.path("content").asText())
                    .append('\u001f');
        }
        int maxTokens = Math.max(1, body.path("max_tokens").asInt(64));
        // The cache is per model: an adapter's blocks are not the base model's.
        Req req = new Req(
                model.equals(BASE_MODEL) ? null : model,
                blockHashes(model + '\u001f' + text),
                tokens(text.length()),
                maxTokens);
        incoming.add(req);
        LockSupport.unpark(loop);
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
            int sent = 0;
            while (true) {
                int[] event = req.events.poll(60, TimeUnit.SECONDS);
                if (event == null || event == DONE) {
                    break;
                }
                sent += event[0];
                out.write(("data: {\"object\":\"chat.completion.chunk\",\"model\":\"" + model
                                + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + "tok ".repeat(event[0])
                                + "\"}}]}\n\n")
                        .getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            out.write(("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},"
                            + "\"finish_reason\":\"length\"}],\"usage\":{\"completion_tokens\":" + sent + "}}\n\n"
                            + "data: [DONE]\n\n")
                    .getBytes(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static int tokens(int chars) {
        return (chars + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
    }

    /** The cumulative hash of every full block of the prompt. */
    static long[] blockHashes(CharSequence text) {
        int n = text.length() / BLOCK_CHARS;
        long[] out = new long[n];
        long h = 0xcbf29ce484222325L;
        for (int b = 0; b < n; b++) {
            for (int i = b * BLOCK_CHARS; i < (b + 1) * BLOCK_CHARS; i++) {
                h ^= text.charAt(i);
                h *= 0x100000001b3L;
            }
            out[b] = h;
        }
        return out;
    }

    // ---------------------------------------------------------------- the step loop

    private void run() {
        while (running) {
            for (Req r; (r = incoming.poll()) != null; ) {
                waiting.add(r);
            }
            if (waiting.isEmpty() && batch.isEmpty()) {
                publishMetrics();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                continue;
            }
            double stallMs = admit();
            maxWaiting.accumulateAndGet(waiting.size(), Math::max);
            int budget = config.prefillChunkTokens();
            int prefilled = 0;
            int decoding = 0;
            List<Req> firstToken = new ArrayList<>();
            for (Req r : batch) {
                if (r.prefillLeft > 0) {
                    int take = Math.min(budget, r.prefillLeft);
                    r.prefillLeft -= take;
                    budget -= take;
                    prefilled += take;
                    if (r.prefillLeft == 0) {
                        firstToken.add(r);
                    }
                } else if (r.started) {
                    decoding++;
                }
            }
            publishMetrics();
            double stepMs = config.stepBaseMs()
                    + prefilled * config.prefillMsPerToken()
                    + decoding * config.decodeMsPerSeq()
                    + stallMs;
            sleep((long) (stepMs * 1_000_000));
            for (Iterator<Req> it = batch.iterator(); it.hasNext(); ) {
                Req r = it.next();
                if (firstToken.contains(r)) {
                    r.started = true;
                    r.generated = 1;
                    r.streamed = 1;
                    r.events.add(new int[] {1});
                } else if (r.started) {
                    r.generated++;
                    int pending = r.generated - r.streamed;
                    if (pending >= config.tokensPerEvent() || r.generated >= r.maxTokens) {
                        r.streamed = r.generated;
                        r.events.add(new int[] {pending});
                    }
                }
                if (r.started && r.generated >= r.maxTokens) {
                    finish(r);
                    it.remove();
                }
            }
        }
    }

    /** Sleeps the step's whole time (a request arriving unparks the loop, which must not cut the step short). */
    private static void sleep(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** Admits waiting requests in order while a slot, their adapter and KV blocks allow; returns adapter load time. */
    private double admit() {
        double stallMs = 0;
        for (Iterator<Req> it = waiting.iterator(); it.hasNext() && batch.size() < config.maxNumSeqs(); ) {
            Req r = it.next();
            if (r.adapter != null && !loaded.containsKey(r.adapter)) {
                if (loaded.size() >= config.maxLora() && !evictAdapter()) {
                    loraBlocked.incrementAndGet();
                    continue; // every loaded adapter is in use: a later request may still fit
                }
                loaded.put(r.adapter, Boolean.TRUE);
                adapterLoads.incrementAndGet();
                stallMs += config.adapterLoadMs();
            } else if (r.adapter != null) {
                loaded.get(r.adapter); // touch: most recently used
            }
            if (!allocate(r)) {
                kvBlocked.incrementAndGet();
                break; // the KV cache is full: first come, first served
            }
            it.remove();
            batch.add(r);
        }
        return stallMs;
    }

    private boolean evictAdapter() {
        for (String adapter : loaded.keySet()) {
            boolean inUse = false;
            for (Req r : batch) {
                inUse |= adapter.equals(r.adapter);
            }
            if (!inUse) {
                loaded.remove(adapter);
                return true;
            }
        }
        return false;
    }

    /** Finds the cached prefix, reserves the rest of the prompt and the output; false when they do not fit. */
    private boolean allocate(Req r) {
        int matched = 0;
        while (matched < r.blocks.length && cache.containsKey(r.blocks[matched])) {
            matched++;
        }
        for (int i = 0; i < matched; i++) {
            pin(cache.get(r.blocks[i]));
        }
        int newPromptBlocks = r.blocks.length - matched;
        int tailTokens = r.promptTokens - r.blocks.length * BLOCK_TOKENS;
        int privateNeeded = (tailTokens + r.maxTokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
        int need = newPromptBlocks + privateNeeded;
        int free = config.kvBlocks() - cache.size() - privateBlocks;
        if (free + evictable.size() < need) {
            for (int i = 0; i < matched; i++) {
                unpin(cache.get(r.blocks[i]));
            }
            return false;
        }
        while (free < need) {
            Iterator<Block> oldest = evictable.values().iterator();
            Block victim = oldest.next();
            oldest.remove();
            cache.remove(victim.hash);
            free++;
        }
        for (int i = 0; i < matched; i++) {
            r.held.add(cache.get(r.blocks[i]));
        }
        for (int i = matched; i < r.blocks.length; i++) {
            Block b = new Block(r.blocks[i]);
            cache.put(b.hash, b);
            pin(b);
            r.held.add(b);
        }
        r.privateBlocks = privateNeeded;
        privateBlocks += privateNeeded;
        r.prefillLeft = Math.max(1, r.promptTokens - matched * BLOCK_TOKENS);
        promptTokens.addAndGet(r.promptTokens);
        cachedTokens.addAndGet((long) matched * BLOCK_TOKENS);
        return true;
    }

    private void pin(Block b) {
        if (b.refs++ == 0) {
            evictable.remove(b.hash);
        }
    }

    private void unpin(Block b) {
        if (--b.refs == 0) {
            evictable.put(b.hash, b);
        }
    }

    private void finish(Req r) {
        for (Block b : r.held) {
            unpin(b);
        }
        privateBlocks -= r.privateBlocks;
        completed.incrementAndGet();
        r.events.add(DONE);
    }

    /** vLLM's gauges and counters as of now (the step loop's view, published whole). */
    private void publishMetrics() {
        int usedBlocks = privateBlocks + cache.size() - evictable.size();
        TreeSet<String> runningAdapters = new TreeSet<>();
        for (Req r : batch) {
            if (r.adapter != null) {
                runningAdapters.add(r.adapter);
            }
        }
        TreeSet<String> waitingAdapters = new TreeSet<>();
        for (Req r : waiting) {
            if (r.adapter != null) {
                waitingAdapters.add(r.adapter);
            }
        }
        String labels = "{engine=\"0\",model_name=\"" + BASE_MODEL + "\"}";
        metrics = "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
                + "# TYPE vllm:num_requests_running gauge\n"
                + "vllm:num_requests_running" + labels + " " + batch.size() + ".0\n"
                + "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                + "# TYPE vllm:num_requests_waiting gauge\n"
                + "vllm:num_requests_waiting" + labels + " " + waiting.size() + ".0\n"
                + "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
                + "# TYPE vllm:kv_cache_usage_perc gauge\n"
                + "vllm:kv_cache_usage_perc" + labels + " " + (double) usedBlocks / config.kvBlocks() + "\n"
                + "# HELP vllm:lora_requests_info Running stats on lora requests.\n"
                + "# TYPE vllm:lora_requests_info gauge\n"
                + "vllm:lora_requests_info{max_lora=\"" + config.maxLora() + "\",running_lora_adapters=\""
                + String.join(",", runningAdapters) + "\",waiting_lora_adapters=\"" + String.join(",", waitingAdapters)
                + "\"} " + System.currentTimeMillis() / 1000.0 + "\n"
                + "# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.\n"
                + "# TYPE vllm:prefix_cache_queries_total counter\n"
                + "vllm:prefix_cache_queries_total" + labels + " " + promptTokens.get() + ".0\n"
                + "# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.\n"
                + "# TYPE vllm:prefix_cache_hits_total counter\n"
                + "vllm:prefix_cache_hits_total" + labels + " " + cachedTokens.get() + ".0\n";
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(loop);
        server.stop(0);
    }
}
