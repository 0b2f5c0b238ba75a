package io.edgegate.cloud;

import static io.edgegate.bridge.testing.HeadlessBrowser.instanceOnScreen;
import static io.edgegate.bridge.testing.HeadlessBrowser.whenAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.EdgeLink;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.SyncHealth;
import io.edgegate.bridge.testing.HeadlessBrowser;
import io.edgegate.bridge.testing.MosquittoBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;

/**
 * cloud-sync's fleet page at {@code /ui/} in a real browser (headless Chromium), fed by edge nodes
 * (EdgeLink) through a mosquitto process: the tree of sites, nodes, services and instances with a
 * summary per site; published instances, health changes and removals appear without a reload; a
 * node that dies is highlighted stale with its last-seen time; a token without {@code node:read}
 * is told so; the page fits a phone. One broker, replica and browser for the class; each test uses
 * nodes or instances of its own. Screenshots: {@code target/ui-screenshots/}.
 */
@Tag("browser")
class FleetPageBrowserTest {
    static final String ADMIN = "fleet-admin-token-0123456789";
    static final String SERVICES_ONLY = "fleet-services-token-0123456789";

    @TempDir
    static Path dir;

    static MosquittoBroker broker;
    static CloudSync cloud;
    static HeadlessBrowser browser;
    static final List<AutoCloseable> nodes = new ArrayList<>();
    static final AtomicLong index = new AtomicLong();

