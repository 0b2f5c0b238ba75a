package io.edgegate.benchmarks.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttSubscription;

/**
 * cloud-sync at fleet scale, against a plain QoS 1 subscriber on the same broker in the same run
 * (driven by {@code scripts/fleet-scale.sh}, which starts mosquitto with the README's settings):
 *
 * <ol>
 *   <li><b>ingest</b>: a cloud-sync process (the packaged jar, default settings) and a
 *       {@link PlainSubscriber} process subscribe; {@link SimulatedFleet} connects {@code nodes}
 *       nodes and publishes {@code instances} instances. Rate of each: instances over the time
 *       from the first publish to the last instance applied (cloud-sync's {@code /v1/stats}, read
 *       every 50 ms) or received (the plain subscriber's own clock).
 *   <li><b>loss</b>: once every node has drained, its digest has been compared: cloud-sync must
 *       hold every instance without any resync, with nothing dropped or rejected; the broker's
 *       {@code $SYS/broker/publish/messages/dropped} must not have moved.
 *   <li><b>memory</b>: {@code jcmd GC.class_histogram} (a full collection first) of cloud-sync
 *       before the nodes connect and after the ingest: live heap per instance.
 *   <li><b>rebuild</b>, {@code rounds} times, order alternating: a fresh plain subscriber replays
 *       the retained set (instances, statuses, digests) and a fresh cloud-sync replica rebuilds
 *       from it; each timed from its first message to its last (the replica: from the first
 *       {@code applied} to every instance held, read every 100 ms).
 * </ol>
 *
 * <p>With {@code fleet.withheld} = k, every node leaves its first k instances out of its first
 * publication (its digest counts them): the cloud must notice and resync, at fleet scale
 * (convergence time, resync requests and deferrals, instances republished per one missing).
 *
 * <p>Settings (system properties): {@code fleet.broker} (URL), {@code fleet.instances},
 * {@code fleet.nodes}, {@code fleet.rounds}, {@code fleet.cloudJar}, {@code fleet.cloudJavaOpts}
 * (JVM options of the cloud-sync processes, space-separated), {@code fleet.probes} (extra replay
 * contenders per round, {@code link,decode}: see {@link PlainSubscriber}), {@code fleet.plainReceiveMaximum}
 * (0: Paho's default), {@code fleet.work} (a directory for logs). Prints the figures and a last
 * line {@code RESULT key=value ...}.
 */
public final class FleetScale {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    private final String broker = System.getProperty("fleet.broker", "tcp://127.0.0.1:1883");
    private final int instances = Integer.getInteger("fleet.instances", 100_000);
    private final int nodeCount = Integer.getInteger("fleet.nodes", 100);
    private final int rounds = Integer.getInteger("fleet.rounds", 3);
    private final int withheld = Integer.getInteger("fleet.withheld", 0);
    private final Path cloudJar = Path.of(System.getProperty("fleet.cloudJar", "cloud-sync/target/cloud-sync.jar"));
    private final List<String> cloudJavaOpts = split(System.getProperty("fleet.cloudJavaOpts", ""));
    private final int plainReceiveMaximum = Integer.getInteger("fleet.plainReceiveMaximum", 0);
    private final List<String> probes =
            split(System.getProperty("fleet.probes", "").replace(',', ' '));
    private final Path work;
    private final String token = UUID.randomUUID().toString();
    private final Path tokens;
    private final String javaBin = ProcessHandle.current().info().command().orElse("java");
    private final List<Process> processes = new ArrayList<>();
    private final AtomicLong brokerDropped = new AtomicLong(-1);
    private final Map<String, String> result = new java.util.LinkedHashMap<>();

    private FleetScale() throws IOException {
        this.work = Files.createDirectories(Path.of(System.getProperty("fleet.work", "target/fleet-scale")));
        this.tokens = work.resolve("tokens.yaml");
        Files.writeString(tokens, "tokens: [{secret: " + token + ", policies: [global-management]}]\n");
    }

    public static void main(String[] args) throws Exception {
        FleetScale run = new FleetScale();
        int status = 0;
        try {
            run.run();
        } catch (Exception | AssertionError e) {
            e.printStackTrace();
            status = 1;
        } finally {
            run.stopAll();
        }
        System.exit(status); // the nodes' MQTT clients hold non-daemon threads
    }

