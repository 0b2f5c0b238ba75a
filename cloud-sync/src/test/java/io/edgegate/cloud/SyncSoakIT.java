package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.SyncCodec;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.Topics;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A randomized fault soak of the sync with real processes: mosquitto keeping a store, one gateway,
 * two cloud-sync replicas, each behind a relay. Faults drawn at random (every kind once first,
 * in random order): the broker killed with SIGKILL and started again with its store or without,
 * a replica killed and restarted, the gateway killed and restarted (also while its link is cut),
 * the edge-broker link and a cloud-broker link cut and restored, old messages replayed by another
 * client (duplicates, older states, a removal of a live instance). Registrations, TTL health flips
 * and deregistrations go on throughout, against the gateway's APIs.
 *
 * <p>After each fault, once both ends are connected again: every replica's view equals the edge's
 * registry within 2 s (ids, address, tags, meta, health, index); every change the gateway
 * acknowledged is in it; the replicas report the same {@code X-Consul-Index}; and a blocking query
 * given one replica's index and sent to the other neither returns at once nor misses the next
 * change. The time from both ends connected (and the last change sent) to the views equal is
 * recorded per kind of fault (p50, p99, max), printed at the end and written to {@code
 * target/sync-soak.txt}. It is timed by the processes' own clocks ({@link
 * SyncRig#convergedMillis}), so the test's own polling, slow on a loaded machine, adds nothing.
 *
 * <p>{@code -Dsoak.faults=N} (20 by default, sized for CI), {@code -Dsoak.kinds=A,B} (some kinds
 * only) and {@code -Dsoak.seed=S}: the seed of
 * each run is printed first and named in every failure, so a failing run can be replayed (the
 * faults, their order and timing, and the workload's choices; not the machine's interleaving).
 * {@code jmh-benchmarks/scripts/sync-soak.sh} runs a longer soak.
 */
@Tag("process")
class SyncSoakIT {
    private static final int FAULTS = Integer.getInteger("soak.faults", 20);
    /** Kinds of fault to draw from, comma-separated names ({@code -Dsoak.kinds=CLOUD_LINK_CUT,...}); all by default. */
    private static final List<Fault> KINDS =
            System.getProperty("soak.kinds", "").isBlank()
                    ? List.of(Fault.values())
                    : java.util.Arrays.stream(System.getProperty("soak.kinds").split(","))
                            .map(k -> Fault.valueOf(k.trim()))
                            .toList();

    private static final long SEED =
            Long.getLong("soak.seed", ThreadLocalRandom.current().nextLong());
    /** The bound on convergence, from both ends connected again (the issue's). */
    private static final long CONVERGE_MILLIS = 2_000;
    /** Generous bounds for what only waits on processes starting on a loaded machine. */
    private static final long PROCESS_MILLIS = 90_000;

    /** The kinds of fault drawn. */
    enum Fault {
        BROKER_KILLED_KEEPING_STORE("broker kill -9, restarted with its store"),
        BROKER_KILLED_LOSING_STORE("broker kill -9, restarted empty"),
        REPLICA_KILLED("replica kill -9, restarted"),
        GATEWAY_KILLED("gateway kill -9, restarted"),
        GATEWAY_KILLED_OFFLINE("gateway kill -9, restarted while offline"),
        EDGE_LINK_CUT("edge-broker link cut"),
        CLOUD_LINK_CUT("cloud-broker link cut"),
        MESSAGES_REPLAYED("messages duplicated, reordered, replayed");

        final String label;

        Fault(String label) {
            this.label = label;
        }
    }

    private final Random random = new Random(SEED);
    /** When the last replay of old messages ended (epoch milliseconds). */
    private long replayedAt;

    private final Map<Fault, List<Long>> convergence = new EnumMap<>(Fault.class);
    private final List<String> report = new ArrayList<>();
    private SyncRig rig;
    private Workload workload;
    private Tap tap;
    private String now = "setup";

