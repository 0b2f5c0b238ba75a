package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The broker killed with SIGKILL under a gateway and a replica, with changes made while it was
 * down, then started again from its store: mosquitto with persistence, one gateway, one cloud-sync
 * replica; 50 instances registered and seen in the cloud's Consul catalog; the broker killed; 50
 * more registered and 10 of the first deregistered; the broker started again. When the replica
 * comes back after the gateway has published the removals, the broker has nothing left to tell it
 * of them (a removal is an empty retained message, which leaves nothing behind): only the node's
 * retained digest and the manifests of a resync can. Each order of the two reconnects is a test.
 */
@Tag("process")
class BrokerCrashIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The bound on convergence, from both ends connected again. */
    private static final long CONVERGE_MILLIS = 2_000;
    /** Generous bounds for what only waits on processes and the machine's load. */
    private static final long PROCESS_MILLIS = 60_000;

    private SyncRig rig;

    @AfterEach
    void stop() throws Exception {
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    void instancesDeregisteredWhileTheBrokerWasDownLeaveNoGhostsWhenTheReplicaReconnectsLast() throws Exception {
        crashRegisterDeregisterRestart(true);
    }

    @Test
    void instancesDeregisteredWhileTheBrokerWasDownLeaveNoGhostsWhenTheGatewayReconnectsLast() throws Exception {
        crashRegisterDeregisterRestart(false);
    }

    private void crashRegisterDeregisterRestart(boolean replicaLast) throws Exception {
        rig = new SyncRig(Map.of(), true);
        rig.startCloud();
        rig.startGateway();
        rig.registerBatch("web", "web", 0, 50, "a");
        rig.awaitConverged(0, PROCESS_MILLIS);
        assertEquals(50, consulIds().size(), "seen in the cloud's Consul catalog");
        Thread.sleep(1_500); // the broker's store is saved every second: it holds the 50

        rig.broker().kill();
        await(() -> !rig.edgeConnected() && !rig.cloudConnected(0), "both ends saw the broker go");
        rig.registerBatch("web", "web", 50, 50, "a");
        for (int i = 0; i < 10; i++) {
            rig.deregister("web-" + i);
        }
        // The unlucky order of the race the two reconnects run: hold one end's link until the
        // other has reconnected (and, for the gateway, published everything it queued).
        if (replicaLast) {
            rig.cloudRelay(0).cut();
        } else {
            rig.relay().cut();
        }
        rig.broker().restart(true);
        if (replicaLast) {
            await(
                    () -> rig.edgeConnected()
                            && rig.syncStatus().path("pending").asInt() == 0,
                    "the gateway reconnected and published the removals");
            rig.cloudRelay(0).restore();
        } else {
            await(() -> rig.cloudConnected(0), "the replica reconnected");
            rig.relay().restore();
        }
        long connected = rig.awaitAllConnected(PROCESS_MILLIS);
        long connectedAt = rig.connectedAtMillis();
        SyncRig.Convergence seen = rig.awaitAllConverged(connected, PROCESS_MILLIS, new java.util.ArrayList<>());
        Thread.sleep(300); // a digest still on its way would move the index once more: count it
        long converged = rig.convergedMillis(connectedAt, seen);
        assertTrue(
                converged <= CONVERGE_MILLIS,
                "converged " + converged + " ms after both ends connected (the test saw it at " + seen.seenMillis()
                        + " ms)");
        TreeSet<String> ids = consulIds();
        assertEquals(90, ids.size(), "the Consul catalog: " + ids);
        assertFalse(ids.contains("web-0") || ids.contains("web-9"), "no ghost: " + ids);
        assertTrue(ids.contains("web-99"));
        System.out.println("converged " + converged + " ms after both ends were connected");
    }

    /** The ids of service {@code web} in the replica's Consul catalog. */
    private TreeSet<String> consulIds() throws Exception {
        HttpResponse<String> r = SyncRig.send(
                "GET", URI.create("http://127.0.0.1:" + rig.cloud(0).consulPort() + "/v1/catalog/service/web"), null);
        assertEquals(200, r.statusCode(), r.body());
        TreeSet<String> ids = new TreeSet<>();
        for (JsonNode entry : JSON.readTree(r.body())) {
            ids.add(entry.path("ServiceID").asText());
        }
        return ids;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROCESS_MILLIS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(10);
        }
    }
}