    private void run() throws Exception {
        line(
                "fleet-scale: %,d instances over %,d nodes, broker %s, %d rebuild rounds, load average %s",
                instances, nodeCount, broker, rounds, loadAverage());
        MqttClient sys = watchBrokerDrops();
        Cloud cloud = startCloud("ingest");
        int published = instances - withheld * nodeCount;
        Plain plain = startPlain("live", published);
        cloud.awaitConnected();
        long heapEmpty = heapUsed(cloud.process.pid());
        line("cloud-sync connected; live heap empty %.1f MB", heapEmpty / 1e6);

        long epoch = System.currentTimeMillis();
        try (SimulatedFleet fleet = new SimulatedFleet(instances, nodeCount, epoch, withheld)) {
            fleet.connect(broker, 120_000);
            cloud.awaitStatuses(nodeCount);
            long t0 = System.currentTimeMillis();
            fleet.publishAll();
            long cloudDone = cloud.awaitInstances(published, 50, TimeUnit.HOURS.toMillis(2));
            long plainDone = plain.awaitDone();
            double plainRate = published / ((plainDone - t0) / 1e3);
            double cloudRate = published / ((cloudDone - t0) / 1e3);
            line(
                    "ingest: plain subscriber %.1f s (%,.0f msg/s); cloud-sync applied %.1f s (%,.0f msg/s): %.2fx",
                    (plainDone - t0) / 1e3, plainRate, (cloudDone - t0) / 1e3, cloudRate, cloudRate / plainRate);
            result.put("ingest_plain_rate", fmt(plainRate));
            result.put("ingest_cloud_rate", fmt(cloudRate));
            result.put("ingest_ratio", String.format(Locale.ROOT, "%.2f", cloudRate / plainRate));

            if (withheld > 0) {
                // every node's digest counts what it withheld: the cloud must find and fetch it
                long converged = cloud.awaitInstances(instances, 100, TimeUnit.MINUTES.toMillis(30));
                JsonNode c = cloud.stats();
                line(
                        "convergence: %d instances withheld by %d nodes held %.1f s after the ingest; resyncs requested"
                                + " %d, deferred %d; instances republished %d (%.1f per withheld), manifest"
                                + " removals %d",
                        withheld * nodeCount,
                        nodeCount,
                        (converged - cloudDone) / 1e3,
                        c.path("resyncsRequested").asLong(),
                        c.path("resyncsDeferred").asLong(),
                        fleet.republished(),
                        fleet.republished() / (double) (withheld * nodeCount),
                        c.path("manifestRemovals").asLong());
                result.put("converge_s", String.format(Locale.ROOT, "%.1f", (converged - cloudDone) / 1e3));
                result.put(
                        "resyncs_deferred",
                        Long.toString(c.path("resyncsDeferred").asLong()));
            }
            while (!fleet.drained()) {
                Thread.sleep(100);
            }
            // every node's digest follows its drain; compared once its stream is quiet (300 ms)
            Thread.sleep(3_000);
            JsonNode s = cloud.stats();
            line(
                    "after ingest: instances %d, dropped %d, rejected %s, backpressure waits %d (%d ms), resyncs"
                            + " requested %d (deferred %d), nodes asked %d; broker dropped %d",
                    s.path("instances").asLong(),
                    s.path("dropped").asLong(),
                    s.path("rejected"),
                    s.path("backpressureWaits").asLong(),
                    s.path("backpressureMillis").asLong(),
                    s.path("resyncsRequested").asLong(),
                    s.path("resyncsDeferred").asLong(),
                    fleet.resyncs(),
                    brokerDropped.get());
            result.put(
                    "dropped",
                    Long.toString(s.path("dropped").asLong()
                            + (instances - s.path("instances").asLong())));
            result.put("resyncs", Long.toString(s.path("resyncsRequested").asLong()));
            result.put("nodes_resynced", Long.toString(fleet.resyncs()));
            result.put("broker_dropped", Long.toString(brokerDropped.get()));

            long heapLoaded = heapUsed(cloud.process.pid());
            double perInstance = (heapLoaded - heapEmpty) / (double) instances;
            line(
                    "memory: live heap %.1f MB loaded, %.1f MB empty: %.0f B per instance; RSS %.0f MB",
                    heapLoaded / 1e6, heapEmpty / 1e6, perInstance, rss(cloud.process.pid()) / 1e6);
            result.put("heap_per_instance", String.format(Locale.ROOT, "%.0f", perInstance));
            cloud.stop();

            int retained = instances + 2 * nodeCount;
            List<Double> ratios = new ArrayList<>();
            for (int r = 1; r <= rounds; r++) {
                double plainMs = 0;
                double replicaMs = 0;
                long plainCpu = 0;
                long replicaCpu = 0;
                for (int step = 0; step < 2; step++) {
                    boolean plainTurn = (step == 0) == (r % 2 == 1);
                    if (plainTurn) {
                        Plain replay = startPlain("replay", retained);
                        plainMs = replay.awaitSpan();
                        plainCpu = replay.cpu;
                    } else {
                        Cloud replica = startCloud("replica-" + r);
                        replicaMs = replica.awaitRebuild(instances);
                        replicaCpu = replica.cpu;
                        if (r == 1) {
                            line(
                                    "replica heap after rebuild: %.1f MB live, RSS %.0f MB",
                                    heapUsed(replica.process.pid()) / 1e6, rss(replica.process.pid()) / 1e6);
                        }
                        replica.stop();
                    }
                }
                for (String via : probes) {
                    Plain probe = startPlain("replay", retained, via);
                    double ms = probe.awaitSpan();
                    line(
                            "  probe %s: %.2f s (%,.0f msg/s, CPU %.1f us/msg)",
                            via, ms / 1e3, retained / (ms / 1e3), probe.cpu * 1e3 / retained);
                }
                double ratio = plainMs / replicaMs;
                ratios.add(ratio);
                line(
                        "rebuild %d: plain replay %.2f s (%,.0f msg/s, CPU %.1f us/msg), cloud-sync replica %.2f s"
                                + " (%,.0f msg/s, CPU %.1f us/msg): %.2fx",
                        r,
                        plainMs / 1e3,
                        retained / (plainMs / 1e3),
                        plainCpu * 1e3 / retained,
                        replicaMs / 1e3,
                        retained / (replicaMs / 1e3),
                        replicaCpu * 1e3 / retained,
                        ratio);
            }
            double[] sorted =
                    ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            line(
                    "rebuild ratio: median %.2f (min %.2f, max %.2f); load average %s",
                    sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1], loadAverage());
            result.put("rebuild_ratio_median", String.format(Locale.ROOT, "%.2f", sorted[sorted.length / 2]));
            result.put("rebuild_ratio_min", String.format(Locale.ROOT, "%.2f", sorted[0]));
            result.put("broker_dropped_end", Long.toString(brokerDropped.get()));
        }
        sys.disconnect();
        StringBuilder b = new StringBuilder("RESULT instances=" + instances + " nodes=" + nodeCount);
        result.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
        System.out.println(b);
    }

    // ---------------------------------------------------------------- cloud-sync processes

    private final class Cloud {
        final Process process;
        final int port;
        /** CPU milliseconds of the last {@link #awaitRebuild}. */
        long cpu;

        Cloud(Process process, int port) {
            this.process = process;
            this.port = port;
        }

        JsonNode stats() throws Exception {
            HttpResponse<String> r = HTTP.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/stats"))
                            .header("X-Consul-Token", token)
                            .timeout(Duration.ofSeconds(30))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        }

        JsonNode statsOrNull() {
            try {
                return stats();
            } catch (Exception e) {
                return null;
            }
        }

        void awaitConnected() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                JsonNode s = statsOrNull();
                if (s != null && s.path("mqttConnected").asBoolean()) {
                    return;
                }
                alive();
                Thread.sleep(50);
            }
            throw new IllegalStateException("cloud-sync did not connect");
        }

        void awaitStatuses(int nodes) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (statsOrNull() == null || stats().path("applied").asLong() < nodes) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cloud-sync did not see every node's status");
                }
                alive();
                Thread.sleep(50);
            }
        }

        /** Epoch millis of the first poll that found {@code n} instances. */
        long awaitInstances(long n, long pollMillis, long timeoutMillis) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (System.nanoTime() < deadline) {
                JsonNode s = statsOrNull();
                long now = System.currentTimeMillis();
                if (s != null && s.path("instances").asLong() >= n) {
                    return now;
                }
                alive();
                Thread.sleep(pollMillis);
            }
            throw new IllegalStateException("cloud-sync did not reach " + n + " instances: " + stats());
        }

        /** Milliseconds from the first message applied to every instance held. */
        double awaitRebuild(long n) throws Exception {
            long first = 0;
            long firstCpu = 0;
            long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(1);
            while (System.nanoTime() < deadline) {
                JsonNode s = statsOrNull();
                long now = System.currentTimeMillis();
                if (s != null && first == 0 && s.path("applied").asLong() > 0) {
                    first = now;
                    firstCpu = cpuMillis(process.pid());
                }
                if (s != null && s.path("instances").asLong() >= n) {
                    cpu = cpuMillis(process.pid()) - firstCpu;
                    return now - first;
                }
                alive();
                Thread.sleep(100);
            }
            throw new IllegalStateException("replica did not rebuild");
        }

        void alive() {
            if (!process.isAlive()) {
                throw new IllegalStateException("cloud-sync exited: " + process.exitValue());
            }
        }

        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private Cloud startCloud(String name) throws IOException {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of(javaBin));
        cmd.addAll(cloudJavaOpts);
        cmd.addAll(List.of("-jar", cloudJar.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("cloud-sync-" + name + ".log").toFile());
        Map<String, String> env = pb.environment();
        env.put("CLOUDSYNC_HOST", "127.0.0.1");
        env.put("CLOUDSYNC_PORT", Integer.toString(port));
        env.put("CLOUDSYNC_CONSUL_PORT", Integer.toString(freePort()));
        env.put("CLOUDSYNC_MQTT_URL", broker);
        env.put("CLOUDSYNC_MQTT_CLIENT_ID", "cloud-sync-" + name + "-" + System.nanoTime());
        env.put("CLOUDSYNC_ACL_TOKENS_FILE", tokens.toString());
        Process p = pb.start();
        processes.add(p);
        return new Cloud(p, port);
    }

    // ---------------------------------------------------------------- plain subscribers

    private final class Plain {
        final Process process;
        final BufferedReader out;

        Plain(Process process) throws Exception {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            if (first == null || !first.startsWith("subscribed")) {
                throw new IllegalStateException("plain subscriber: " + first);
            }
        }

        private Map<String, Long> done() throws Exception {
            String line = out.readLine();
            if (line == null || !line.startsWith("done")) {
                throw new IllegalStateException("plain subscriber: " + line);
            }
            Map<String, Long> m = new HashMap<>();
            for (String kv : line.substring(5).split(" ")) {
                String[] p = kv.split("=");
                m.put(p[0], Long.parseLong(p[1]));
            }
            process.waitFor(30, TimeUnit.SECONDS);
            return m;
        }

        long awaitDone() throws Exception {
            return done().get("last");
        }

        /** CPU milliseconds of the last {@link #awaitSpan}. */
        long cpu;

        double awaitSpan() throws Exception {
            Map<String, Long> m = done();
            cpu = m.get("cpu");
            return m.get("last") - m.get("first");
        }
    }

    private Plain startPlain(String mode, long expect) throws Exception {
        return startPlain(mode, expect, "paho");
    }

    private Plain startPlain(String mode, long expect, String via) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(
                javaBin,
                "-cp",
                System.getProperty("java.class.path"),
                PlainSubscriber.class.getName(),
                broker,
                mode,
                Long.toString(expect),
                Integer.toString(plainReceiveMaximum),
                via);
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        processes.add(p);
        return new Plain(p);
    }

    // ---------------------------------------------------------------- measurements

    private MqttClient watchBrokerDrops() throws Exception {
        MqttClient c = new MqttClient(broker, "fleet-scale-sys-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        c.connect(o);
        c.subscribe(
                new MqttSubscription[] {new MqttSubscription("$SYS/broker/publish/messages/dropped", 0)},
                new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {
                    (topic, m) ->
                            brokerDropped.set(Long.parseLong(new String(m.getPayload(), StandardCharsets.UTF_8).trim()))
                });
        return c;
    }

    /** Live heap: the total of a class histogram, which jcmd takes after a full collection. */
    private long heapUsed(long pid) throws Exception {
        Path jcmd = Path.of(javaBin).resolveSibling("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.class_histogram")
                .redirectErrorStream(true)
                .start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        for (String l : text.split("\n")) {
            if (l.startsWith("Total")) {
                String[] f = l.trim().split("\\s+");
                return Long.parseLong(f[2]);
            }
        }
        throw new IllegalStateException("no histogram total: " + text.substring(0, Math.min(400, text.length())));
    }

    /** A process's CPU time (user and system, every thread) from /proc, milliseconds (100 ticks a second). */
    private static long cpuMillis(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // utime and stime: fields 14 and 15 of stat, 11 and 12 counted from the state field
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
    }

    private static long rss(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
            }
        }
        return -1;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split(" ", 4)[0];
        } catch (IOException e) {
            return "?";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void stopAll() {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static List<String> split(String s) {
        return s.isBlank() ? List.of() : Arrays.asList(s.trim().split("\\s+"));
    }

    private static String fmt(double rate) {
        return String.format(Locale.ROOT, "%.0f", rate);
    }

    private static void line(String format, Object... args) {
        System.out.println(String.format(Locale.ROOT, format, args));
        System.out.flush();
    }
}