    @Test
    void cloudConvergesToTheEdgeAfterEveryFault() throws Exception {
        line("sync soak: seed=" + SEED + " faults=" + FAULTS + " (replay: -Dsoak.seed=" + SEED + ")");
        try (SyncRig r = new SyncRig(Map.of(), true)) {
            rig = r;
            rig.startCloud();
            rig.startCloud();
            rig.startGateway();
            workload = new Workload(rig, new Random(SEED + 1));
            tap = Tap.start(rig);
            Thread worker = Thread.ofPlatform().name("soak-workload").start(workload);
            try {
                long connected = rig.awaitAllConnected(PROCESS_MILLIS);
                Thread.sleep(1_000);
                workload.pause();
                rig.awaitAllConverged(connected, PROCESS_MILLIS);
                workload.resume();
                List<Fault> faults = draw();
                for (int i = 0; i < faults.size(); i++) {
                    now = "fault " + (i + 1) + "/" + faults.size() + " " + faults.get(i);
                    inject(faults.get(i));
                }
            } finally {
                workload.stop();
                worker.join(TimeUnit.SECONDS.toMillis(40));
                tap.close();
            }
        } finally {
            summary();
            Files.write(Path.of("target", "sync-soak.txt"), report, StandardCharsets.UTF_8);
        }
    }

    /** Every kind once, in random order, then kinds drawn at random. */
    private List<Fault> draw() {
        List<Fault> out = new ArrayList<>(KINDS);
        Collections.shuffle(out, random);
        while (out.size() < FAULTS) {
            out.add(KINDS.get(random.nextInt(KINDS.size())));
        }
        return out;
    }

    private void inject(Fault fault) throws Exception {
        tap.clear();
        long downMillis = fault == Fault.MESSAGES_REPLAYED ? 0 : 200 + random.nextInt(1_000);
        int replica = random.nextInt(rig.clouds());
        switch (fault) {
            case BROKER_KILLED_KEEPING_STORE, BROKER_KILLED_LOSING_STORE -> {
                rig.broker().kill();
                await(() -> !rig.edgeConnected() && !rig.cloudConnected(0) && !rig.cloudConnected(1), "all saw it go");
                Thread.sleep(downMillis);
                rig.broker().restart(fault == Fault.BROKER_KILLED_KEEPING_STORE);
            }
            case REPLICA_KILLED -> {
                rig.cloud(replica).kill();
                Thread.sleep(downMillis);
                rig.startCloud(replica);
            }
            case GATEWAY_KILLED -> {
                rig.gateway().kill();
                Thread.sleep(downMillis);
                rig.startGateway();
            }
            case GATEWAY_KILLED_OFFLINE -> {
                rig.relay().cut();
                await(() -> !rig.edgeConnected(), "the gateway saw its link go");
                Thread.sleep(downMillis / 2);
                rig.gateway().kill();
                rig.startGateway();
                Thread.sleep(downMillis / 2);
                rig.relay().restore();
            }
            case EDGE_LINK_CUT -> {
                rig.relay().cut();
                await(() -> !rig.edgeConnected(), "the gateway saw its link go");
                Thread.sleep(downMillis);
                rig.relay().restore();
            }
            case CLOUD_LINK_CUT -> {
                rig.cloudRelay(replica).cut();
                await(() -> !rig.cloudConnected(replica), "the replica saw its link go");
                Thread.sleep(downMillis);
                rig.cloudRelay(replica).restore();
            }
            case MESSAGES_REPLAYED -> replayOldMessages();
        }
        // Changes go on until both ends are connected again, then stand still while the views
        // are compared (a registry that keeps changing never equals anything at one instant).
        // The clock starts when both ends are connected and the last change was sent.
        long connected = rig.awaitAllConnected(PROCESS_MILLIS);
        workload.pause();
        Sampler sampler = Sampler.start(rig);
        long since = Math.max(Math.max(rig.connectedAtMillis(), workload.lastChangeAt()), replayedAt);
        List<String> looks = new ArrayList<>();
        SyncRig.Convergence seen;
        try {
            seen = rig.awaitAllConverged(connected, PROCESS_MILLIS, looks);
            replicasAgreeOnTheIndex();
        } catch (AssertionError e) {
            sampler.stop();
            sampler.print(since, this::line);
            tap.print(since, this::line);
            throw new AssertionError(context() + ": " + e.getMessage(), e);
        }
        sampler.stop();
        long millis = rig.convergedMillis(since, seen);
        convergence.computeIfAbsent(fault, f -> new ArrayList<>()).add(millis);
        line(String.format(
                "%-36s down %4d ms: converged %5d ms after both ends connected (the test saw it %d ms after it saw"
                        + " them connected)",
                now, downMillis, millis, seen.seenMillis()));
        if (millis > CONVERGE_MILLIS / 2 || seen.seenMillis() > CONVERGE_MILLIS) {
            line("  looks (ms since connected + ms the look took, per replica = or instances differing): " + looks);
            line("  gateway sync=" + rig.syncStatus());
            for (int i = 0; i < rig.clouds(); i++) {
                line("  cloud-sync-" + i + " stats=" + rig.cloudJson(i, "/v1/stats"));
            }
            sampler.print(since, this::line);
            tap.print(since, this::line);
        }
        if (millis > CONVERGE_MILLIS) {
            fail(context() + ": converged " + millis + " ms after both ends connected, over the " + CONVERGE_MILLIS
                    + " ms bound");
        }
        workload.checkNothingAcknowledgedWasLost(rig.edgeTruth(), context());
        aBlockingQueryMovedToTheOtherReplicaWaitsForTheNextChange();
        workload.resume();
    }

