package io.edgegate.bridge;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The edge end of the sync: one node's link to the broker. Publishes its instances (retained),
 * its status (retained, online on every connect, offline as the will and on a clean close) and
 * its digests, and hands down-link messages (resync commands, pushed configuration) to a
 * {@link Handler}.
 *
 * <p>On every connect it also reads back its own retained instances: it subscribes to its
 * {@link Topics#instancesFilter()} (MQTT 5: with No Local, so its own publishes do not come back;
 * MQTT 3.1.1: they do, flagged not retained, and are ignored) and hands each retained instance the
 * broker holds to {@link Handler#onRetainedInstance}, so the node can clear those it no longer has.
 *
 * <p>Threads: every publish method may be called from any thread and never blocks; it answers
 * with {@link MqttLink.Send} at once, and a {@link MqttLink.Completion} tells later whether the
 * broker acknowledged it (the outbox drops an entry only then). Handler methods run on Paho's or
 * the link's threads and must not block: enqueue to the registry thread.
 */
public final class EdgeLink implements AutoCloseable {
    /** What the cloud says to this node. Must not block. */
    public interface Handler {
        /** Connected, subscribed and online status published: (re)start draining the outbox. */
        void onConnected();

        /** Disconnected; publishes in flight completed as not acknowledged. */
        default void onDisconnected(Throwable cause) {}

        /** Cloud-sync asks for a resync. */
        void onResync(ResyncCommand command);

        /** Configuration pushed for the whole site ({@code siteWide}) or this node. */
        void onConfig(ConfigPush push, boolean siteWide);

        /** Configuration withdrawn. */
        void onConfigRemoved(ConfigRemoved removed, boolean siteWide);

        /** A malformed or foreign down-link message, already counted; ignore. */
        default void onRejected(Decoded.Rejected rejected) {}

        /**
         * A retained instance the broker holds for this node, read back after a connect; runs
         * before or concurrently with the first publishes of that connection, never for this
         * connection's own publishes.
         *
         * @param state what the broker holds; null when it is unreadable (malformed, or of
         *     another protocol version: already counted as rejected)
         */
        default void onRetainedInstance(String instanceId, InstanceState state) {}
    }

    private final Topics topics;
    private final String instancesPrefix;
    private final String address;
    private final Handler handler;
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong retainedRead = new AtomicLong();
    private volatile long epoch;
    private volatile long index;
    private volatile long session;
    private final MqttLink link;

    private EdgeLink(LinkOptions options, Topics topics, String address, long epoch, Handler handler) {
        this.topics = topics;
        this.address = address == null ? "" : address;
        this.handler = handler;
        this.epoch = epoch;
        this.instancesPrefix =
                topics.instance("x").substring(0, topics.instance("x").length() - 1);
        List<String> filters = new ArrayList<>(topics.downlinkFilters());
        filters.add(topics.instancesFilter());
        this.link = MqttLink.start(
                options, filters, Set.of(topics.instancesFilter()), this::nextWill, new MqttLink.Listener() {
                    @Override
                    public void onMessage(String topic, byte[] payload, boolean retained) {
                        downlink(topic, payload, retained);
                    }

                    @Override
                    public void onConnected(boolean sessionPresent) {
                        publishStatus(true, null);
                        handler.onConnected();
                    }

                    @Override
                    public void onDisconnected(Throwable cause) {
                        handler.onDisconnected(cause);
                    }
                });
    }

    /**
     * Starts the link of one node; it connects in the background.
     *
     * @param address the node's advertised address, shown in the fleet view
     * @param epoch the node's epoch (see {@link InstanceState#epoch()})
     */
    public static EdgeLink start(LinkOptions options, Topics topics, String address, long epoch, Handler handler) {
        return new EdgeLink(options, topics, address, epoch, handler);
    }

    public Topics topics() {
        return topics;
    }

    public MqttLink link() {
        return link;
    }

    public boolean connected() {
        return link.connected();
    }

    /** Down-link messages rejected by the codec. */
    public long rejected() {
        return rejected.get();
    }

    /** Retained instances of this node read back from the broker, over every connect. */
    public long retainedRead() {
        return retainedRead.get();
    }

    /** The node's current (epoch, index), written into its status and will. */
    public void position(long newEpoch, long newIndex) {
        this.epoch = newEpoch;
        this.index = newIndex;
    }

    /** Publishes an instance's state, retained. */
    public MqttLink.Send publishState(InstanceState state, MqttLink.Completion completion) {
        return link.publish(topics.instance(state.id()), SyncCodec.encode(state), true, completion);
    }

    /** Publishes an instance's removal: the empty retained payload, which clears it on the broker. */
    public MqttLink.Send publishRemoval(String instanceId, MqttLink.Completion completion) {
        return link.publish(topics.instance(instanceId), new byte[0], true, completion);
    }

    /**
     * Publishes a digest, retained (a consumer that subscribes later still learns what this node
     * holds), and re-asserts the retained online status, so a status overwritten by a late will of
     * an older session is repaired within one digest period.
     */
    public MqttLink.Send publishDigest(Digest digest, MqttLink.Completion completion) {
        return publishDigest(digest, true, completion);
    }

    /**
     * Publishes a digest, retained; re-asserts the retained online status first when
     * {@code reassertStatus} (the periodic digests do; one after each burst of changes need not).
     */
    public MqttLink.Send publishDigest(Digest digest, boolean reassertStatus, MqttLink.Completion completion) {
        if (reassertStatus) {
            publishStatus(true, null);
        }
        return link.publish(topics.digest(), SyncCodec.encode(digest), true, completion);
    }

    /** Publishes one part of a bucket's manifest (not retained), after a resync of that bucket. */
    public MqttLink.Send publishManifest(Manifest manifest, MqttLink.Completion completion) {
        return link.publish(topics.manifest(), SyncCodec.encode(manifest), false, completion);
    }

    private MqttLink.Send publishStatus(boolean online, MqttLink.Completion completion) {
        NodeStatus status = new NodeStatus(online, epoch, index, session, System.currentTimeMillis(), address);
        return link.publish(topics.status(), SyncCodec.encode(status), true, completion);
    }

    /** The will of the next connect: offline, with a new session number. */
    private MqttLink.Will nextWill() {
        session = Math.max(session + 1, System.currentTimeMillis());
        NodeStatus offline = new NodeStatus(false, epoch, index, session, 0, address);
        return new MqttLink.Will(topics.status(), SyncCodec.encode(offline));
    }

    private void downlink(String topic, byte[] payload, boolean retained) {
        if (topic.startsWith(instancesPrefix)) {
            readBack(topic, payload, retained);
            return;
        }
        Decoded d = SyncCodec.decode(topic, payload);
        switch (d) {
            case Decoded.Rejected r -> {
                rejected.incrementAndGet();
                handler.onRejected(r);
            }
            case Decoded.Accepted a -> {
                boolean siteWide = a.topic().kind() == TopicName.Kind.SITE_CONFIG;
                switch (a.message()) {
                    case ResyncCommand c -> handler.onResync(c);
                    case ConfigPush p -> handler.onConfig(p, siteWide);
                    case ConfigRemoved r -> handler.onConfigRemoved(r, siteWide);
                    default -> {
                        rejected.incrementAndGet();
                        handler.onRejected(
                                new Decoded.Rejected(topic, "direction", "an up-link message on a down-link topic"));
                    }
                }
            }
        }
    }

    /**
     * One message on this node's own instance topics. Only retained ones are the broker's stored
     * state: a message forwarded live (this node's own publish under MQTT 3.1.1, which has no No
     * Local) comes unretained and is skipped. Brokers do not hold empty retained payloads.
     */
    private void readBack(String topic, byte[] payload, boolean retained) {
        if (!retained || payload.length == 0) {
            return;
        }
        String id = topic.substring(instancesPrefix.length());
        if (!Topics.validLevel(id)) {
            return;
        }
        retainedRead.incrementAndGet();
        Decoded d = SyncCodec.decode(topic, payload);
        switch (d) {
            case Decoded.Accepted a
            when a.message() instanceof InstanceState s && s.id().equals(id) -> handler.onRetainedInstance(id, s);
            case Decoded.Accepted a -> {
                rejected.incrementAndGet();
                handler.onRejected(new Decoded.Rejected(topic, "mismatch", "the payload's id is not the topic's"));
                handler.onRetainedInstance(id, null);
            }
            case Decoded.Rejected r -> {
                rejected.incrementAndGet();
                handler.onRejected(r);
                handler.onRetainedInstance(id, null);
            }
        }
    }

    /** Publishes the offline status (waiting up to 1 s for its acknowledgement), then disconnects cleanly. */
    @Override
    public void close() {
        if (link.connected()) {
            CountDownLatch done = new CountDownLatch(1);
            if (publishStatus(false, acked -> done.countDown()) == MqttLink.Send.SENT) {
                try {
                    done.await(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        link.close();
    }

    /** Simulates a crash: the connection dies without DISCONNECT and the broker publishes the will. */
    public void abort() {
        link.abort();
    }
}
