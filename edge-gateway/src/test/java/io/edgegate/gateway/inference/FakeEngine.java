package io.edgegate.gateway.inference;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An inference engine for tests, on an ephemeral loopback port: vLLM's metric names at
 * {@code /metrics} (values set by the test, or a failing status), a model list at
 * {@code /v1/models}, and chat completions that name the engine that served them, as JSON or as
 * server-sent events. {@link #hold} keeps chat requests in flight until {@link #release}.
 */
final class FakeEngine implements AutoCloseable {
    final String name;
    final WebServer server;
    final AtomicInteger served = new AtomicInteger();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger scrapes = new AtomicInteger();
    volatile String metrics = vllm(0, 0, 0, "");
    volatile int metricsStatus = 200;
    volatile String models = "{\"object\":\"list\",\"data\":[]}";
    /** Chat requests wait on it while set. */
    volatile CountDownLatch hold;
    /** A streamed answer waits on it after its first event while set. */
    volatile CountDownLatch holdStream;

    FakeEngine(String name) {
        this.name = name;
        this.server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .routing(r -> r.any(this::handle))
                .build()
                .start();
    }

    int port() {
        return server.port();
    }

    /** vLLM's gauges: running, waiting, KV-cache use and the running LoRA adapters (comma-separated). */
    static String vllm(double running, double waiting, double kv, String loras) {
        return "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
                + "# TYPE vllm:num_requests_running gauge\n"
                + "vllm:num_requests_running{engine=\"0\",model_name=\"base\"} " + running + "\n"
                + "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                + "# TYPE vllm:num_requests_waiting gauge\n"
                + "vllm:num_requests_waiting{engine=\"0\",model_name=\"base\"} " + waiting + "\n"
                + "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
                + "# TYPE vllm:kv_cache_usage_perc gauge\n"
                + "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"base\"} " + kv + "\n"
                + "# HELP vllm:lora_requests_info Running stats on lora requests.\n"
                + "# TYPE vllm:lora_requests_info gauge\n"
                + "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"" + loras
                + "\",waiting_lora_adapters=\"\"} " + System.currentTimeMillis() / 1000.0 + "\n";
    }

    /** A model list: a base model and LoRA adapters of it. */
    static String models(String base, String... adapters) {
        StringBuilder out = new StringBuilder("{\"object\":\"list\",\"data\":[{\"id\":\"" + base
                + "\",\"object\":\"model\",\"owned_by\":\"vllm\",\"root\":\"" + base + "\",\"parent\":null}");
        for (String a : adapters) {
            out.append(",{\"id\":\"")
                    .append(a)
                    .append("\",\"object\":\"model\",\"owned_by\":\"vllm\",\"root\":\"/lora/")
                    .append(a)
                    .append("\",\"parent\":\"")
                    .append(base)
                    .append("\"}");
        }
        return out.append("]}").toString();
    }

    private void handle(ServerRequest req, ServerResponse res) throws Exception {
        String path = req.path().path();
        switch (path) {
            case "/metrics" -> {
                scrapes.incrementAndGet();
                if (metricsStatus != 200) {
                    res.status(Status.create(metricsStatus)).send("failing");
                } else {
                    res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    res.send(metrics);
                }
            }
            case "/v1/models" -> {
                res.header(HeaderNames.CONTENT_TYPE, "application/json");
                res.send(models);
            }
            case "/v1/chat/completions", "/v1/completions" -> chat(req, res);
            default -> res.status(Status.NOT_FOUND_404).send("no " + path);
        }
    }

    private void chat(ServerRequest req, ServerResponse res) throws Exception {
        inFlight.incrementAndGet();
        try {
            String body = new String(req.content().inputStream().readAllBytes(), StandardCharsets.UTF_8);
            CountDownLatch h = hold;
            if (h != null && !h.await(20, TimeUnit.SECONDS)) {
                res.status(Status.GATEWAY_TIMEOUT_504).send("held too long");
                return;
            }
            served.incrementAndGet();
            if (!body.contains("\"stream\":true")) {
                res.header(HeaderNames.CONTENT_TYPE, "application/json");
                res.send("{\"served_by\":\"" + name + "\"}");
                return;
            }
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
            try (OutputStream out = res.outputStream()) {
                for (int i = 0; i < 3; i++) {
                    out.write(
                            ("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                                            + name + "-" + i + "\"}}]}\n\n")
                                    .getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    CountDownLatch s = holdStream;
                    if (i == 0 && s != null) {
                        s.await(20, TimeUnit.SECONDS);
                    }
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            }
        } finally {
            inFlight.decrementAndGet();
        }
    }

    @Override
    public void close() {
        CountDownLatch h = hold;
        if (h != null) {
            h.countDown();
        }
        CountDownLatch s = holdStream;
        if (s != null) {
            s.countDown();
        }
        server.stop();
    }
}
