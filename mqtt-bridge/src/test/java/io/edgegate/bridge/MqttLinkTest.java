package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.testing.EmbeddedBroker;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.TcpRelay;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The transport against real brokers: moquette in-process, and a mosquitto process. */
class MqttLinkTest {
    record Msg(String topic, String payload, boolean retained) {}

    static class Collector implements MqttLink.Listener {
        final BlockingQueue<Msg> messages = new LinkedBlockingQueue<>();

        @Override
        public void onMessage(String topic, byte[] payload, boolean retained) {
            messages.add(new Msg(topic, new String(payload, StandardCharsets.UTF_8), retained));
        }

        Msg next() throws InterruptedException {
            Msg m = messages.poll(5, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("no message within 5 s");
            }
            return m;
        }
    }

    private static LinkOptions options(String url, String id) {
        return LinkOptions.of(url, id).withBackoff(20, 200).withKeepAlive(2);
    }

    private static void publishAcked(MqttLink link, String topic, String payload, boolean retained) throws Exception {
        CountDownLatch acked = new CountDownLatch(1);
        assertEquals(MqttLink.Send.SENT, link.publish(topic, payload.getBytes(StandardCharsets.UTF_8), retained, ok -> {
            if (ok) {
                acked.countDown();
            }
        }));
        assertTrue(acked.await(5, TimeUnit.SECONDS), "no PUBACK for " + topic);
    }

    private static void retainedMessageReachesALateSubscriber(String url, LinkOptions.Protocol protocol)
            throws Exception {
        try (MqttLink pub =
                MqttLink.start(options(url, "pub").withProtocol(protocol), List.of(), null, new Collector())) {
            assertTrue(pub.awaitConnected(15_000), pub.lastError());
            publishAcked(pub, "edgegate/v1/s/n/instances/a", "hello", true);
            Collector c = new Collector();
            try (MqttLink sub = MqttLink.start(
                    options(url, "sub").withProtocol(protocol), List.of("edgegate/v1/+/+/instances/+"), null, c)) {
                assertTrue(sub.awaitConnected(15_000), sub.lastError());
                Msg m = c.next();
                assertEquals(new Msg("edgegate/v1/s/n/instances/a", "hello", true), m);
                publishAcked(pub, "edgegate/v1/s/n/instances/b", "live", false);
                assertEquals(new Msg("edgegate/v1/s/n/instances/b", "live", false), c.next());
            }
        }
    }