    @BeforeAll
    static void start() throws Exception {
        broker = MosquittoBroker.start();
        Path acl = dir.resolve("acl.yaml");
        Files.writeString(acl, """
                policies:
                  services-only: {service-prefix: {"": read}}
                tokens:
                  - {secret: %s, policies: [global-management], description: fleet operators}
                  - {secret: %s, policies: [services-only], description: service owners}
                """.formatted(ADMIN, SERVICES_ONLY));
        CloudSyncConfig base = CloudSyncConfig.load(Map.of("CLOUDSYNC_ACL_TOKENS_FILE", acl.toString()), (Path) null);
        cloud = CloudSync.start(base.toBuilder()
                .ports(0, 0)
                .mqtt(LinkOptions.builder(broker.url(), "cloud-ui")
                        .backoff(20, 200)
                        .keepAliveSeconds(2)
                        .build())
                .build());
        assertTrue(
                cloud.link().link().awaitConnected(15_000), cloud.link().link().lastError());
        browser = HeadlessBrowser.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.close();
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).close();
        }
        if (cloud != null) {
            cloud.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** An edge node on the broker, as a gateway's sync would be. */
    static EdgeLink node(String site, String node) throws Exception {
        EdgeLink link = EdgeNodes.start(broker.url(), site, node, EdgeNodes.ignoring());
        nodes.add(link);
        return link;
    }

    static void publish(EdgeLink node, String service, String id, SyncHealth health, Map<String, String> meta)
            throws InterruptedException {
        InstanceState s = new InstanceState(
                service,
                id,
                "10.0.0.5",
                8000,
                List.of("version:v2", "line-3"),
                meta,
                health,
                1,
                index.incrementAndGet(),
                System.currentTimeMillis());
        EdgeNodes.publishAcked(node, s);
    }

    static void remove(EdgeLink node, String id) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        assertEquals(MqttLink.Send.SENT, node.publishRemoval(id, ok -> done.countDown()));
        assertTrue(done.await(5, TimeUnit.SECONDS), "removal not acknowledged: " + id);
        // A node publishes its digest after a burst of changes: a removal carries no index, and the
        // digest's (the removal's) is what moves the fleet index that the page waits on.
        io.edgegate.bridge.Digest digest = new io.edgegate.bridge.Digest.Accumulator()
                .digest(1, index.incrementAndGet(), System.currentTimeMillis());
        CountDownLatch digested = new CountDownLatch(1);
        assertEquals(MqttLink.Send.SENT, node.publishDigest(digest, false, ok -> digested.countDown()));
        assertTrue(digested.await(5, TimeUnit.SECONDS), "digest not acknowledged");
    }

    /** Opens the page afresh and signs in with {@code token}: paste and press the button. */
    static void signIn(String token) {
        browser.signIn("http://127.0.0.1:" + cloud.port() + "/ui/", token, d -> browser.shown(By.id("fleet-card")));
    }

    static By nodeOnScreen(String site, String node) {
        return By.cssSelector("[data-node='" + site + "/" + node + "']");
    }

    // ---------------------------------------------------------------- tests

    @Test
    void fleetIsShownSiteByNodeByServiceWithASummaryPerSite() throws Exception {
        EdgeLink n1 = node("tree-site", "n1");
        EdgeLink n2 = node("tree-site", "n2");
        publish(n1, "llm", "tree-llm-1", SyncHealth.PASSING, Map.of("model", "qwen2.5-7b"));
        publish(n1, "vision", "tree-vision-1", SyncHealth.PASSING, Map.of());
        publish(n2, "llm", "tree-llm-2", SyncHealth.CRITICAL, Map.of());

        signIn(ADMIN);

        // Read in one wait: the page re-renders on every answer and replaces its elements.
        List<String> shown = browser.await(
                "the site with 3 instances",
                d -> browser.find(By.cssSelector("[data-site='tree-site'] [data-instance='tree-llm-2']")) != null
                        ? whenAll(
                                browser.text(By.cssSelector("[data-site='tree-site'] .site-summary")),
                                browser.text(nodeOnScreen("tree-site", "n1")),
                                browser.attribute(
                                        By.cssSelector(
                                                "[data-node='tree-site/n1'] [data-service='llm'] [data-instance]"),
                                        "data-instance"))
                        : null);
        String summary = shown.get(0);
        assertTrue(summary.contains("2 nodes"), summary);
        assertTrue(summary.contains("3 instances"), summary);
        assertTrue(summary.contains("2 passing"), summary);
        assertTrue(summary.contains("1 critical"), summary);
        String node1 = shown.get(1);
        assertTrue(node1.contains("ONLINE"), node1);
        assertEquals("tree-llm-1", shown.get(2));
        assertTrue(node1.contains("qwen2.5-7b"), node1);
    }

    @Test
    void siteSummaryNamesTheModelsAndAdaptersItsInstancesServe() throws Exception {
        EdgeLink n1 = node("models-site", "n1");
        EdgeLink n2 = node("models-site", "n2");
        publish(
                n1,
                "llm",
                "models-gpu-0",
                SyncHealth.PASSING,
                Map.of("engine", "vllm", "engine-models", "llama-3-8b", "engine-adapters", "sql-lora"));
        publish(n2, "llm", "models-gpu-1", SyncHealth.PASSING, Map.of("models", "qwen2.5-7b, llama-3-8b"));

        signIn(ADMIN);

        String line = browser.await(
                "the site's models",
                d -> browser.find(By.cssSelector("[data-site='models-site'] [data-instance='models-gpu-1']")) != null
                        ? browser.text(By.cssSelector("[data-site='models-site'] .site-models"))
                        : null);
        assertEquals("models: llama-3-8b, qwen2.5-7b adapters: sql-lora", line.replaceAll("\\s+", " "));
    }

    @Test
    void publishedInstanceAppearsWithoutAReload() throws Exception {
        EdgeLink n = node("appear-site", "n1");
        publish(n, "llm", "appear-1", SyncHealth.PASSING, Map.of());
        signIn(ADMIN);
        browser.await("the first instance", d -> browser.shown(instanceOnScreen("appear-1")));
        browser.script("window.notReloaded = true;");

        publish(n, "llm", "appear-2", SyncHealth.PASSING, Map.of());

        browser.await("the new instance", d -> browser.shown(instanceOnScreen("appear-2")));
        assertEquals(Boolean.TRUE, browser.script("return window.notReloaded === true;"));
    }

    @Test
    void instanceThatTurnsCriticalIsCriticalOnScreen() throws Exception {
        EdgeLink n = node("health-site", "n1");
        publish(n, "llm", "health-1", SyncHealth.PASSING, Map.of());
        signIn(ADMIN);
        browser.await("passing", d -> "passing".equals(browser.attribute(instanceOnScreen("health-1"), "data-health")));

        publish(n, "llm", "health-1", SyncHealth.CRITICAL, Map.of());

        String card = browser.await(
                "critical",
                d -> "critical".equals(browser.attribute(instanceOnScreen("health-1"), "data-health"))
                        ? browser.text(instanceOnScreen("health-1"))
                        : null);
        assertTrue(card.contains("CRITICAL"), card);
    }

    @Test
    void removedInstanceDisappears() throws Exception {
        EdgeLink n = node("remove-site", "n1");
        publish(n, "llm", "remove-1", SyncHealth.PASSING, Map.of());
        publish(n, "llm", "remove-2", SyncHealth.PASSING, Map.of());
        signIn(ADMIN);
        browser.await("both", d -> browser.shown(instanceOnScreen("remove-2")));

        remove(n, "remove-2");

        browser.await("the removed one gone", d -> browser.find(instanceOnScreen("remove-2")) == null);
        assertTrue(browser.shown(instanceOnScreen("remove-1")));
    }

    @Test
    void nodeThatDiesIsHighlightedStaleWithItsLastSeenTime() throws Exception {
        EdgeLink n = node("stale-site", "n1");
        publish(n, "llm", "stale-1", SyncHealth.PASSING, Map.of());
        signIn(ADMIN);
        browser.await("online", d -> "false".equals(browser.attribute(nodeOnScreen("stale-site", "n1"), "data-stale")));

        n.abort();

        By node = nodeOnScreen("stale-site", "n1");
        List<String> shown = browser.await(
                "stale",
                d -> "true".equals(browser.attribute(node, "data-stale"))
                        ? whenAll(browser.text(node), browser.attribute(node, "class"))
                        : null);
        String text = shown.get(0);
        assertTrue(text.contains("OFFLINE") && text.contains("STALE"), text);
        assertTrue(text.matches("(?s).*last seen \\d\\d:\\d\\d:\\d\\d \\(\\d+ s ago\\).*"), text);
        assertTrue(shown.get(1).contains("is-stale"), shown.get(1));
        assertEquals("true", browser.attribute(instanceOnScreen("stale-1"), "data-stale"));
    }

    @Test
    void tokenWithoutNodeReadIsToldWhichRightItLacks() throws Exception {
        EdgeLink n = node("rights-site", "n1");
        publish(n, "llm", "rights-1", SyncHealth.PASSING, Map.of());

        signIn(SERVICES_ONLY);

        String needs = browser.await("the missing right", d -> browser.text(By.cssSelector("#summary .needs")));
        assertTrue(needs.contains("node:read"), needs);
        browser.await("its instances all the same", d -> browser.shown(instanceOnScreen("rights-1")));
    }

    @Test
    void pageFitsAPhoneShowsTextAsTextAndBreaksNoContentSecurityRule() throws Exception {
        EdgeLink a1 = node("plant-a", "node-1");
        EdgeLink a2 = node("plant-a", "node-2");
        EdgeLink b1 = node("plant-b", "node-1");
        publish(a1, "llm-infer", "llm-infer-1", SyncHealth.PASSING, Map.of("model", "qwen2.5-7b"));
        publish(a1, "llm-infer", "llm-infer-2", SyncHealth.WARNING, Map.of("model", "qwen2.5-7b"));
        publish(a1, "vision", "vision-1", SyncHealth.PASSING, Map.of("note", "<i id=\"injected\">x</i>"));
        publish(a2, "llm-infer", "llm-infer-3", SyncHealth.CRITICAL, Map.of("model", "qwen2.5-7b"));
        publish(b1, "plc-adapter", "plc-adapter-line-7-with-a-long-identifier", SyncHealth.PASSING, Map.of());
        a2.abort();
        signIn(ADMIN);
        browser.await("the stale node", d -> "true"
                .equals(browser.attribute(nodeOnScreen("plant-a", "node-2"), "data-stale")));
        browser.await("plant-b", d -> browser.shown(instanceOnScreen("plc-adapter-line-7-with-a-long-identifier")));

        String vision = browser.await("vision-1", d -> browser.text(instanceOnScreen("vision-1")));
        assertTrue(vision.contains("<i id=\"injected\">x</i>"), vision);
        assertNull(browser.script("return document.getElementById('injected');"));
        browser.assertFitsAPhone("fleet");
        browser.assertNoScriptErrors();
    }
}
