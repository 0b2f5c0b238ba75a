package io.edgegate.benchmarks.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Round robin, least-request and the score balancer in front of simulated vLLM engines
 * ({@link SimulatedEngine}), through a running gateway, in one run: for each balancer its own
 * engines (fresh caches), registered with {@code engine: vllm}, and a route with that balancer;
 * then the same closed-loop trace ({@link Workload}, same seed) of streamed chat requests from
 * {@code users} users per balancer for {@code warmup + duration} seconds, the balancers side by
 * side in the same minutes (a shared machine's load drifts: one after the other would compare
 * different machines). Prints time to first token p50 and p99, throughput (requests and output
 * tokens per second), the engines' prefix cache hit rate,
 * adapter loads and longest queue, and the ratios score / least-request.
 *
 * <p>Usage: {@code InferenceRoutingBench --gateway http://127.0.0.1:PORT --token-file FILE
 * [--engines 4] [--users 48] [--warmup 15] [--duration 45] [--seed 1]
 * [--balancers round-robin,least-request,score] [--adapters true] [--results FILE]}. Loopback only; it stops by itself.
 */
public final class InferenceRoutingBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String gateway;
    private final String token;
    private final Map<String, String> args;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private InferenceRoutingBench(Map<String, String> args) throws IOException {
        this.args = args;
        this.gateway = required(args, "gateway");
        this.token = Files.readString(Path.of(required(args, "token-file"))).strip();
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new LinkedHashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[i + 1]);
        }
        new InferenceRoutingBench(args).run();
        System.exit(0);
    }

    private static String required(Map<String, String> args, String name) {
        String v = args.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    private int intArg(String name, int fallback) {
        return Integer.parseInt(args.getOrDefault(name, String.valueOf(fallback)));
    }

    /** One balancer's results. */
    record Result(
            String balancer,
            int requests,
            double requestsPerSecond,
            double tokensPerSecond,
            double ttftP50Ms,
            double ttftP99Ms,
            double prefixHitRate,
            long adapterLoads,
            long maxWaiting,
            long kvBlocked,
            long loraBlocked,
            int errors) {}

    private void run() throws Exception {
        int engines = intArg("engines", 4);
        int users = intArg("users", 48);
        int warmup = intArg("warmup", 15);
        int duration = intArg("duration", 45);
        long seed = Long.parseLong(args.getOrDefault("seed", "1"));
        List<String> balancers = List.of(args.getOrDefault("balancers", "round-robin,least-request,score")
                .split(","));
        boolean adapters = Boolean.parseBoolean(args.getOrDefault("adapters", "true"));
        Workload workload = new Workload(seed, 16, 0.6, adapters);
        SimulatedEngine.Config config = new SimulatedEngine.Config(
                24, // batch slots
                375, // KV blocks of 64 tokens: 24,000 tokens
                2, // adapters loaded at once
                workload.adapters(),
                8.0, // step base, ms
                0.04, // prefill, ms per token (25,000 tokens/s)
                0.3, // decode, ms per running request
                1024, // prefill chunk, tokens per step
                100.0, // adapter load, ms
                4); // tokens per streamed event
        System.out.printf(
                Locale.ROOT,
                "inference-routing: %d simulated vLLM engines per balancer (%d slots, %d KV blocks of %d tokens, "
                        + "max_lora %d of %d adapters, step %.0f ms + %.2f ms/prefill token + %.1f ms/decoding request, "
                        + "adapter load %.0f ms); applications through adapters: %s; %d users, closed loop, "
                        + "%d s warm-up + %d s, balancers side by side; seed %d; "
                        + "%d cores, load average %s%n",
                engines,
                config.maxNumSeqs(),
                config.kvBlocks(),
                SimulatedEngine.BLOCK_TOKENS,
                config.maxLora(),
                config.adapters(),
                config.stepBaseMs(),
                config.prefillMsPerToken(),
                config.decodeMsPerSeq(),
                config.adapterLoadMs(),
                adapters ? "yes" : "no",
                users,
                warmup,
                duration,
                seed,
                Runtime.getRuntime().availableProcessors(),
                loadAverage());

        Map<String, List<SimulatedEngine>> fleets = new LinkedHashMap<>();
        for (String balancer : balancers) {
            String service = "sim-" + shortName(balancer);
            List<SimulatedEngine> fleet = new ArrayList<>();
            for (int i = 0; i < engines; i++) {
                SimulatedEngine e = new SimulatedEngine(service + "-" + i, config);
                fleet.add(e);
                register(service, e);
            }
            fleets.put(balancer, fleet);
            putRoute(shortName(balancer), service, balancer);
        }
        for (Map.Entry<String, List<SimulatedEngine>> f : fleets.entrySet()) {
            awaitReady(f.getValue());
        }
        // Every balancer at once, each with its own engines and users: the same minutes of a shared
        // machine for all (its load drifts; sequential phases would compare different machines).
        List<Result> results = new ArrayList<>();
        try (ExecutorService side = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<Result>> running = new ArrayList<>();
            for (String balancer : balancers) {
                running.add(CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return phase(balancer, fleets.get(balancer), workload, users, warmup, duration, seed);
                            } catch (Exception e) {
                                throw new IllegalStateException(balancer + ": " + e, e);
                            }
                        },
                        side));
            }
            for (CompletableFuture<Result> r : running) {
                results.add(r.get());
            }
        }
        for (List<SimulatedEngine> fleet : fleets.values()) {
            for (SimulatedEngine e : fleet) {
                e.close();
            }
        }
        report(results);
    }

    private static String shortName(String balancer) {
        return switch (balancer) {
            case "round-robin" -> "rr";
            case "least-request" -> "lr";
            case "score" -> "score";
            default -> throw new IllegalArgumentException("unknown balancer " + balancer);
        };
    }

    // ---------------------------------------------------------------- one balancer

    private Result phase(
            String balancer,
            List<SimulatedEngine> fleet,
            Workload workload,
            int users,
            int warmupSeconds,
            int durationSeconds,
            long seed)
            throws Exception {
        String url = gateway + "/" + shortName(balancer) + "/v1/chat/completions";
        long start = System.nanoTime();
        long measureFrom = start + TimeUnit.SECONDS.toNanos(warmupSeconds);
        long measureTo = measureFrom + TimeUnit.SECONDS.toNanos(durationSeconds);
        ConcurrentLinkedQueue<long[]> samples = new ConcurrentLinkedQueue<>(); // {ttftNanos, tokens, endNanos}
        AtomicLong errors = new AtomicLong();
        long cached0 = 0;
        long prompt0 = 0;
        long loads0 = 0;
        long kv0 = 0;
        long lora0 = 0;
        List<Thread> threads = new ArrayList<>();
        for (int u = 0; u < users; u++) {
            Random random = new Random(seed * 1_000_003L + u);
            threads.add(Thread.ofVirtual()
                    .start(() -> user(url, workload, random, measureFrom, measureTo, samples, errors)));
        }
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(measureFrom - System.nanoTime()));
        for (SimulatedEngine e : fleet) {
            cached0 += e.cachedTokens.get();
            prompt0 += e.promptTokens.get();
            loads0 += e.adapterLoads.get();
            kv0 += e.kvBlocked.get();
            lora0 += e.loraBlocked.get();
            e.maxWaiting.set(0);
        }
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(measureTo - System.nanoTime())));
        long cached = -cached0;
        long prompt = -prompt0;
        long loads = -loads0;
        long kvBlocked = -kv0;
        long loraBlocked = -lora0;
        long maxWaiting = 0;
        for (SimulatedEngine e : fleet) {
            cached += e.cachedTokens.get();
            prompt += e.promptTokens.get();
            loads += e.adapterLoads.get();
            kvBlocked += e.kvBlocked.get();
            loraBlocked += e.loraBlocked.get();
            maxWaiting = Math.max(maxWaiting, e.maxWaiting.get());
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        List<long[]> done = new ArrayList<>();
        for (long[] s : samples) {
            if (s[2] >= measureFrom && s[2] <= measureTo) {
                done.add(s);
            }
        }
        double[] ttft = done.stream().mapToDouble(s -> s[0] / 1e6).sorted().toArray();
        long tokens = done.stream().mapToLong(s -> s[1]).sum();
        return new Result(
                balancer,
                done.size(),
                done.size() / (double) durationSeconds,
                tokens / (double) durationSeconds,
                percentile(ttft, 0.50),
                percentile(ttft, 0.99),
                prompt == 0 ? 0 : (double) cached / prompt,
                loads,
                maxWaiting,
                kvBlocked,
                loraBlocked,
                (int) errors.get());
    }

    /** One user's closed loop: a request, its whole stream, the next; its conversation continues with the answer. */
    private void user(
            String url,
            Workload workload,
            Random random,
            long measureFrom,
            long measureTo,
            ConcurrentLinkedQueue<long[]> samples,
            AtomicLong errors) {
        Workload.Chat[] chat = new Workload.Chat[1];
        Consumer<String> failed = why -> {
            if (errors.incrementAndGet() <= 3) {
                System.err.println("request failed on " + url + ": " + why);
            }
        };
        while (System.nanoTime() < measureTo) {
            Workload.Request request = workload.next(random, chat);
            ObjectNode body = JSON.createObjectNode();
            body.put("model", request.model());
            body.put("stream", true);
            body.put("max_tokens", request.maxTokens());
            ArrayNode messages = body.putArray("messages");
            for (String[] m : request.messages()) {
                messages.addObject().put("role", m[0]).put("content", m[1]);
            }
            long sent = System.nanoTime();
            long first = -1;
            int tokens = 0;
            boolean complete = false;
            try {
                HttpResponse<InputStream> res = client.send(
                        HttpRequest.newBuilder(URI.create(url))
                                .timeout(Duration.ofSeconds(120))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                                .build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                try (BufferedReader in =
                        new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                    if (res.statusCode() != 200) {
                        String first0 = in.readLine();
                        failed.accept("status " + res.statusCode() + " " + (first0 == null ? "" : first0));
                        continue;
                    }
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        if (!line.startsWith("data: ")) {
                            continue;
                        }
                        if (line.equals("data: [DONE]")) {
                            complete = true;
                            break;
                        }
                        int at = line.indexOf("\"content\":\"");
                        if (at >= 0) {
                            if (first < 0) {
                                first = System.nanoTime();
                            }
                            int end = line.indexOf('"', at + 11);
                            tokens += countTokens(line, at + 11, end);
                        }
                    }
                }
            } catch (IOException e) {
                if (System.nanoTime() < measureTo) {
                    failed.accept(e.toString());
                }
                continue;
            } catch (InterruptedException e) {
                return;
            }
            long end = System.nanoTime();
            if (!complete || first < 0) {
                failed.accept("stream ended early (first token " + (first >= 0) + ")");
                continue;
            }
            samples.add(new long[] {first - sent, tokens, end});
            if (request.chat() != null) {
                request.chat().history.add(new String[] {"assistant", "tok ".repeat(tokens)});
            }
        }
    }

    private static int countTokens(String line, int from, int to) {
        int n = 0;
        for (int i = from; i + 3 < to + 1 && i < to; i++) {
            if (line.startsWith("tok ", i)) {
                n++;
                i += 3;
            }
        }
        return n;
    }

    // ---------------------------------------------------------------- the gateway

    private void register(String service, SimulatedEngine e) throws Exception {
        String body = "{\"service\":\"" + service + "\",\"id\":\"" + e.name + "\",\"address\":\"127.0.0.1\",\"port\":"
                + e.port() + ",\"meta\":{\"engine\":\"vllm\"}}";
        expect2xx(api("POST", "/v1/instances", body), "register " + e.name);
    }

    private void putRoute(String name, String service, String balancer) throws Exception {
        String body = "{\"match\":{\"path-prefix\":\"/" + name + "\"},\"service\":\"" + service
                + "\",\"strip-prefix\":true,\"policy\":{\"balancer\":\"" + balancer + "\",\"retries\":0}}";
        expect2xx(api("PUT", "/v1/routes/" + name, body), "route " + name);
    }

    /** Waits until the gateway has fresh signals and the models of every engine. */
    private void awaitReady(List<SimulatedEngine> fleet) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            JsonNode status = JSON.readTree(api("GET", "/v1/status", null).body());
            JsonNode signals = status.path("inference").path("signals");
            boolean ready = true;
            for (SimulatedEngine e : fleet) {
                ready &= signals.path(e.name).path("fresh").asBoolean(false);
                JsonNode instance = JSON.readTree(
                        api("GET", "/v1/instances/" + e.name, null).body());
                ready &= instance.toString().contains("engine-adapters");
            }
            if (ready) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(
                "the gateway never had fresh signals and models of " + fleet.get(0).name + "...");
    }

    private HttpResponse<String> api(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + path))
                .timeout(Duration.ofSeconds(30))
                .header("X-Consul-Token", token)
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void expect2xx(HttpResponse<String> res, String what) {
        if (res.statusCode() / 100 != 2) {
            throw new IllegalStateException(what + ": " + res.statusCode() + " " + res.body());
        }
    }

    // ---------------------------------------------------------------- report

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static String row(Result r) {
        return String.format(
                Locale.ROOT,
                "%-14s %8d %9.2f %10.1f %11.1f %11.1f %9.1f%% %8d %8d %9d %9d %7d",
                r.balancer(),
                r.requests(),
                r.requestsPerSecond(),
                r.tokensPerSecond(),
                r.ttftP50Ms(),
                r.ttftP99Ms(),
                100 * r.prefixHitRate(),
                r.adapterLoads(),
                r.maxWaiting(),
                r.kvBlocked(),
                r.loraBlocked(),
                r.errors());
    }

    private void report(List<Result> results) throws IOException {
        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "%-14s %8s %9s %10s %11s %11s %10s %8s %8s %9s %9s %7s%n",
                "balancer",
                "requests",
                "req/s",
                "tokens/s",
                "TTFT p50 ms",
                "TTFT p99 ms",
                "prefix hit",
                "lora ld",
                "max wait",
                "kv-blocked",
                "lora-wait",
                "errors");
        StringBuilder lines = new StringBuilder();
        for (Result r : results) {
            System.out.println(row(r));
            lines.append("RESULT ")
                    .append(r.balancer())
                    .append(' ')
                    .append(r.requestsPerSecond())
                    .append(' ')
                    .append(r.tokensPerSecond())
                    .append(' ')
                    .append(r.ttftP50Ms())
                    .append(' ')
                    .append(r.ttftP99Ms())
                    .append('\n');
        }
        Result lr = find(results, "least-request");
        Result score = find(results, "score");
        Result rr = find(results, "round-robin");
        if (lr != null && score != null) {
            double p99 = score.ttftP99Ms() / lr.ttftP99Ms();
            double tput = score.requestsPerSecond() / lr.requestsPerSecond();
            System.out.printf(
                    Locale.ROOT,
                    "%nratio score / least-request: TTFT p99 %.2f (target <= 0.50: %s), TTFT p50 %.2f, "
                            + "throughput %.2f req/s, %.2f tokens/s (target >= 1.30: %s)%n",
                    p99,
                    p99 <= 0.5 ? "met" : "MISSED",
                    score.ttftP50Ms() / lr.ttftP50Ms(),
                    tput,
                    score.tokensPerSecond() / lr.tokensPerSecond(),
                    tput >= 1.3 ? "met" : "MISSED");
        }
        if (lr != null && rr != null) {
            System.out.printf(
                    Locale.ROOT,
                    "ratio least-request / round-robin: TTFT p99 %.2f, throughput %.2f%n",
                    lr.ttftP99Ms() / rr.ttftP99Ms(),
                    lr.requestsPerSecond() / rr.requestsPerSecond());
        }
        String file = args.get("results");
        if (file != null) {
            Files.writeString(Path.of(file), lines.toString());
        }
    }

    private static Result find(List<Result> results, String balancer) {
        for (Result r : results) {
            if (r.balancer().equals(balancer)) {
                return r;
            }
        }
        return null;
    }

    private static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return String.join(" ", Arrays.copyOf(parts, 3));
        } catch (IOException e) {
            return "unknown";
        }
    }
}
