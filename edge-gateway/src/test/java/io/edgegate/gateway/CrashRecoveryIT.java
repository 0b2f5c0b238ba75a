package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a real gateway process with SIGKILL in the middle of a stream of registrations, restarts
 * it on the same data directory, and checks that every acknowledged registration is back and that
 * the index keeps increasing. Three kill cycles, each after a different amount of traffic.
 */
@Tag("process")
class CrashRecoveryIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 16;

    @TempDir
    Path dataDir;

    @Test
    void everyAcknowledgedRegistrationSurvivesSigkill() throws Exception {
        Map<String, Long> acknowledged = new ConcurrentHashMap<>();
        long lastIndexBefore = 0;
        int[] acksBeforeKill = {200, 1_500, 50};
        for (int cycle = 0; cycle < acksBeforeKill.length; cycle++) {
            GatewayProcess gateway = GatewayProcess.start(dataDir, Map.of());
            try {
                assertAllPresent(gateway, acknowledged);
                long firstIndex = register(gateway, "probe", "probe-" + cycle);
                assertTrue(
                        firstIndex > lastIndexBefore,
                        "index went backwards after restart: before=" + lastIndexBefore + ", now=" + firstIndex);
                acknowledged.put("probe-" + cycle, firstIndex);
                lastIndexBefore = stream(gateway, cycle, acksBeforeKill[cycle], acknowledged);
            } finally {
                gateway.kill();
            }
        }
        GatewayProcess gateway = GatewayProcess.start(dataDir, Map.of());
        try {
            assertAllPresent(gateway, acknowledged);
            long index = register(gateway, "probe", "probe-final");
            assertTrue(index > lastIndexBefore, "index went backwards: before=" + lastIndexBefore + ", now=" + index);
        } finally {
            gateway.close();
        }
    }

    /** Registers from many clients until {@code killAfter} acks, then returns while they still run. */
    private static long stream(GatewayProcess gateway, int cycle, int killAfter, Map<String, Long> acknowledged)
            throws InterruptedException {
        AtomicInteger acks = new AtomicInteger();
        AtomicLong maxIndex = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch enough = new CountDownLatch(1);
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
        AtomicInteger sequence = new AtomicInteger();
        for (int c = 0; c < CLIENTS; c++) {
            clients.submit(() -> {
                while (!stop.get()) {
                    String id = "c" + cycle + "-" + sequence.incrementAndGet();
                    try {
                        long index = register(gateway, "svc-" + (id.hashCode() & 7), id);
                        acknowledged.put(id, index);
                        maxIndex.accumulateAndGet(index, Math::max);
                        if (acks.incrementAndGet() >= killAfter) {
                            enough.countDown();
                        }
                    } catch (RuntimeException e) {
                        return; // the process died under us: unacknowledged, may or may not be there
                    }
                }
            });
        }
        assertTrue(enough.await(60, TimeUnit.SECONDS), "too few acknowledgements: " + acks.get());
        // Kill while requests are in flight: the clients are still sending.
        gateway.kill();
        stop.set(true);
        clients.shutdown();
        assertTrue(clients.awaitTermination(30, TimeUnit.SECONDS));
        return maxIndex.get();
    }

    private static long register(GatewayProcess gateway, String service, String id) {
        String body = "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"10.0.0.1\",\"port\":8080}";
        HttpResponse<String> response = TestGateway.send("POST", uri(gateway, "/v1/instances"), body);
        if (response.statusCode() != 200) {
            throw new IllegalStateException("register " + id + ": " + response.statusCode() + " " + response.body());
        }
        try {
            return JSON.readTree(response.body()).get("index").asLong();
        } catch (Exception e) {
            throw new IllegalStateException(response.body(), e);
        }
    }

    private static void assertAllPresent(GatewayProcess gateway, Map<String, Long> acknowledged) throws Exception {
        Set<String> present = new HashSet<>();
        for (String service : Set.of("probe", "svc-0", "svc-1", "svc-2", "svc-3", "svc-4", "svc-5", "svc-6", "svc-7")) {
            HttpResponse<String> response = TestGateway.send("GET", uri(gateway, "/v1/services/" + service), null);
            assertEquals(200, response.statusCode(), response.body());
            for (JsonNode instance : JSON.readTree(response.body()).get("instances")) {
                present.add(instance.get("id").asText());
            }
        }
        Set<String> missing = new HashSet<>(acknowledged.keySet());
        missing.removeAll(present);
        assertTrue(
                missing.isEmpty(),
                missing.size() + " acknowledged registrations lost, e.g. "
                        + missing.stream().limit(5).toList());
    }

    private static URI uri(GatewayProcess gateway, String path) {
        return URI.create("http://127.0.0.1:" + gateway.port() + path);
    }
}