    /**
     * Another client on the broker (a bridge loop, a failover that redelivers) sends, not
     * retained, for a few live instances: the current state again, an older one, and a removal
     * (which carries no version), then a payload that is not JSON. Both ends stay connected; the
     * clock starts when the replay ends.
     */
    private void replayOldMessages() throws Exception {
        String filter = "site=" + SyncRig.SITE + "&node=" + SyncRig.NODE;
        List<JsonNode> live = new ArrayList<>();
        for (JsonNode service : rig.cloudJson(0, "/v1/services?" + filter)) {
            rig.cloudJson(0, "/v1/services/" + service.path("service").asText() + "?" + filter)
                    .forEach(live::add);
        }
        Topics topics = new Topics(SyncRig.SITE, SyncRig.NODE);
        MqttClient rogue =
                new MqttClient(rig.broker().url(), "soak-replay-" + System.nanoTime(), new MemoryPersistence());
        rogue.connect();
        try {
            for (int i = 0; i < 3 && !live.isEmpty(); i++) {
                JsonNode x = live.remove(random.nextInt(live.size()));
                InstanceState now = new InstanceState(
                        x.path("service").asText(),
                        x.path("id").asText(),
                        x.path("address").asText(),
                        x.path("port").asInt(),
                        List.of(),
                        Map.of("rev", x.path("meta").path("rev").asText()),
                        SyncHealth.PASSING,
                        x.path("epoch").asLong(),
                        x.path("index").asLong(),
                        System.currentTimeMillis());
                InstanceState older = new InstanceState(
                        now.service(),
                        now.id(),
                        "10.9.9.9",
                        1,
                        List.of(),
                        Map.of("rev", "replayed"),
                        SyncHealth.CRITICAL,
                        now.epoch(),
                        now.index() - 1,
                        now.timestamp());
                String topic = topics.instance(now.id());
                replay(rogue, topic, SyncCodec.encode(now));
                replay(rogue, topic, SyncCodec.encode(older));
                replay(rogue, topic, new byte[0]);
            }
            replay(rogue, topics.instance("junk"), "{not json".getBytes(StandardCharsets.UTF_8));
        } finally {
            rogue.disconnect();
            rogue.close();
        }
        replayedAt = System.currentTimeMillis();
    }

    private static void replay(MqttClient client, String topic, byte[] payload) throws Exception {
        client.publish(topic, new MqttMessage(payload, 1, false, null));
    }

