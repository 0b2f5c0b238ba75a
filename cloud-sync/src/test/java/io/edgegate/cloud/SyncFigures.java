package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.Topics;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The sync's figures on loopback, with the same processes as {@link SyncFaultsIT} (mosquitto, the
 * packaged gateway behind a relay, a packaged cloud-sync): bytes per instance change on the wire,
 * edge-to-cloud propagation, and the reconnect after 100,000 changes to 1,000 instances made
 * offline. Not an {@code *IT}: run on purpose, {@code jmh-benchmarks/scripts/sync-figures.sh}.
 * Prints the figures and writes them to {@code target/sync-figures.txt}.
 */
@Tag("figures")
class SyncFigures {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SAMPLES = Integer.getInteger("figures.samples", 1_000);
    private static final int INSTANCES = Integer.getInteger("figures.instances", 1_000);
    private static final int CHANGES = Integer.getInteger("figures.changes", 100_000);

    private final List<String> report = new ArrayList<>();

    @Test
    void figures() throws Exception {
        try (SyncRig rig = new SyncRig(Map.of("EDGEGATE_SYNC_DIGEST_INTERVAL", "30s"))) {
            rig.startCloud();
            rig.startGateway();
            line("processes: mosquitto " + rig.broker().url() + ", gateway (MQTT 5, via relay) "
                    + rig.relay().url() + ", cloud-sync :" + rig.cloud(0).port());
            propagation(rig);
            offline(rig);
        } finally {
            Files.write(Path.of("target", "sync-figures.txt"), report, StandardCharsets.UTF_8);
        }
        assertTrue(failures.isEmpty(), "targets missed: " + failures);
    }

    private final List<String> failures = new ArrayList<>();

    private void target(boolean met, String what) {
        line((met ? "  target met: " : "  TARGET MISSED: ") + what);
        if (!met) {
            failures.add(what);
        }
    }

