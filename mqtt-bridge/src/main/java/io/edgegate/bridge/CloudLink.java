package io.edgegate.bridge;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The cloud end of the sync: subscribes to every node of every site, decodes on arrival and
 * hands each message to a {@link Handler}; publishes configuration and resync commands.
 *
 * <p>Threads: handler methods run on Paho's thread and must not block, but for
 * {@link Handler#onMessage}, which may wait for room in the applier's queue: the link then reads
 * nothing more and the broker holds the rest ({@link MqttLink}'s backpressure), so a message is
 * acknowledged to the broker only once the handler took it. Publish methods may be called from
 * any thread and never block.
 */
public final class CloudLink implements AutoCloseable {
    /** Receives the up-link stream. Must not block, but for {@link #onMessage} as said above. */
    public interface Handler {
        /**
         * A valid message, in arrival order; {@code receivedAtMillis} is this process's clock. May
         * wait while the consumer has no room (backpressure).
         */
        void onMessage(Decoded.Accepted message, boolean retained, long receivedAtMillis);

        /** A malformed or foreign message: count and ignore. */
        void onRejected(Decoded.Rejected rejected);

        /** Connected and subscribed: the broker now replays every retained message. */
        default void onConnected() {}

        default void onDisconnected(Throwable cause) {}
    }

    /**
     * Receives the up-link stream undecoded, for a consumer that decodes on its own thread
     * ({@link SyncCodec#decode}): Paho's reader hands messages to its callback thread through a
     * queue of ten, so whatever that thread does per message holds the reader up, and on a busy
     * machine costs more than the work itself. May wait, as {@link Handler#onMessage} may.
     */
    @FunctionalInterface
    public interface Undecoded {
        /** A message on an up-link topic, as it came; {@code receivedAtMillis} is this process's clock. */
        void onMessage(String topic, byte[] payload, boolean retained, long receivedAtMillis);

        /** Connected and subscribed: the broker now replays every retained message. */
        default void onConnected() {}
    }

    private final MqttLink link;
    private final AtomicLong rejected = new AtomicLong();

    private CloudLink(LinkOptions options, Handler handler, Undecoded undecoded) {
        this.link = MqttLink.start(options, Topics.uplinkFilters(), null, new MqttLink.Listener() {
            @Override
            public void onMessage(String topic, byte[] payload, boolean retained) {
                if (undecoded != null) {
                    undecoded.onMessage(topic, payload, retained, System.currentTimeMillis());
                    return;
                }
                Decoded d = SyncCodec.decode(topic, payload);
                switch (d) {
                    case Decoded.Accepted a -> handler.onMessage(a, retained, System.currentTimeMillis());
                    case Decoded.Rejected r -> {
                        rejected.incrementAndGet();
                        handler.onRejected(r);
                    }
                }
            }

            @Override
            public void onConnected(boolean sessionPresent) {
                if (handler != null) {
                    handler.onConnected();
                } else {
                    undecoded.onConnected();
                }
            }

            @Override
            public void onDisconnected(Throwable cause) {
                if (handler != null) {
                    handler.onDisconnected(cause);
                }
            }
        });
    }

    public static CloudLink start(LinkOptions options, Handler handler) {
        return new CloudLink(options, handler, null);
    }

    /** Starts a link that hands every message over undecoded; {@link #rejected()} then stays 0. */
    public static CloudLink startUndecoded(LinkOptions options, Undecoded handler) {
        return new CloudLink(options, null, handler);
    }

    public MqttLink link() {
        return link;
    }

    public boolean connected() {
        return link.connected();
    }

    public long rejected() {
        return rejected.get();
    }

    /** Pushes configuration, retained, to a whole site ({@code node} null) or one node. */
    public MqttLink.Send pushConfig(String site, String node, ConfigPush push, MqttLink.Completion completion) {
        return link.publish(
                configTopic(site, node, push.kind(), push.name()), SyncCodec.encode(push), true, completion);
    }

    /** Withdraws pushed configuration (empty retained payload). */
    public MqttLink.Send removeConfig(
            String site, String node, String kind, String name, MqttLink.Completion completion) {
        return link.publish(configTopic(site, node, kind, name), new byte[0], true, completion);
    }

    /** Asks one node to publish its state again (not retained: a node offline now gets none). */
    public MqttLink.Send requestResync(
            String site, String node, ResyncCommand command, MqttLink.Completion completion) {
        return link.publish(new Topics(site, node).resync(), SyncCodec.encode(command), false, completion);
    }

    private static String configTopic(String site, String node, String kind, String name) {
        return node == null ? Topics.siteConfig(site, kind, name) : new Topics(site, node).nodeConfig(kind, name);
    }

    @Override
    public void close() {
        link.close();
    }
}
