package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.bridge.testing.ShippedBroker;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker k3s/mosquitto ships, with the credentials and ACL its broker-auth.sh makes for two
 * nodes of site plant-1 and cloud-sync, run with Debian's mosquitto: the product's own links work
 * under it, and a node can publish only about itself. Forbidden publishes are made with a raw
 * Paho client, which reads the PUBACK's reason code; each is followed by an allowed marker that
 * the same subscriber receives, so "never delivered" is checked without waiting on a clock
 * (mosquitto handles one client's packets in order and delivers to one subscriber in order).
 */
class BrokerAclTest {
    static final String SITE = "plant-1";
    static final int NOT_AUTHORIZED = 0x87;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path root;

    ShippedBroker broker;
    Path cloudPassword;
    Path node1Password;
    Path node2Password;
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void renderCredentialsAndStartTheBroker() throws Exception {
        Files.createDirectories(root.resolve("secrets"));
        cloudPassword = secret("cloud-sync", ShippedBroker.authOk(root, "add-cloud"));
        node1Password = secret("node-1", ShippedBroker.authOk(root, "add-node", SITE, "node-1"));
        node2Password = secret("node-2", ShippedBroker.authOk(root, "add-node", SITE, "node-2"));
        broker = ShippedBroker.start(root, 1);
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        broker.close();
    }

    // ---------------------------------------------------------------- what the product does

    @Test
    void aNodesOwnInstanceAndStatusReachCloudSync() throws Exception {
        Cloud cloud = cloud();
        EdgeLink node1 = edge("node-1", node1Password, new Edge());
        // the online status the link publishes on connecting
        Decoded.Accepted status = cloud.next(a -> a.topic().kind() == TopicName.Kind.STATUS);
        assertEquals("node-1", status.topic().node());
        assertTrue(((NodeStatus) status.message()).online());
        publishAcked(node1, state("llm-1", 5));
        Decoded.Accepted instance = cloud.next(a -> a.topic().kind() == TopicName.Kind.INSTANCE);
        assertEquals(new TopicName(TopicName.Kind.INSTANCE, SITE, "node-1", "llm-1", null), instance.topic());
        assertEquals(5, ((InstanceState) instance.message()).index());
    }

    @Test
    void aNodeSyncsUnderTheAclWithMqtt311Too() throws Exception {
        Cloud cloud = cloud();
        EdgeLink node1 = EdgeLink.start(
                options(broker.edgeUrl(), "edgegate-plant-1-node-1").toBuilder()
                        .protocol(LinkOptions.Protocol.MQTT_3_1_1)
                        .credentials(SITE + "/node-1", node1Password)
                        .build(),
                new Topics(SITE, "node-1"),
                "10.0.0.1",
                1,
                new Edge());
        closeables.add(node1);
        assertTrue(node1.link().awaitConnected(15_000), node1.link().lastError());
        publishAcked(node1, state("llm-1", 7));
        assertEquals(
                7,
                ((InstanceState) cloud.next(a -> a.topic().kind() == TopicName.Kind.INSTANCE)
                                .message())
                        .index());
    }

    @Test
    void cloudSyncPushesSiteAndNodeConfigurationThatTheNodeReceives() throws Exception {
        Edge node1 = new Edge();
        edge("node-1", node1Password, node1);
        Edge node2 = new Edge();
        edge("node-2", node2Password, node2);
        Cloud cloud = cloud();
        pushAcked(cloud, null, config("weights", "llm", 1));
        pushAcked(cloud, "node-1", config("routing", "llm", 2));
        Edge.Config site = node1.nextConfig();
        Edge.Config own = node1.nextConfig();
        assertTrue(site.siteWide());
        assertEquals("weights", site.push().kind());
        assertFalse(own.siteWide());
        assertEquals("routing", own.push().kind());
        // node-2 gets the site's, not node-1's
        assertEquals("weights", node2.nextConfig().push().kind());
        pushAcked(cloud, "node-2", config("marker", "m", 3));
        assertEquals("marker", node2.nextConfig().push().kind(), "node-1's configuration reached node-2");
    }

    @Test
    void cloudSyncSendsResyncCommandsThatTheNodeReceives() throws Exception {
        Edge node1 = new Edge();
        edge("node-1", node1Password, node1);
        Cloud cloud = cloud();
        CountDownLatch acked = new CountDownLatch(1);
        assertEquals(
                MqttLink.Send.SENT,
                cloud.link.requestResync(SITE, "node-1", new ResyncCommand("digest-mismatch", 0, 1), ok -> {
                    if (ok) {
                        acked.countDown();
                    }
                }));
        assertTrue(acked.await(5, TimeUnit.SECONDS));
        assertEquals("digest-mismatch", node1.nextResync().reason());
    }

    // ---------------------------------------------------------------- what a node may not do

    @Test
    void aNodeCannotOverwriteOrDeleteAnotherNodesInstance() throws Exception {
        EdgeLink node2 = edge("node-2", node2Password, new Edge());
        publishAcked(node2, state("llm-2", 5));
        Cloud cloud = cloud();
        assertEquals(5, ((InstanceState) cloud.next(instanceOf("node-2")).message()).index());
        try (Raw node1 = raw(broker.edgeUrl(), SITE + "/node-1", node1Password)) {
            String victim = new Topics(SITE, "node-2").instance("llm-2");
            assertEquals(NOT_AUTHORIZED, node1.publish(victim, SyncCodec.encode(state("llm-2", 99)), true));
            assertEquals(NOT_AUTHORIZED, node1.publish(victim, new byte[0], true));
            // the marker: node-1's own instance, on the same connection, after the refused ones
            assertTrue(node1.publish(
                            new Topics(SITE, "node-1").instance("marker"), SyncCodec.encode(state("marker", 1)), true)
                    < 0x80);
        }
        cloud.next(instanceOf("node-1"));
        assertFalse(
                cloud.seen(a -> instanceOf("node-2").test(a) && ((InstanceState) a.message()).index() != 5),
                "a forged state of node-2 reached cloud-sync");
        // what the broker keeps for node-2 is still node-2's own state
        Cloud late = cloud();
        assertEquals(5, ((InstanceState) late.next(instanceOf("node-2")).message()).index());
    }

    // node-1 is played by the raw client here, subscribed to what its gateway subscribes: one
    // user is one client id on the edge listener, so its own link cannot be connected meanwhile

    @Test
    void aNodeCannotPushConfigurationToItsSiteAnotherNodeOrItself() throws Exception {
        Edge node2 = new Edge();
        EdgeLink node2Link = edge("node-2", node2Password, node2);
        Cloud cloud = cloud();
        byte[] forged = SyncCodec.encode(config("weights", "llm", 9));
        try (Raw node1 = raw(broker.edgeUrl(), SITE + "/node-1", node1Password)) {
            for (String filter : new Topics(SITE, "node-1").downlinkFilters()) {
                node1.subscribe(filter);
            }
            assertEquals(NOT_AUTHORIZED, node1.publish(Topics.siteConfig(SITE, "weights", "llm"), forged, true));
            assertEquals(
                    NOT_AUTHORIZED,
                    node1.publish(new Topics(SITE, "node-2").nodeConfig("weights", "llm"), forged, true));
            assertEquals(
                    NOT_AUTHORIZED,
                    node1.publish(new Topics(SITE, "node-1").nodeConfig("weights", "llm"), forged, true));
            assertEquals(NOT_AUTHORIZED, node1.publish(Topics.siteConfig("plant-2", "weights", "llm"), forged, true));
            pushAcked(cloud, null, config("marker", "m", 1));
            assertEquals(
                    Topics.siteConfig(SITE, "marker", "m"), node1.nextTopic(), "forged configuration reached node-1");
        }
        assertEquals("marker", node2.nextConfig().push().kind(), "forged configuration reached node-2");
        // nor did the broker retain any: a node that connects later gets the marker, then a live push
        node2Link.close();
        Edge later = new Edge();
        edge("node-2", node2Password, later);
        pushAcked(cloud, "node-2", config("live", "m", 2));
        assertEquals("marker", later.nextConfig().push().kind());
        assertEquals("live", later.nextConfig().push().kind(), "the broker retained forged configuration");
    }

    @Test
    void aNodeCannotSendResyncCommands() throws Exception {
        Edge node2 = new Edge();
        edge("node-2", node2Password, node2);
        Cloud cloud = cloud();
        byte[] forged = SyncCodec.encode(new ResyncCommand("forged", 0, 1));
        try (Raw node1 = raw(broker.edgeUrl(), SITE + "/node-1", node1Password)) {
            node1.subscribe(new Topics(SITE, "node-1").resync());
            assertEquals(NOT_AUTHORIZED, node1.publish(new Topics(SITE, "node-2").resync(), forged, false));
            assertEquals(NOT_AUTHORIZED, node1.publish(new Topics(SITE, "node-1").resync(), forged, false));
            for (String node : List.of("node-1", "node-2")) {
                CountDownLatch acked = new CountDownLatch(1);
                cloud.link.requestResync(SITE, node, new ResyncCommand("marker", 0, 2), ok -> acked.countDown());
                assertTrue(acked.await(5, TimeUnit.SECONDS));
            }
            assertEquals("marker", ((ResyncCommand) node1.next().message()).reason(), "a forged resync reached node-1");
        }
        assertEquals("marker", node2.nextResync().reason(), "a forged resync reached node-2");
    }

    @Test
    void aNodeReadsNeitherAnotherNodesConfigurationNorItsCommands() throws Exception {
        try (Raw raw = raw(broker.edgeUrl(), SITE + "/node-1", node1Password)) {
            raw.subscribe("#");
            Cloud cloud = cloud();
            pushAcked(cloud, "node-2", config("secret-routing", "llm", 1));
            cloud.link.requestResync(SITE, "node-2", new ResyncCommand("for-node-2", 0, 1), null);
            pushAcked(cloud, "node-1", config("marker", "m", 2));
            assertEquals(new Topics(SITE, "node-1").nodeConfig("marker", "m"), raw.nextTopic());
        }
    }

    @Test
    void aNodeCannotPublishAboutAnotherSite() throws Exception {
        Cloud cloud = cloud();
        try (Raw raw = raw(broker.edgeUrl(), SITE + "/node-1", node1Password)) {
            assertEquals(
                    NOT_AUTHORIZED,
                    raw.publish(new Topics("plant-2", "node-1").instance("x"), SyncCodec.encode(state("x", 1)), true));
            assertEquals(NOT_AUTHORIZED, raw.publish(new Topics("plant-2", "node-1").status(), new byte[] {'x'}, true));
            assertTrue(raw.publish(
                            new Topics(SITE, "node-1").instance("marker"), SyncCodec.encode(state("marker", 1)), true)
                    < 0x80);
        }
        cloud.next(instanceOf("node-1"));
        assertFalse(cloud.seen(a -> a.topic().site().equals("plant-2")));
    }

    @Test
    void aNodesWillCanMarkOnlyItselfOffline() throws Exception {
        Cloud cloud = cloud();
        EdgeLink node2 = edge("node-2", node2Password, new Edge());
        cloud.next(a ->
                a.topic().kind() == TopicName.Kind.STATUS && a.topic().node().equals("node-2"));
        // a raw client with node-1's credentials and a will on node-2's status dies uncleanly
        Raw forger = raw(broker.edgeUrl(), SITE + "/node-1", node1Password, new Topics(SITE, "node-2").status());
        forger.abort();
        // node-1's own link dies the same way: its will (offline) arrives; the forged one never did
        EdgeLink node1 = edge("node-1", node1Password, new Edge());
        node1.abort();
        cloud.next(a -> a.topic().kind() == TopicName.Kind.STATUS
                && a.topic().node().equals("node-1")
                && !((NodeStatus) a.message()).online());
        assertFalse(
                cloud.seen(a -> a.topic().kind() == TopicName.Kind.STATUS
                        && a.topic().node().equals("node-2")
                        && !((NodeStatus) a.message()).online()),
                "node-1's will marked node-2 offline");
        assertTrue(node2.connected());
    }

    @Test
    void aNodeCannotTakeOverAnotherNodesConnection() throws Exception {
        Cloud cloud = cloud();
        EdgeLink node2 = edge("node-2", node2Password, new Edge());
        // node-2's own client id and its username, both tried with node-1's credentials
        for (String clientId : List.of("edgegate-plant-1-node-2", SITE + "/node-2")) {
            try (Raw raw = raw(broker.edgeUrl(), SITE + "/node-1", node1Password, null, clientId)) {
                assertTrue(raw.publish(new Topics(SITE, "node-1").instance("m"), SyncCodec.encode(state("m", 1)), true)
                        < 0x80);
            }
        }
        // node-2's connection is the one it had: a publish on it is acknowledged, nothing was lost
        publishAcked(node2, state("llm-2", 6));
        cloud.next(a -> instanceOf("node-2").test(a) && ((InstanceState) a.message()).index() == 6);
        assertEquals(0, node2.link().counters().connectionsLost());
        assertEquals(1, node2.link().counters().connects());
    }

    @Test
    void publishesTheBrokerRefusesAreNotAcknowledged() throws Exception {
        // a gateway configured as node-2 with node-1's credentials: it connects, and every
        // publish about node-2 is refused, so its outbox keeps them
        EdgeLink misconfigured = EdgeLink.start(
                options(broker.edgeUrl(), "edgegate-plant-1-node-2").toBuilder()
                        .credentials(SITE + "/node-1", node1Password)
                        .build(),
                new Topics(SITE, "node-2"),
                "10.0.0.1",
                1,
                new Edge());
        closeables.add(misconfigured);
        assertTrue(
                misconfigured.link().awaitConnected(15_000),
                misconfigured.link().lastError());
        BlockingQueue<Boolean> answer = new LinkedBlockingQueue<>();
        assertEquals(MqttLink.Send.SENT, misconfigured.publishState(state("llm-2", 1), answer::add));
        assertEquals(Boolean.FALSE, answer.poll(5, TimeUnit.SECONDS));
        assertTrue(
                misconfigured.link().lastError().contains("reason=0x87"),
                misconfigured.link().lastError());
        // its online status (node-2's) was refused too: the broker acknowledged nothing
        assertEquals(0, misconfigured.link().counters().acked());
    }

    // ---------------------------------------------------------------- who may connect

    @Test
    void anonymousClientsAreRefusedOnBothListeners() {
        for (String url : List.of(broker.edgeUrl(), broker.cloudUrl())) {
            MqttException e =
                    assertThrows(MqttException.class, () -> raw(url, null, null).close());
            assertEquals(NOT_AUTHORIZED, e.getReasonCode(), url);
        }
    }

    @Test
    void aWrongPasswordIsRefused() throws Exception {
        Path wrong = secret("wrong", "not-the-password");
        MqttException e = assertThrows(MqttException.class, () -> raw(broker.edgeUrl(), SITE + "/node-1", wrong)
                .close());
        assertEquals(NOT_AUTHORIZED, e.getReasonCode());
        // the product's link keeps trying and says why
        EdgeLink link = EdgeLink.start(
                options(broker.edgeUrl(), "edgegate-plant-1-node-1").toBuilder()
                        .credentials(SITE + "/node-1", wrong)
                        .build(),
                new Topics(SITE, "node-1"),
                "10.0.0.1",
                1,
                new Edge());
        closeables.add(link);
        assertFalse(link.link().awaitConnected(1_000));
        assertTrue(link.link().counters().connectFailures() >= 1);
        assertTrue(
                link.link().lastError().contains("Not authorized"), link.link().lastError());
    }

    @Test
    void eachListenerAcceptsOnlyItsOwnUsers() {
        MqttException node =
                assertThrows(MqttException.class, () -> raw(broker.cloudUrl(), SITE + "/node-1", node1Password)
                        .close());
        assertEquals(NOT_AUTHORIZED, node.getReasonCode(), "a node's credentials on the cloud listener");
        MqttException cloud = assertThrows(MqttException.class, () -> raw(broker.edgeUrl(), "cloud-sync", cloudPassword)
                .close());
        assertEquals(NOT_AUTHORIZED, cloud.getReasonCode(), "cloud-sync's credentials on the edge listener");
    }

    // ---------------------------------------------------------------- operating it

    @Test
    void aNodeAddedWhileTheBrokerRunsIsAcceptedWithoutARestart() throws Exception {
        Cloud cloud = cloud();
        Path node3Password = secret("node-3", ShippedBroker.authOk(root, "add-node", SITE, "node-3"));
        // run.sh sees the new files within its period (1 s here) and reloads the broker
        EdgeLink node3 = EdgeLink.start(
                options(broker.edgeUrl(), "edgegate-plant-1-node-3").toBuilder()
                        .credentials(SITE + "/node-3", node3Password)
                        .build(),
                new Topics(SITE, "node-3"),
                "10.0.0.3",
                1,
                new Edge());
        closeables.add(node3);
        assertTrue(node3.link().awaitConnected(10_000), node3.link().lastError() + "\n" + broker.log());
        publishAcked(node3, state("llm-3", 1));
        cloud.next(instanceOf("node-3"));
        assertTrue(broker.log().contains("reloaded"), broker.log());
    }

    @Test
    void aRotatedPasswordReplacesTheOldOne() throws Exception {
        String old = Files.readString(node1Password);
        Path rotated = secret("node-1-rotated", ShippedBroker.authOk(root, "rotate-node", SITE, "node-1"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                raw(broker.edgeUrl(), SITE + "/node-1", rotated).close();
                break;
            } catch (MqttException e) {
                assertEquals(NOT_AUTHORIZED, e.getReasonCode());
                assertTrue(System.nanoTime() < deadline, "the rotated password was not accepted within 30 s");
                Thread.sleep(100);
            }
        }
        Path oldFile = secret("node-1-old", old);
        MqttException e = assertThrows(MqttException.class, () -> raw(broker.edgeUrl(), SITE + "/node-1", oldFile)
                .close());
        assertEquals(NOT_AUTHORIZED, e.getReasonCode());
    }

    @Test
    void theScriptRefusesNamesThatAreNotOneTopicLevel() throws Exception {
        for (String node : List.of("a/b", "+", "#", "config", "", ".hidden", "x".repeat(129))) {
            ShippedBroker.Run run = ShippedBroker.auth(root, "add-node", SITE, node);
            assertEquals(2, run.exitCode(), "node '" + node + "' was accepted");
            assertTrue(run.stderr().contains("invalid node"), run.stderr());
            assertEquals("", run.stdout());
        }
        ShippedBroker.Run site = ShippedBroker.auth(root, "add-node", "plant/1", "node-9");
        assertEquals(2, site.exitCode());
        assertTrue(site.stderr().contains("invalid site"), site.stderr());
        assertEquals(
                List.of("cloud cloud-sync", "node plant-1/node-1", "node plant-1/node-2"),
                ShippedBroker.authOk(root, "list").lines().toList());
    }

    @Test
    void theBrokerStopsWithItsReloader() throws Exception {
        broker.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!broker.stopped() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(broker.stopped(), "run.sh or mosquitto outlived SIGTERM");
        assertTrue(Files.isRegularFile(root.resolve("broker/data/mosquitto.db")), "mosquitto did not save its state");
    }

    // ---------------------------------------------------------------- helpers

    Path secret(String name, String content) throws Exception {
        Path p = root.resolve("secrets").resolve(name);
        Files.writeString(p, content + "\n");
        return p;
    }

    static LinkOptions options(String url, String clientId) {
        return LinkOptions.builder(url, clientId)
                .backoff(20, 200)
                .keepAliveSeconds(2)
                .build();
    }

    EdgeLink edge(String node, Path password, Edge handler) throws Exception {
        EdgeLink link = EdgeLink.start(
                options(broker.edgeUrl(), "edgegate-" + SITE + "-" + node).toBuilder()
                        .credentials(SITE + "/" + node, password)
                        .build(),
                new Topics(SITE, node),
                "10.0.0.1",
                1,
                handler);
        closeables.add(link);
        assertTrue(link.link().awaitConnected(15_000), link.link().lastError());
        return link;
    }

    Cloud cloud() throws Exception {
        Cloud cloud = new Cloud();
        cloud.link = CloudLink.start(
                options(broker.cloudUrl(), "cloud-sync-test-" + closeables.size()).toBuilder()
                        .credentials("cloud-sync", cloudPassword)
                        .build(),
                cloud);
        closeables.add(cloud.link);
        assertTrue(cloud.link.link().awaitConnected(15_000), cloud.link.link().lastError());
        return cloud;
    }

    static InstanceState state(String id, long index) {
        return new InstanceState("llm", id, "10.0.0.5", 8000, List.of(), Map.of(), SyncHealth.PASSING, 1, index, 0);
    }

    static ConfigPush config(String kind, String name, long version) {
        return new ConfigPush(kind, name, version, 0, JSON.createObjectNode().put("v1", 100));
    }

    static Predicate<Decoded.Accepted> instanceOf(String node) {
        return a ->
                a.topic().kind() == TopicName.Kind.INSTANCE && a.topic().node().equals(node);
    }

    static void publishAcked(EdgeLink link, InstanceState state) throws InterruptedException {
        BlockingQueue<Boolean> answer = new LinkedBlockingQueue<>();
        assertEquals(MqttLink.Send.SENT, link.publishState(state, answer::add));
        assertEquals(
                Boolean.TRUE,
                answer.poll(5, TimeUnit.SECONDS),
                "not acknowledged: " + link.link().lastError());
    }

    static void pushAcked(Cloud cloud, String node, ConfigPush push) throws InterruptedException {
        BlockingQueue<Boolean> answer = new LinkedBlockingQueue<>();
        assertEquals(MqttLink.Send.SENT, cloud.link.pushConfig(SITE, node, push, answer::add));
        assertEquals(
                Boolean.TRUE,
                answer.poll(5, TimeUnit.SECONDS),
                "not acknowledged: " + cloud.link.link().lastError());
    }

    /** cloud-sync's end: every accepted message, in arrival order. */
    static final class Cloud implements CloudLink.Handler {
        final BlockingQueue<Decoded.Accepted> messages = new LinkedBlockingQueue<>();
        final List<Decoded.Accepted> received = new ArrayList<>();
        CloudLink link;

        @Override
        public void onMessage(Decoded.Accepted message, boolean retained, long receivedAtMillis) {
            messages.add(message);
        }

        @Override
        public void onRejected(Decoded.Rejected rejected) {}

        /** The next message that matches, within 5 s; the ones before it are kept for {@link #seen}. */
        Decoded.Accepted next(Predicate<Decoded.Accepted> wanted) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (true) {
                Decoded.Accepted a = messages.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (a == null) {
                    throw new AssertionError("cloud-sync received nothing that matches within 5 s; got " + received);
                }
                received.add(a);
                if (wanted.test(a)) {
                    return a;
                }
            }
        }

        /** Whether any message received so far (up to the last {@link #next}) matches. */
        boolean seen(Predicate<Decoded.Accepted> p) {
            return received.stream().anyMatch(p);
        }
    }

    /** An edge node's handler: what the cloud sent it, in arrival order. */
    static final class Edge implements EdgeLink.Handler {
        record Config(ConfigPush push, boolean siteWide) {}

        final BlockingQueue<Config> configs = new LinkedBlockingQueue<>();
        final BlockingQueue<ResyncCommand> resyncs = new LinkedBlockingQueue<>();

        @Override
        public void onConnected() {}

        @Override
        public void onResync(ResyncCommand command) {
            resyncs.add(command);
        }

        @Override
        public void onConfig(ConfigPush push, boolean siteWide) {
            configs.add(new Config(push, siteWide));
        }

        @Override
        public void onConfigRemoved(ConfigRemoved removed, boolean siteWide) {}

        Config nextConfig() throws InterruptedException {
            Config c = configs.poll(5, TimeUnit.SECONDS);
            if (c == null) {
                throw new AssertionError("no configuration within 5 s");
            }
            return c;
        }

        ResyncCommand nextResync() throws InterruptedException {
            ResyncCommand c = resyncs.poll(5, TimeUnit.SECONDS);
            if (c == null) {
                throw new AssertionError("no resync command within 5 s");
            }
            return c;
        }
    }

    Raw raw(String url, String username, Path password) throws Exception {
        return raw(url, username, password, null, "raw-" + System.nanoTime());
    }

    Raw raw(String url, String username, Path password, String willTopic) throws Exception {
        return raw(url, username, password, willTopic, "raw-" + System.nanoTime());
    }

    /** A plain MQTT 5 client (Paho), for what the product's links never do. */
    Raw raw(String url, String username, Path password, String willTopic, String clientId) throws Exception {
        return new Raw(url, username, password, willTopic, clientId);
    }

    static final class Raw implements AutoCloseable {
        final MqttAsyncClient client;

        record Received(String topic, Decoded decoded) {}

        final BlockingQueue<Received> messages = new LinkedBlockingQueue<>();
        final AtomicBoolean aborted = new AtomicBoolean();

        Raw(String url, String username, Path password, String willTopic, String clientId) throws Exception {
            client = new MqttAsyncClient(url, clientId, new MemoryPersistence());
            client.setCallback(new MqttCallback() {
                @Override
                public void disconnected(MqttDisconnectResponse response) {}

                @Override
                public void mqttErrorOccurred(MqttException exception) {}

                @Override
                public void messageArrived(String topic, MqttMessage message) {
                    messages.add(new Received(topic, SyncCodec.decode(topic, message.getPayload())));
                }

                @Override
                public void deliveryComplete(IMqttToken token) {}

                @Override
                public void connectComplete(boolean reconnect, String serverURI) {}

                @Override
                public void authPacketArrived(int reasonCode, MqttProperties properties) {}
            });
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setAutomaticReconnect(false);
            o.setConnectionTimeout(5);
            if (username != null) {
                o.setUserName(username);
                o.setPassword(Files.readString(password).strip().getBytes(StandardCharsets.UTF_8));
            }
            if (willTopic != null) {
                o.setWill(
                        willTopic,
                        new MqttMessage(
                                SyncCodec.encode(new NodeStatus(false, 9, 9, Long.MAX_VALUE, 0, "")), 1, true, null));
            }
            try {
                client.connect(o).waitForCompletion(5_000);
            } catch (MqttException e) {
                client.close(true);
                throw e;
            }
        }

        /** Publishes at QoS 1 and returns the PUBACK's reason code. */
        int publish(String topic, byte[] payload, boolean retained) throws Exception {
            IMqttToken token = client.publish(topic, payload, 1, retained);
            token.waitForCompletion(5_000);
            int[] codes = token.getReasonCodes();
            assertInstanceOf(int[].class, codes);
            return codes[0];
        }

        void subscribe(String filter) throws Exception {
            client.subscribe(new MqttSubscription[] {new MqttSubscription(filter, 1)}, null, null, new MqttProperties())
                    .waitForCompletion(5_000);
        }

        Received nextReceived() throws InterruptedException {
            Received r = messages.poll(5, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("no message within 5 s");
            }
            return r;
        }

        Decoded.Accepted next() throws InterruptedException {
            return assertInstanceOf(Decoded.Accepted.class, nextReceived().decoded());
        }

        String nextTopic() throws InterruptedException {
            return nextReceived().topic();
        }

        /** The connection dies without DISCONNECT: the broker publishes the will, if allowed. */
        void abort() throws Exception {
            aborted.set(true);
            client.disconnectForcibly(0, 1, false);
            client.close(true);
        }

        @Override
        public void close() throws MqttException {
            if (aborted.get()) {
                return;
            }
            if (client.isConnected()) {
                client.disconnect().waitForCompletion(2_000);
            }
            client.close(true);
        }
    }
}
