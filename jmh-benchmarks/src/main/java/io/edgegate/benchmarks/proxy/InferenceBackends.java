package io.edgegate.benchmarks.proxy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Simulated inference backends on loopback for {@code proxy-inference.sh}: N HTTP/1.1 servers
 * (the JDK's, keep-alive, a virtual thread per request) whose answer takes
 * {@code factor * (base + perRequest * (inFlight - 1))} milliseconds, where {@code inFlight}
 * counts the requests on that instance including this one when it arrives: a model server that
 * slows down as it batches more requests. One instance or more can be slow ({@code factor} > 1).
 * The answer is a small JSON naming the instance, its latency and the requests in flight seen.
 *
 * <p>Usage: {@code InferenceBackends BASE_MS PER_REQUEST_MS FACTOR,FACTOR,...}; prints one line
 * {@code PORTS p1 p2 ...} once listening (ephemeral loopback ports), then runs until terminated;
 * on TERM it prints, per instance, {@code SERVED index requests max-in-flight}.
 * No dependency beyond the JDK, so the script compiles it with javac alone.
 */
public final class InferenceBackends {
    private InferenceBackends() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length != 3) {
            System.err.println("usage: InferenceBackends BASE_MS PER_REQUEST_MS FACTOR,FACTOR,...");
            System.exit(2);
        }
        double base = Double.parseDouble(args[0]);
        double perRequest = Double.parseDouble(args[1]);
        String[] factors = args[2].split(",");
        List<HttpServer> servers = new ArrayList<>();
        List<AtomicLong> served = new ArrayList<>();
        List<AtomicInteger> maxInFlight = new ArrayList<>();
        StringBuilder ports = new StringBuilder("PORTS");
        for (int i = 0; i < factors.length; i++) {
            double factor = Double.parseDouble(factors[i]);
            int index = i;
            AtomicInteger inFlight = new AtomicInteger();
            AtomicLong count = new AtomicLong();
            AtomicInteger max = new AtomicInteger();
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/", exchange -> {
                int n = inFlight.incrementAndGet();
                max.accumulateAndGet(n, Math::max);
                try (InputStream in = exchange.getRequestBody()) {
                    in.transferTo(OutputStream.nullOutputStream());
                    long micros = Math.round(factor * (base + perRequest * (n - 1)) * 1000);
                    Thread.sleep(micros / 1000, (int) (micros % 1000) * 1000);
                    byte[] body = ("{\"instance\":" + index + ",\"in_flight\":" + n + ",\"ms\":" + micros / 1000.0
                                    + ",\"choices\":[{\"text\":\"ok\"}]}")
                            .getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "application/json");
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                    count.incrementAndGet();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    inFlight.decrementAndGet();
                    exchange.close();
                }
            });
            server.start();
            servers.add(server);
            served.add(count);
            maxInFlight.add(max);
            ports.append(' ').append(server.getAddress().getPort());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (int i = 0; i < servers.size(); i++) {
                System.out.println("SERVED " + i + " " + served.get(i).get() + " "
                        + maxInFlight.get(i).get());
            }
            System.out.flush();
        }));
        System.out.println(ports);
        System.out.flush();
        Thread.currentThread().join(); // until terminated
    }
}