    /** Once converged, both replicas report the same {@code X-Consul-Index} (within the bound). */
    private void replicasAgreeOnTheIndex() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONVERGE_MILLIS);
        long first;
        long second;
        do {
            first = SyncRig.consulIndex(rig.consulServices(0, 0, null));
            second = SyncRig.consulIndex(rig.consulServices(1, 0, null));
            if (first == second) {
                return;
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        fail(context() + ": converged replicas report X-Consul-Index " + first + " and " + second);
    }

    /**
     * A client balanced across replicas: the index from one, a blocking query to the other. It
     * must not return with an index that is not above the client's (it may return early with a
     * higher one: the fleet index moved meanwhile, as Consul allows; the client goes on from it),
     * and it must return with the next change, within the bound.
     */
    private void aBlockingQueryMovedToTheOtherReplicaWaitsForTheNextChange() throws Exception {
        int from = random.nextInt(2);
        int to = 1 - from;
        long index = SyncRig.consulIndex(rig.consulServices(from, 0, null));
        for (int early = 0; ; early++) {
            long asked = index;
            CompletableFuture<HttpResponse<String>> blocked =
                    CompletableFuture.supplyAsync(() -> rig.consulServices(to, asked, "30s"));
            try {
                HttpResponse<String> answer = blocked.get(300, TimeUnit.MILLISECONDS);
                index = SyncRig.consulIndex(answer);
                assertTrue(
                        index > asked,
                        context() + ": a blocking query at index " + asked + " returned at once from cloud-sync-" + to
                                + " with index " + index);
                assertTrue(early < 5, context() + ": the fleet index keeps moving with nothing changed: " + index);
                continue;
            } catch (TimeoutException expected) {
                // waiting, as it should
            }
            workload.changeOnce();
            HttpResponse<String> answer;
            try {
                answer = blocked.get(CONVERGE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError(context() + ": a blocking query at index " + asked + " on cloud-sync-" + to
                        + " missed the change made after it");
            }
            assertEquals(200, answer.statusCode(), answer.body());
            assertTrue(SyncRig.consulIndex(answer) > asked, context() + ": " + answer.headers());
            return;
        }
    }

    private String context() {
        return "seed=" + SEED + ", " + now;
    }

    private void line(String s) {
        System.out.println(s);
        report.add(s);
    }

    /** Convergence per kind of fault: count, p50, p99, max (milliseconds, nearest rank). */
    private void summary() {
        line("convergence after each kind of fault, ms from both ends connected to every replica == edge (seed=" + SEED
                + "):");
        line(String.format("%-48s %5s %6s %6s %6s", "fault", "n", "p50", "p99", "max"));
        List<Long> all = new ArrayList<>();
        for (Map.Entry<Fault, List<Long>> e : convergence.entrySet()) {
            List<Long> v = new ArrayList<>(e.getValue());
            all.addAll(v);
            line(row(e.getKey().label, v));
        }
        if (!all.isEmpty()) {
            line(row("all", all));
        }
    }

    private static String row(String label, List<Long> values) {
        Collections.sort(values);
        return String.format(
                "%-48s %5d %6d %6d %6d",
                label, values.size(), rank(values, 0.50), rank(values, 0.99), values.getLast());
    }

    private static long rank(List<Long> sorted, double p) {
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROCESS_MILLIS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "seed=" + SEED + ": timed out waiting until " + what);
            Thread.sleep(5);
        }
    }

    /**
     * Samples, every 100 ms while a fault's convergence is checked, what the processes report:
     * per replica its fleet index, when it last moved, resyncs asked and instances removed by
     * manifests; the gateway's digests, resyncs answered, publishes and outbox; and how late the
     * sampler itself woke (a machine short of CPU shows there first). Printed when a fault was
     * slow, to see where the time went.
     */
    static final class Sampler implements Runnable {
        private final SyncRig rig;
        private final List<String> samples = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final List<Long> at = new java.util.concurrent.CopyOnWriteArrayList<>();
        private volatile boolean stopped;
        private Thread thread;

        private Sampler(SyncRig rig) {
            this.rig = rig;
        }

        static Sampler start(SyncRig rig) {
            Sampler s = new Sampler(rig);
            s.thread = Thread.ofPlatform().daemon().name("soak-sampler").start(s);
            return s;
        }

        @Override
        public void run() {
            long late = 0;
            while (!stopped) {
                long t = System.currentTimeMillis();
                StringBuilder b = new StringBuilder();
                try {
                    for (int i = 0; i < rig.clouds(); i++) {
                        JsonNode st = rig.cloudJson(i, "/v1/stats");
                        b.append(String.format(
                                " r%d[idx ..%d moved@%d rs%d mr%d ap%d]",
                                i,
                                st.path("index").asLong() % 100_000,
                                st.path("indexChangedAt").asLong(),
                                st.path("resyncsRequested").asLong(),
                                st.path("manifestRemovals").asLong(),
                                st.path("applied").asLong()));
                    }
                    JsonNode gw = rig.syncStatus();
                    b.append(String.format(
                            " gw[dg%d rs%d pub%d pend%d rep%d]",
                            gw.path("digests").asLong(),
                            gw.path("resyncs").asLong(),
                            gw.path("published").asLong(),
                            gw.path("pending").asLong(),
                            gw.path("republished").asLong()));
                } catch (RuntimeException e) {
                    b.append(" ").append(e.getMessage());
                }
                b.append(" late ").append(late).append("ms");
                at.add(t);
                samples.add(b.toString());
                long before = System.nanoTime();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
                late = (System.nanoTime() - before) / 1_000_000L - 100;
            }
        }

        void stop() throws InterruptedException {
            stopped = true;
            thread.join(5_000);
        }

        /** The samples, times (and "moved@" times) in ms since {@code sinceMillis}. */
        void print(long sinceMillis, java.util.function.Consumer<String> out) {
            java.util.regex.Pattern moved = java.util.regex.Pattern.compile("moved@(\\d+)");
            for (int i = 0; i < samples.size(); i++) {
                java.util.regex.Matcher m = moved.matcher(samples.get(i));
                StringBuilder line = new StringBuilder();
                while (m.find()) {
                    m.appendReplacement(line, "moved@" + (Long.parseLong(m.group(1)) - sinceMillis));
                }
                m.appendTail(line);
                out.accept("  +" + (at.get(i) - sinceMillis) + "ms" + line);
            }
        }
    }

    /**
     * Every message on the node's topics as the broker passes them on (instances, digests,
     * manifests, resync commands, status), with the time it came, summarized; printed with the
     * samples when a fault was slow. Reconnects by itself after a broker restart.
     */
    static final class Tap implements AutoCloseable {
        private final java.util.concurrent.ConcurrentLinkedDeque<String> seen =
                new java.util.concurrent.ConcurrentLinkedDeque<>();
        private final io.edgegate.bridge.MqttLink link;
        private volatile long since = System.currentTimeMillis();

        private Tap(SyncRig rig) {
            this.link = io.edgegate.bridge.MqttLink.start(
                    io.edgegate.bridge.LinkOptions.builder(rig.broker().url(), "soak-tap-" + System.nanoTime())
                            .backoff(50, 500)
                            .build(),
                    List.of("edgegate/v1/" + SyncRig.SITE + "/" + SyncRig.NODE + "/#"),
                    null,
                    (topic, payload, retained) -> record(topic, payload, retained));
        }

        static Tap start(SyncRig rig) {
            return new Tap(rig);
        }

        void clear() {
            seen.clear();
            since = System.currentTimeMillis();
        }

        private void record(String topic, byte[] payload, boolean retained) {
            if (seen.size() > 5_000) {
                return;
            }
            String what =
                    switch (SyncCodec.decode(topic, payload)) {
                        case io.edgegate.bridge.Decoded.Rejected r -> "rejected " + r.reason();
                        case io.edgegate.bridge.Decoded.Accepted a ->
                            switch (a.message()) {
                                case InstanceState i -> "state " + i.id() + "@" + i.index();
                                case io.edgegate.bridge.InstanceRemoved r -> "removal " + r.id();
                                case io.edgegate.bridge.Digest d -> "digest @" + d.index() + " n=" + d.count();
                                case io.edgegate.bridge.Manifest m ->
                                    "manifest b" + m.bucket() + " @" + m.index() + " "
                                            + m.entries().stream()
                                                    .map(e -> e.id() + "@" + e.index())
                                                    .toList();
                                case io.edgegate.bridge.ResyncCommand c -> "resync " + c.buckets();
                                case io.edgegate.bridge.NodeStatus n ->
                                    "status " + (n.online() ? "online" : "offline") + " s=" + n.session();
                                default -> a.message().getClass().getSimpleName();
                            };
                    };
            seen.add(System.currentTimeMillis() + " " + (retained ? "(retained) " : "") + what);
        }

        /** What came, times in ms since {@code sinceMillis}. */
        void print(long sinceMillis, java.util.function.Consumer<String> out) {
            for (String line : seen) {
                int space = line.indexOf(' ');
                out.accept("  tap +" + (Long.parseLong(line.substring(0, space)) - sinceMillis) + "ms"
                        + line.substring(space));
            }
        }

        @Override
        public void close() {
            link.close();
        }
    }

    /**
     * Registrations, TTL health flips and deregistrations against the gateway, one at a time with
     * short pauses, and what the gateway acknowledged: an id and the {@code rev} of its last
     * acknowledged registration, or absent once its deregistration was acknowledged. A change
     * whose answer was lost (the gateway killed under it) may or may not have happened: the id is
     * uncertain until the next look at the registry. The test pauses it while it compares.
     */
    static final class Workload implements Runnable {
        private static final int WEB = 30;
        private static final int TTL = 15;
        private static final int BURST = 20;

        private final SyncRig rig;
        private final Random random;
        private final Map<String, String> acknowledged = new ConcurrentHashMap<>();
        private final java.util.Set<String> uncertain = ConcurrentHashMap.newKeySet();
        private final Object gate = new Object();
        private boolean paused;
        private volatile boolean stopped;
        private volatile long lastChangeAt;
        private long rev;

        Workload(SyncRig rig, Random random) {
            this.rig = rig;
            this.random = random;
        }

        @Override
        public void run() {
            while (!stopped) {
                synchronized (gate) {
                    while (paused && !stopped) {
                        try {
                            gate.wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    if (!stopped) {
                        step();
                    }
                }
                try {
                    Thread.sleep(5 + random.nextInt(30));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** Waits for the change in progress, then holds further ones until {@link #resume()}. */
        void pause() {
            synchronized (gate) {
                paused = true;
            }
        }

        void resume() {
            synchronized (gate) {
                paused = false;
                gate.notifyAll();
            }
        }

        void stop() {
            stopped = true;
            resume();
        }

        /** When the last change was sent (epoch milliseconds): the gateway cannot have made it before. */
        long lastChangeAt() {
            return lastChangeAt;
        }

        /** One registration, acknowledged (the caller has paused the workload). */
        void changeOnce() {
            synchronized (gate) {
                String id = "web-" + random.nextInt(WEB);
                String r = "r" + (++rev);
                lastChangeAt = System.currentTimeMillis();
                rig.register("web", id, r, null);
                acknowledged.put(id, r);
            }
        }

        private void step() {
            int dice = random.nextInt(100);
            String r = "r" + (++rev);
            if (dice < 30) {
                String id = "web-" + random.nextInt(WEB);
                attempt(List.of(id), () -> rig.register("web", id, r, null), () -> acknowledged.put(id, r));
            } else if (dice < 45) {
                String id = "ttl-" + random.nextInt(TTL);
                attempt(
                        List.of(id),
                        () -> rig.register("ttl", id, r, "{\"ttl\":\"10m\"}"),
                        () -> acknowledged.put(id, r));
            } else if (dice < 70) {
                String id = "ttl-" + random.nextInt(TTL);
                if (acknowledged.containsKey(id) && !uncertain.contains(id)) {
                    String result = random.nextBoolean() ? "pass" : "fail";
                    attempt(List.of(id), () -> rig.ttl(id, result), () -> {});
                }
            } else if (dice < 90) {
                List<String> present = new ArrayList<>(acknowledged.keySet());
                present.removeAll(uncertain);
                if (!present.isEmpty()) {
                    String id = present.get(random.nextInt(present.size()));
                    attempt(List.of(id), () -> rig.deregister(id), () -> acknowledged.remove(id));
                }
            } else {
                int count = 1 + random.nextInt(BURST);
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    ids.add("burst-" + i);
                }
                attempt(ids, () -> rig.registerBatch("burst", "burst", 0, count, r), () -> {
                    for (String id : ids) {
                        acknowledged.put(id, r);
                    }
                });
            }
        }

        private void attempt(List<String> ids, Runnable change, Runnable onAcknowledged) {
            lastChangeAt = System.currentTimeMillis();
            try {
                change.run();
                onAcknowledged.run();
                uncertain.removeAll(ids);
            } catch (RuntimeException e) {
                // refused (the gateway down: nothing happened) or cut short (it may have)
                uncertain.addAll(ids);
            }
        }

        /**
         * Every acknowledged change is in the registry: each certain id present with the rev of
         * its last acknowledged registration, or absent after its acknowledged deregistration.
         * Uncertain ids take what the registry holds. Called while paused.
         */
        void checkNothingAcknowledgedWasLost(Map<String, JsonNode> edge, String context) {
            Map<String, String> held = new TreeMap<>();
            edge.forEach((id, i) -> held.put(id, i.path("meta").path("rev").asText()));
            Map<String, String> expected = new TreeMap<>(acknowledged);
            for (String id : uncertain) {
                expected.remove(id);
                held.remove(id);
            }
            assertEquals(expected, held, context + ": the registry lost an acknowledged change");
            for (String id : uncertain) {
                JsonNode i = edge.get(id);
                if (i == null) {
                    acknowledged.remove(id);
                } else {
                    acknowledged.put(id, i.path("meta").path("rev").asText());
                }
            }
            uncertain.clear();
        }
    }
}