    /**
     * One change at a time: time from sending the registration to the gateway until cloud-sync's
     * blocking query answers with it; also the part after the gateway's acknowledgement (its
     * journal's fsync is in the first). A Paho client on the broker records every instance
     * message: payload bytes and the MQTT 5 PUBLISH packet they make.
     */
    private void propagation(SyncRig rig) throws Exception {
        Topics topics = new Topics(SyncRig.SITE, SyncRig.NODE);
        List<int[]> sizes = new CopyOnWriteArrayList<>();

        MqttClient tap = new MqttClient(rig.broker().url(), "figures-tap", new MemoryPersistence());
        tap.connect();
        IMqttMessageListener listener = (topic, message) ->
                sizes.add(new int[] {topic.getBytes(StandardCharsets.UTF_8).length, message.getPayload().length});
        tap.subscribe(
                new MqttSubscription[] {new MqttSubscription(topics.instancesFilter(), 1)},
                new IMqttMessageListener[] {listener});
        String cloud = "http://127.0.0.1:" + rig.cloud(0).port() + "/v1/services/lat?site=" + SyncRig.SITE + "&node="
                + SyncRig.NODE;
        long index = 0;
        long[] total = new long[SAMPLES];
        long[] afterAck = new long[SAMPLES];

        int warmup = 100;
        for (int i = -warmup; i < SAMPLES; i++) {
            String rev = "r" + (i + warmup);
            long t0 = System.nanoTime();
            rig.register("lat", "lat-" + Math.floorMod(i, 10), rev, null);
            long acked = System.nanoTime();
            long t1;
            while (true) {
                HttpResponse<String> r = SyncRig.send("GET", URI.create(cloud + "&index=" + index + "&wait=5s"), null);
                t1 = System.nanoTime();
                index = Long.parseLong(
                        r.headers().firstValue("X-Edgegate-Index").orElse("0"));
                if (hasRev(JSON.readTree(r.body()), "lat-" + Math.floorMod(i, 10), rev)) {
                    break;
                }
            }
            if (i >= 0) {
                total[i] = t1 - t0;
                afterAck[i] = t1 - acked;
            }
        }
        Thread.sleep(500);
        tap.disconnect();
        tap.close();

        Arrays.sort(total);
        Arrays.sort(afterAck);

        line(String.format(
                "propagation edge->cloud (register at the gateway's REST API -> cloud-sync blocking query answers), %d"
                        + " sequential changes after %d warm-up: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                SAMPLES, warmup, ms(pct(total, 50)), ms(pct(total, 99)), ms(total[SAMPLES - 1])));
        line(String.format(
                "  of which after the gateway acknowledged (journal fsync excluded): p50 %.2f ms, p99 %.2f ms",
                ms(pct(afterAck, 50)), ms(pct(afterAck, 99))));

        long payload = 0;
        long packets = 0;
        for (int[] s : sizes) {
            payload += s[1];
            packets += publishPacketBytes(s[0], s[1]);
        }
        int n = Math.max(1, sizes.size());
        line(String.format(
                "bytes per instance change (%d messages seen by a Paho tap): payload %.0f B (JSON), MQTT 5 PUBLISH"
                        + " packet %.0f B (topic %d B), + PUBACK 4 B; a deregistration: payload 0 B, packet %d B",
                sizes.size(),
                (double) payload / n,
                (double) packets / n,
                sizes.isEmpty() ? 0 : sizes.get(0)[0],
                publishPacketBytes(sizes.isEmpty() ? 0 : sizes.get(0)[0], 0)));
        target(ms(pct(afterAck, 99)) <= 50, "propagation p99 after the edge's commit <= 50 ms");
    }

    /**
     * 1,000 instances on the cloud, then the link cut, 100,000 changes (100 batch re-registrations
     * of all 1,000 with new meta), the link restored: the instance messages the gateway publishes
     * and the time until cloud-sync's view equals the registry.
     */
    private void offline(SyncRig rig) throws Exception {
        int batch = Math.min(1_000, INSTANCES);
        for (int from = 0; from < INSTANCES; from += batch) {
            rig.registerBatch("bulk", "b", from, batch, "online");
        }
        rig.awaitConverged(0, 30_000);
        rig.relay().cut();
        long writeStart = System.nanoTime();
        int rounds = CHANGES / INSTANCES;
        for (int round = 0; round < rounds; round++) {
            for (int from = 0; from < INSTANCES; from += batch) {
                rig.registerBatch("bulk", "b", from, batch, "off-" + round);
            }
        }
        long writeMillis = (System.nanoTime() - writeStart) / 1_000_000;
        JsonNode before = rig.syncStatus();
        assertEquals(INSTANCES, before.path("pending").asInt(), "outbox folded to one change per instance");
        Map<String, JsonNode> edge = rig.edgeTruth();
        long published0 = before.path("published").asLong();
        long restore = System.nanoTime();
        rig.relay().restore();
        long connected = 0;
        while (connected == 0) {
            if (rig.syncStatus().path("connected").asBoolean()) {
                connected = System.nanoTime();
            } else {
                Thread.sleep(2);
            }
            if (System.nanoTime() - restore > 120_000_000_000L) {
                throw new AssertionError("no reconnect in 120 s");
            }
        }
        long converged = 0;
        while (converged == 0) {
            if (edge.equals(rig.cloudView(0))) {
                converged = System.nanoTime();
            }
            if (System.nanoTime() - connected > 60_000_000_000L) {
                throw new AssertionError("no convergence in 60 s: " + SyncRig.difference(edge, rig.cloudView(0)));
            }
        }
        Thread.sleep(1_000); // let late publishes, if any, be counted
        long messages = rig.syncStatus().path("published").asLong() - published0;
        line(String.format(
                "offline: %d changes to %d instances in %d ms with the link cut; outbox %d; on reconnect: %d instance"
                        + " messages published",
                rounds * INSTANCES,
                INSTANCES,
                writeMillis,
                before.path("pending").asInt(),
                messages));
        line(String.format(
                "  link restored -> reconnected %d ms (jittered backoff, cap doubled per failed attempt);"
                        + " reconnected -> cloud view == edge truth %d ms; restored -> converged %d ms",
                (connected - restore) / 1_000_000,
                (converged - connected) / 1_000_000,
                (converged - restore) / 1_000_000));
        target(messages <= INSTANCES + 10, "messages on reconnect <= instances + 10");
        target((converged - connected) / 1_000_000 <= 2_000, "converged <= 2 s after the reconnect");
    }

    private static boolean hasRev(JsonNode instances, String id, String rev) {
        for (JsonNode i : instances) {
            if (i.path("id").asText().equals(id)) {
                return rev.equals(i.path("meta").path("rev").asText());
            }
        }
        return false;
    }

    /** An MQTT 5 QoS 1 PUBLISH without properties: header, length, topic, packet id, properties length, payload. */
    static int publishPacketBytes(int topicBytes, int payloadBytes) {
        int remaining = 2 + topicBytes + 2 + 1 + payloadBytes;
        int lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
        return 1 + lengthBytes + remaining;
    }

    private static long pct(long[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * p / 100.0) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private void line(String s) {
        System.out.println(s);
        report.add(s);
    }
}