    @Test
    void retainedStateReachesALateSubscriberOnTheEmbeddedBroker() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            retainedMessageReachesALateSubscriber(broker.url(), LinkOptions.Protocol.MQTT_5);
        }
    }

    @Test
    void retainedStateReachesALateSubscriberOnMosquittoWithMqtt5() throws Exception {
        try (MosquittoBroker broker = MosquittoBroker.start()) {
            retainedMessageReachesALateSubscriber(broker.url(), LinkOptions.Protocol.MQTT_5);
        }
    }

    @Test
    void retainedStateReachesALateSubscriberOnMosquittoWithMqtt311() throws Exception {
        try (MosquittoBroker broker = MosquittoBroker.start()) {
            retainedMessageReachesALateSubscriber(broker.url(), LinkOptions.Protocol.MQTT_3_1_1);
        }
    }

    @Test
    void willIsPublishedWhenTheConnectionDiesWithoutDisconnect() throws Exception {
        try (MosquittoBroker broker = MosquittoBroker.start()) {
            Collector c = new Collector();
            try (MqttLink watcher =
                    MqttLink.start(options(broker.url(), "watch"), List.of("edgegate/v1/s/n/status"), null, c)) {
                assertTrue(watcher.awaitConnected(15_000));
                MqttLink node = MqttLink.start(
                        options(broker.url(), "node"),
                        List.of(),
                        () -> new MqttLink.Will("edgegate/v1/s/n/status", "offline".getBytes(StandardCharsets.UTF_8)),
                        new Collector());
                assertTrue(node.awaitConnected(15_000));
                publishAcked(node, "edgegate/v1/s/n/status", "online", true);
                assertEquals("online", c.next().payload());
                node.abort();
                assertEquals("offline", c.next().payload());
            }
        }
    }

    @Test
    void linkReconnectsAfterTheTcpConnectionIsCutAndFailsWhatWasInFlight() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
                TcpRelay relay = new TcpRelay(broker.port())) {
            Map<String, Integer> events = new ConcurrentHashMap<>();
            Collector c = new Collector() {
                @Override
                public void onConnected(boolean sessionPresent) {
                    events.merge("connected", 1, Integer::sum);
                }

                @Override
                public void onDisconnected(Throwable cause) {
                    events.merge("disconnected", 1, Integer::sum);
                }
            };
            try (MqttLink link = MqttLink.start(options(relay.url(), "edge"), List.of("t/#"), null, c)) {
                assertTrue(link.awaitConnected(15_000));
                relay.cut();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (link.connected() && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(MqttLink.Send.NOT_CONNECTED, link.publish("t/x", new byte[1], false, null));
                relay.restore();
                assertTrue(link.awaitConnected(10_000), link.lastError());
                publishAcked(link, "t/x", "after", false);
                assertEquals("after", c.next().payload());
                assertEquals(0, link.inFlight());
                assertTrue(link.counters().connects() >= 2, link.counters().toString());
                assertEquals(1, events.get("disconnected"));
            }
        }
    }

    @Test
    void aFullWindowRefusesAtOnce() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            try (MqttLink link =
                    MqttLink.start(options(broker.url(), "w").withMaxInFlight(1), List.of(), null, new Collector())) {
                assertTrue(link.awaitConnected(15_000));
                int refused = 0;
                for (int i = 0; i < 50; i++) {
                    if (link.publish("t/x", new byte[100], false, null) == MqttLink.Send.WINDOW_FULL) {
                        refused++;
                    }
                }
                assertTrue(
                        refused > 0 && link.counters().refusedWindowFull() == refused,
                        link.counters().toString());
            }
        }
    }

    @Test
    void backoffIsJitteredAndCapped() throws Exception {
        try (MqttLink link = MqttLink.start(
                LinkOptions.of("tcp://127.0.0.1:1", "b").withBackoff(100, 1_000), List.of(), null, new Collector())) {
            for (int attempt = 0; attempt < 40; attempt++) {
                long d = link.backoffMillis(attempt);
                assertTrue(
                        d >= 1 && d <= Math.min(1_000, 100L << Math.min(attempt, 30)), "attempt " + attempt + ": " + d);
            }
        }
    }

    @Test
    void linksDroppedAtTheSameInstantComeBackAtJitteredTimes() throws Exception {
        // A broker restart drops every node at once: the first attempt after the drop is spread
        // over [0, initial] as well, not made by all at the same instant.
        int links = 10;
        try (EmbeddedBroker broker = EmbeddedBroker.start();
                TcpRelay relay = new TcpRelay(broker.port())) {
            List<Long> reconnectedAt = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<MqttLink> started = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < links; i++) {
                    started.add(MqttLink.start(
                            LinkOptions.of(relay.url(), "node-" + i).withBackoff(1_000, 1_000),
                            List.of(),
                            null,
                            new Collector() {
                                @Override
                                public void onConnected(boolean sessionPresent) {
                                    reconnectedAt.add(System.nanoTime());
                                }
                            }));
                }
                for (MqttLink link : started) {
                    assertTrue(link.awaitConnected(10_000), link.lastError());
                }
                // A link reports its connect to the listener after it counts as connected: wait for
                // every first report, or a late one would count as a reconnect.
                long reported = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (reconnectedAt.size() < links && System.nanoTime() < reported) {
                    Thread.sleep(10);
                }
                assertEquals(links, reconnectedAt.size(), "every link reported its first connect");
                reconnectedAt.clear();
                long droppedAt = System.nanoTime();
                relay.cut();
                relay.restore();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (reconnectedAt.size() < links && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(links, reconnectedAt.size(), "every link came back");
                long first = java.util.Collections.min(reconnectedAt) - droppedAt;
                long last = java.util.Collections.max(reconnectedAt) - droppedAt;
                // Ten draws from [0, 1 s]: their range is under 300 ms with a chance of 2 in 10,000.
                assertTrue(
                        last - first > TimeUnit.MILLISECONDS.toNanos(300),
                        "reconnects from " + first / 1_000_000 + " ms to " + last / 1_000_000 + " ms after the drop");
            } finally {
                started.forEach(MqttLink::close);
            }
        }
    }

    /**
     * A listener that waits holds the broker back: the subscriber reads nothing while the
     * publisher's messages are all acknowledged by the broker, then receives every one of them.
     * (The subscriber's keep-alive is longer than the wait: Paho's reader also waits, and would
     * miss the ping answer otherwise.)
     */
    private static void aWaitingListenerHoldsTheBrokerBackAndLosesNothing(LinkOptions.Protocol protocol)
            throws Exception {
        int total = 3_000;
        CountDownLatch release = new CountDownLatch(1);
        java.util.Set<String> received = ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        MqttLink.Listener waiting = (topic, payload, retained) -> {
            calls.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            received.add(new String(payload, StandardCharsets.UTF_8));
        };
        try (MosquittoBroker broker = MosquittoBroker.start();
                MqttLink sub = MqttLink.start(
                        options(broker.url(), "slow").withProtocol(protocol).withKeepAlive(60),
                        List.of("edgegate/v1/+/+/instances/+"),
                        null,
                        waiting);
                MqttLink pub = MqttLink.start(
                        options(broker.url(), "fast").withProtocol(protocol).withMaxInFlight(64),
                        List.of(),
                        null,
                        new Collector())) {
            assertTrue(sub.awaitConnected(5_000), sub.lastError());
            assertTrue(pub.awaitConnected(5_000), pub.lastError());
            CountDownLatch acked = new CountDownLatch(total);
            for (int i = 0; i < total; i++) {
                byte[] payload = Integer.toString(i).getBytes(StandardCharsets.UTF_8);
                while (pub.publish("edgegate/v1/s/n/instances/i" + i, payload, false, ok -> {
                            if (ok) {
                                acked.countDown();
                            }
                        })
                        != MqttLink.Send.SENT) {
                    Thread.sleep(1);
                }
            }
            assertTrue(acked.await(30, TimeUnit.SECONDS), "the broker acknowledged every publish");
            assertEquals(1, calls.get(), "the subscriber took one message and waits in it");
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (received.size() < total && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(total, received.size(), "every acknowledged message arrived");
            assertEquals(1, sub.counters().connects(), "the waiting subscriber kept its connection");
        }
    }

    @Test
    void aWaitingListenerHoldsTheBrokerBackAndLosesNothingWithMqtt5() throws Exception {
        aWaitingListenerHoldsTheBrokerBackAndLosesNothing(LinkOptions.Protocol.MQTT_5);
    }

    @Test
    void aWaitingListenerHoldsTheBrokerBackAndLosesNothingWithMqtt311() throws Exception {
        aWaitingListenerHoldsTheBrokerBackAndLosesNothing(LinkOptions.Protocol.MQTT_3_1_1);
    }
}
