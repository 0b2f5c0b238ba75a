package io.edgegate.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.edgegate.gateway.health.CheckTargetPolicy;
import io.edgegate.gateway.health.HealthChecker;
import io.edgegate.gateway.health.HostResolver;
import io.edgegate.gateway.health.Probers;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryOptions;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scrapes are outbound requests like HTTP checks: they obey the check-target rules (a name that
 * resolves to a cloud metadata address is refused at connect time, and nothing is sent) and take
 * the health checker's permits.
 */
class ScrapeTargetTest {
    @TempDir
    Path dir;

    private final ErrorLog errors = new ErrorLog();
    private Registry registry;
    private Probers probers;
    private HealthChecker checker;
    private InferenceRouting inference;
    private FakeEngine engine;

    /** engine.test resolves to the cloud metadata address; everything else as the system says. */
    private final HostResolver resolver = (host, timeoutMillis) -> host.equals("engine.test")
            ? new InetAddress[] {address("169.254.169.254")}
            : HostResolver.system().resolve(host, timeoutMillis);

    @AfterEach
    void close() {
        if (inference != null) {
            inference.close();
        }
        if (checker != null) {
            checker.close();
        }
        if (probers != null) {
            probers.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    private void start(int permits) {
        registry = Registry.open(dir, new RegistryOptions(1024, 256, 1000, 5_000, 64L << 20), errors);
        probers = new Probers(Probers.Options.defaults(), CheckTargetPolicy.ownAddressOnly(), resolver);
        checker = new HealthChecker(registry, probers, permits, errors);
        inference = new InferenceRouting(new InferenceOptions(true, 20, 1_000, 2_000, 200, 1 << 20))
                .start(registry, probers, checker, id -> 0, errors);
    }

    private void register(String id, String address, int port) {
        registry.await(registry.register(
                new InstanceSpec("llm", id, address, port, List.of(), Map.of("engine", "vllm"), List.of(), 1, 1)));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> signals(String id) {
        Object s = ((Map<String, Object>) inference.status().get("signals")).get(id);
        return s == null ? Map.of() : (Map<String, Object>) s;
    }

    @Test
    void scrapeRefusedByTheCheckTargetRulesSendsNothing() {
        start(16);
        engine = new FakeEngine("real");
        register("rebound", "engine.test", engine.port());
        long deadline = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < deadline && signals("rebound").get("error") == null) {
            sleep(20);
        }
        String error = String.valueOf(signals("rebound").get("error"));
        assertTrue(error.startsWith("refused by check-target: 169.254.169.254 (resolved from engine.test) is"), error);
        assertTrue(
                ((Number) inference.status().get("scrapes-refused")).longValue() >= 1,
                inference.status().toString());
        assertEquals(0, engine.scrapes.get(), "nothing reached any engine");
        assertTrue(!signals("rebound").containsKey("running"), "no signals from a refused scrape");
    }

    @Test
    void scrapesTakeTheHealthCheckersPermits() throws Exception {
        start(1);
        engine = new FakeEngine("real");
        register("ok", "127.0.0.1", engine.port());
        long deadline = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < deadline && engine.scrapes.get() == 0) {
            sleep(20);
        }
        assertTrue(engine.scrapes.get() > 0, "scrapes run with a permit free");
        // The only permit held elsewhere (a probe, say): no scrape starts until it is given back.
        java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread holder = Thread.ofVirtual().start(() -> {
            try {
                checker.withPermit(() -> {
                    holding.countDown();
                    release.await();
                    return null;
                });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        holding.await();
        sleep(100); // a scrape that had its permit before finishes
        int before = engine.scrapes.get();
        sleep(300); // fifteen scrape intervals
        assertEquals(before, engine.scrapes.get(), "a scrape ran without a permit");
        release.countDown();
        holder.join();
        deadline = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < deadline && engine.scrapes.get() == before) {
            sleep(20);
        }
        assertTrue(engine.scrapes.get() > before, "scrapes resume once the permit is back");
    }

    @Test
    void instanceWithoutEngineOrModelIsNotScraped() {
        start(16);
        engine = new FakeEngine("plc-adapter");
        registry.await(registry.register(
                new InstanceSpec("plc", "plc-1", "127.0.0.1", engine.port(), List.of(), Map.of(), List.of(), 1, 1)));
        FakeEngine llm = new FakeEngine("llm");
        try {
            register("llm-1", "127.0.0.1", llm.port());
            long deadline = System.currentTimeMillis() + 20_000;
            while (System.currentTimeMillis() < deadline && llm.scrapes.get() < 3) {
                sleep(20);
            }
            assertTrue(llm.scrapes.get() >= 3, "the inference instance is scraped");
            assertEquals(0, engine.scrapes.get(), "a service that runs no engine is left alone");
        } finally {
            llm.close();
        }
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }
}
