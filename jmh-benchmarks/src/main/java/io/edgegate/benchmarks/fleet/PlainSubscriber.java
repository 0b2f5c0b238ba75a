package io.edgegate.benchmarks.fleet;

import io.edgegate.bridge.CloudLink;
import io.edgegate.bridge.Decoded;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.TopicName;
import io.edgegate.bridge.Topics;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * The baseline: a plain QoS 1 subscriber to cloud-sync's four filters, in its own JVM, on the same
 * Paho MQTT 5 client (1.2.5) cloud-sync uses, that only counts. {@code live} counts instance
 * messages until {@code expect}; {@code replay} counts retained messages until {@code expect}.
 * Prints {@code subscribed <ms>}, then {@code done first=<ms> last=<ms> count=<n> cpu=<ms>} (epoch
 * milliseconds; the process's CPU time from the first message to the last) and exits.
 *
 * <p>Usage: {@code PlainSubscriber <broker-url> live|replay <expect> [receive-maximum [paho|link|decode]]};
 * a receive maximum of 0 (the default) leaves Paho's (65,535). {@code link} and {@code decode}
 * count through the product's own receive path instead (see {@link #probe}).
 */
public final class PlainSubscriber {
    private PlainSubscriber() {}

    /**
     * The same count through the product's receive path instead of bare Paho: {@code link} is an
     * {@link MqttLink} (receive maximum, counters, listener), {@code decode} a {@link CloudLink}
     * (and every payload decoded), so a run tells what each layer costs per message.
     */
    private static void probe(
            String url,
            String via,
            boolean replay,
            long expect,
            AtomicLong count,
            long[] first,
            long[] firstCpu,
            CountDownLatch done)
            throws Exception {
        java.util.function.BiConsumer<String, Boolean> counter = (topic, retained) -> {
            if (!(replay ? retained : topic.contains("/instances/"))) {
                return;
            }
            long n = count.incrementAndGet();
            if (n == 1) {
                first[0] = System.currentTimeMillis();
                firstCpu[0] = cpuMillis();
            }
            if (n == expect) {
                System.out.println("done first=" + first[0] + " last=" + System.currentTimeMillis() + " count=" + n
                        + " cpu=" + (cpuMillis() - firstCpu[0]));
                done.countDown();
            }
        };
        LinkOptions options = LinkOptions.builder(url, via + "-" + UUID.randomUUID())
                .keepAliveSeconds(30)
                .build();
        long subscribing = System.currentTimeMillis();
        AutoCloseable client;
        boolean connected;
        if (via.equals("link")) {
            MqttLink link = MqttLink.start(
                    options,
                    Topics.uplinkFilters(),
                    null,
                    (topic, payload, retained) -> counter.accept(topic, retained));
            connected = link.awaitConnected(10_000);
            client = link;
        } else {
            CloudLink link = CloudLink.start(options, new CloudLink.Handler() {
                @Override
                public void onMessage(Decoded.Accepted message, boolean retained, long receivedAtMillis) {
                    counter.accept(message.topic().kind() == TopicName.Kind.INSTANCE ? "/instances/" : "", retained);
                }

                @Override
                public void onRejected(Decoded.Rejected rejected) {}
            });
            connected = link.link().awaitConnected(10_000);
            client = link;
        }
        if (!connected) {
            throw new IllegalStateException("not connected");
        }
        System.out.println("subscribed " + subscribing);
        System.out.flush();
        if (!done.await(2, TimeUnit.HOURS)) {
            System.out.println("timeout count=" + count.get());
        }
        System.out.flush();
        client.close();
        System.exit(0);
    }

    /** This process's CPU time (every thread, user and system), milliseconds. */
    static long cpuMillis() {
        return ((com.sun.management.OperatingSystemMXBean)
                                java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                        .getProcessCpuTime()
                / 1_000_000;
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        boolean replay = args[1].equals("replay");
        long expect = Long.parseLong(args[2]);
        int receiveMaximum = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        AtomicLong count = new AtomicLong();
        long[] first = {0};
        long[] firstCpu = {0};
        CountDownLatch done = new CountDownLatch(1);
        String via = args.length > 4 ? args[4] : "paho";
        if (!via.equals("paho")) {
            probe(url, via, replay, expect, count, first, firstCpu, done);
            return;
        }
        MqttAsyncClient client = new MqttAsyncClient(url, "plain-" + UUID.randomUUID(), new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage message) {
                boolean counted = replay ? message.isRetained() : topic.contains("/instances/");
                if (!counted) {
                    return;
                }
                long n = count.incrementAndGet();
                if (n == 1) {
                    first[0] = System.currentTimeMillis();
                    firstCpu[0] = cpuMillis();
                }
                if (n == expect) {
                    System.out.println("done first=" + first[0] + " last=" + System.currentTimeMillis() + " count=" + n
                            + " cpu=" + (cpuMillis() - firstCpu[0]));
                    done.countDown();
                }
            }

            @Override
            public void disconnected(MqttDisconnectResponse response) {
                System.out.println("disconnected " + response);
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {}

            @Override
            public void deliveryComplete(IMqttToken token) {}

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {}

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {}
        });
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        o.setKeepAliveInterval(30);
        o.setAutomaticReconnect(false);
        if (receiveMaximum > 0) {
            o.setReceiveMaximum(receiveMaximum);
        }
        client.connect(o).waitForCompletion(10_000);
        MqttSubscription[] subs = {
            new MqttSubscription("edgegate/v1/+/+/instances/+", 1),
            new MqttSubscription("edgegate/v1/+/+/status", 1),
            new MqttSubscription("edgegate/v1/+/+/digest", 1),
            new MqttSubscription("edgegate/v1/+/+/manifest", 1)
        };
        long subscribing = System.currentTimeMillis();
        client.subscribe(subs, null, null, new MqttProperties()).waitForCompletion(10_000);
        System.out.println("subscribed " + subscribing);
        System.out.flush();
        if (!done.await(2, TimeUnit.HOURS)) {
            System.out.println("timeout count=" + count.get());
        }
        System.out.flush();
        client.disconnect().waitForCompletion(5_000);
        client.close();
        System.exit(0);
    }
}
