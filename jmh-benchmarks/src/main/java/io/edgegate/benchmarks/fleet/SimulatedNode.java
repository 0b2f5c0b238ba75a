package io.edgegate.benchmarks.fleet;

import io.edgegate.bridge.ConfigPush;
import io.edgegate.bridge.ConfigRemoved;
import io.edgegate.bridge.Digest;
import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.Manifest;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One edge node written from the sync protocol (mqtt-bridge's README), speaking it as the
 * gateway's sync agent does, over the same {@link EdgeLink}: its instances retained at QoS 1
 * within a window of 16 and at most {@value #PUBLISH_RATE} a second, its status online on every
 * connect with the offline will, a digest with 64 bucket sums once everything is acknowledged and
 * every {@value #DIGEST_INTERVAL_SECONDS} s, and answers to resyncs: every instance (no buckets),
 * or the named buckets' instances, then their manifests, then a digest.
 *
 * <p>The node's registry is a fixed list of instances made from its number: unique ids and
 * addresses, 20 service names, two tags and two metadata entries drawn from small sets (as real
 * fleets repeat service names, versions and models).
 *
 * <p>Threads: {@link #drain} from the fleet's one publishing thread; {@link #onResync} and the
 * other handler methods, and publish completions, from the link's threads (the outbox is a
 * concurrent queue).
 */
final class SimulatedNode implements EdgeLink.Handler {
    static final int PUBLISH_RATE = 2_000;
    static final int DIGEST_INTERVAL_SECONDS = 30;
    static final String[] SERVICES = {
        "llm", "vision", "plc-adapter", "asr", "tts", "embeddings", "rerank", "ocr", "detector", "tracker",
        "mes-bridge", "opcua", "historian", "scheduler", "metrics", "alerts", "camera", "lidar", "robot-arm", "agv"
    };
    private static final String[] MODELS = {"llama3", "mistral", "qwen2", "phi3", "gemma2"};
    private static final String[] ZONES = {"zone:a", "zone:b", "zone:c", "zone:d"};

    final String site;
    final String node;
    final long epoch;
    private final List<InstanceState> instances;
    private final List<List<InstanceState>> byBucket = new ArrayList<>(Digest.BUCKETS);
    private final Digest.Accumulator digest = new Digest.Accumulator();
    private final long index;
    /** What waits to be published, in order: instance states and manifest parts. */
    final ConcurrentLinkedQueue<Object> outbox = new ConcurrentLinkedQueue<>();

    private final AtomicInteger inFlight = new AtomicInteger();
    final AtomicLong acked = new AtomicLong();
    final AtomicLong resyncs = new AtomicLong();
    final AtomicLong republished = new AtomicLong();
    private volatile boolean digestDue;
    private long lastDigestNanos = System.nanoTime();
    private double tokens = PUBLISH_RATE;
    private long refilledNanos = System.nanoTime();
    private EdgeLink link;

    SimulatedNode(int number, String site, int instanceCount, long epoch) {
        this.site = site;
        this.node = "node-" + number;
        this.epoch = epoch;
        this.instances = new ArrayList<>(instanceCount);
        for (int b = 0; b < Digest.BUCKETS; b++) {
            byBucket.add(new ArrayList<>());
        }
        long now = System.currentTimeMillis();
        for (int j = 0; j < instanceCount; j++) {
            String service = SERVICES[j % SERVICES.length];
            String address = "10." + (number % 250) + "." + (j / 250 % 250) + "." + (j % 250);
            int port = 8000 + j % 1000;
            InstanceState s = new InstanceState(
                    service,
                    service + "-" + address + "-" + port,
                    address,
                    port,
                    List.of("version:v" + (j % 3), ZONES[number % ZONES.length]),
                    Map.of("model", MODELS[j % MODELS.length], "runtime", "vllm"),
                    j % 50 == 0 ? SyncHealth.WARNING : SyncHealth.PASSING,
                    epoch,
                    j + 1,
                    now);
            instances.add(s);
            byBucket.get(Digest.bucketOf(s.id())).add(s);
            digest.add(s.id(), s.index());
        }
        this.index = instanceCount;
    }

    void start(LinkOptions options) {
        link = EdgeLink.start(
                options, new Topics(site, node), "10.255." + (node.hashCode() & 0xff) + ".1", epoch, this);
        link.position(epoch, index);
    }

    boolean connected() {
        return link != null && link.connected();
    }

    int instanceCount() {
        return instances.size();
    }

    /** Queues every instance, as a node does after a new epoch or a resync of the whole node. */
    void queueAll() {
        outbox.addAll(instances);
    }

    /**
     * Queues every instance but the first {@code withheld}: a node whose first publication lost
     * some (its digest still counts them), so that the cloud finds the difference and resyncs.
     */
    void queueAllBut(int withheld) {
        outbox.addAll(instances.subList(Math.min(withheld, instances.size()), instances.size()));
    }

    /** Nothing waits and nothing is in flight: the broker has acknowledged everything. */
    boolean drained() {
        return outbox.isEmpty() && inFlight.get() == 0;
    }

    /**
     * One turn of the fleet's publisher: publishes what the window and the rate allow, then the
     * digest when it is due and everything is acknowledged. Answers how many it published.
     */
    int drain(long nowNanos) {
        if (!connected()) {
            return 0;
        }
        tokens = Math.min(PUBLISH_RATE, tokens + (nowNanos - refilledNanos) * PUBLISH_RATE / 1e9);
        refilledNanos = nowNanos;
        int sent = 0;
        Object next;
        while (tokens >= 1 && (next = outbox.peek()) != null) {
            Object item = next;
            MqttLink.Completion done = ok -> completed(item, ok);
            MqttLink.Send s = item instanceof InstanceState st
                    ? link.publishState(st, done)
                    : link.publishManifest((Manifest) item, done);
            if (s != MqttLink.Send.SENT) {
                break; // the window is full: the next turn goes on
            }
            outbox.poll();
            inFlight.incrementAndGet();
            tokens--;
            sent++;
        }
        if (drained()
                && (digestDue || nowNanos - lastDigestNanos >= TimeUnit.SECONDS.toNanos(DIGEST_INTERVAL_SECONDS))) {
            digestDue = false;
            lastDigestNanos = nowNanos;
            link.publishDigest(digest.digest(epoch, index, System.currentTimeMillis()), ok -> {});
        }
        return sent;
    }

    private void completed(Object item, boolean ok) {
        if (ok) {
            acked.incrementAndGet();
        } else {
            outbox.add(item); // not acknowledged: it is published again (the protocol makes it idempotent)
        }
        inFlight.decrementAndGet();
    }

    @Override
    public void onConnected() {
        digestDue = true;
    }

    /**
     * A resync: without buckets every instance, with buckets their instances and then one
     * manifest per bucket; a digest follows once they are acknowledged.
     */
    @Override
    public void onResync(ResyncCommand command) {
        resyncs.incrementAndGet();
        if (command.buckets().isEmpty()) {
            queueAll();
            republished.addAndGet(instances.size());
        } else {
            for (int b : command.buckets()) {
                outbox.addAll(byBucket.get(b));
                republished.addAndGet(byBucket.get(b).size());
            }
            for (int b : command.buckets()) {
                List<Manifest.Entry> entries = new ArrayList<>();
                for (InstanceState s : byBucket.get(b)) {
                    entries.add(new Manifest.Entry(s.id(), s.index()));
                }
                outbox.addAll(Manifest.of(epoch, index, b, entries));
            }
        }
        digestDue = true;
    }

    @Override
    public void onConfig(ConfigPush push, boolean siteWide) {}

    @Override
    public void onConfigRemoved(ConfigRemoved removed, boolean siteWide) {}

    /** Disconnects cleanly (offline status first, as the gateway does on shutdown). */
    void close() {
        if (link != null) {
            link.close();
        }
    }
}
