package io.edgegate.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.TcpRelay;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The whole sync as processes on loopback: Debian's mosquitto, one edge gateway (the packaged jar)
 * reaching it through a {@link TcpRelay} the test cuts and restores, and cloud-sync replicas (the
 * packaged jar), each through a relay of its own. Compares the cloud's view of the node with the
 * node's own registry over both REST APIs. Every process reconnects with a short backoff (50 ms
 * doubling to 500 ms), so a test waits little for reconnects; convergence is timed from the moment
 * both ends are connected again. Not thread-safe: one test drives it (the HTTP helpers are).
 */
final class SyncRig implements AutoCloseable {
    static final String SITE = "plant-a";
    static final String NODE = "node-1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    private final Path gatewayJar = JarProcess.jar("edgegate.jar");
    private final Path cloudJar = JarProcess.jar("cloudsync.jar");
    private final Path dataDir;
    private final Map<String, String> gatewayEnv;
    private final MosquittoBroker broker;
    private final TcpRelay relay;
    private volatile JarProcess gateway;
    private final List<JarProcess> clouds = new ArrayList<>();
    private final List<TcpRelay> cloudRelays = new ArrayList<>();
    private final Map<String, String> cloudEnv = new HashMap<>();

    /** The management token of the rig's processes: one token file serves the gateway and every replica. */
    static final String TOKEN = java.util.UUID.randomUUID().toString();

    private final Path aclFile;

    SyncRig(Map<String, String> extraGatewayEnv) throws Exception {
        this(extraGatewayEnv, false);
    }

    /** A rig whose broker keeps a store on disk ({@link MosquittoBroker#startPersistent()}) or not. */
    SyncRig(Map<String, String> extraGatewayEnv, boolean persistentBroker) throws Exception {
        this.dataDir = Files.createTempDirectory("edgegate-it");
        this.aclFile = Files.createTempFile("edgegate-it-acl", ".yaml");
        Files.writeString(aclFile, "tokens: [{secret: " + TOKEN + ", policies: [global-management]}]\n");
        this.broker = persistentBroker ? MosquittoBroker.startPersistent() : MosquittoBroker.start();
        this.relay = new TcpRelay(broker.port());
        this.gatewayEnv = new HashMap<>(Map.of(
                "EDGEGATE_PORT",
                "0",
                "EDGEGATE_CONSUL_PORT",
                "0",
                "EDGEGATE_HOST",
                "127.0.0.1",
                "EDGEGATE_DATA_DIR",
                dataDir.toString(),
                "EDGEGATE_SITE",
                SITE,
                "EDGEGATE_NODE",
                NODE,
                "EDGEGATE_MQTT_URL",
                relay.url(),
                "EDGEGATE_SYNC_DIGEST_INTERVAL",
                "2s",
                "EDGEGATE_ACL_TOKENS_FILE",
                aclFile.toString()));
        gatewayEnv.put("EDGEGATE_MQTT_RECONNECT_BACKOFF_INITIAL", "50ms");
        gatewayEnv.put("EDGEGATE_MQTT_RECONNECT_BACKOFF_MAX", "500ms");
        gatewayEnv.putAll(extraGatewayEnv);
        cloudEnv.put("CLOUDSYNC_MQTT_RECONNECT_BACKOFF_INITIAL", "50ms");
        cloudEnv.put("CLOUDSYNC_MQTT_RECONNECT_BACKOFF_MAX", "500ms");
    }

    /** Environment every replica started from now on gets, over the rig's own. */
    SyncRig withCloudEnv(Map<String, String> env) {
        cloudEnv.putAll(env);
        return this;
    }

    /** The relay between replica {@code replica} and the broker. */
    TcpRelay cloudRelay(int replica) {
        return cloudRelays.get(replica);
    }

    /** How many replicas were started. */
    int clouds() {
        return clouds.size();
    }

    MosquittoBroker broker() {
        return broker;
    }

    TcpRelay relay() {
        return relay;
    }

    JarProcess gateway() {
        return gateway;
    }

    JarProcess cloud(int replica) {
        return clouds.get(replica);
    }

    JarProcess startGateway() throws IOException {
        gateway = JarProcess.start("gateway", gatewayJar, gatewayEnv, JarProcess.GATEWAY_STARTED);
        return gateway;
    }

    /** Starts a cloud-sync replica on the broker; its index in {@link #cloud(int)} is returned. */
    int startCloud() throws IOException {
        return startCloud(clouds.size());
    }

    /** Starts (or restarts) replica {@code replica}. */
    int startCloud(int replica) throws IOException {
        if (replica == cloudRelays.size()) {
            cloudRelays.add(new TcpRelay(broker.port()));
        }
        Map<String, String> env = new HashMap<>(Map.of(
                "CLOUDSYNC_PORT",
                "0",
                "CLOUDSYNC_CONSUL_PORT",
                "0",
                "CLOUDSYNC_HOST",
                "127.0.0.1",
                "CLOUDSYNC_MQTT_URL",
                cloudRelays.get(replica).url(),
                "CLOUDSYNC_MQTT_CLIENT_ID",
                "cloud-sync-it-" + replica + "-" + System.nanoTime(),
                "CLOUDSYNC_ACL_TOKENS_FILE",
                aclFile.toString()));
        env.putAll(cloudEnv);
        JarProcess p = JarProcess.start("cloud-sync-" + replica, cloudJar, env, JarProcess.CLOUD_STARTED);
        if (replica < clouds.size()) {
            clouds.set(replica, p);
        } else {
            clouds.add(p);
        }
        return replica;
    }

    // ---------------------------------------------------------------- the edge's API

    HttpResponse<String> edge(String method, String path, String body) {
        return send(method, URI.create("http://127.0.0.1:" + gateway.port() + path), body);
    }

    JsonNode edgeJson(String path) {
        HttpResponse<String> r = edge("GET", path, null);
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + ": " + r.statusCode() + " " + r.body());
        }
        return read(r.body());
    }

    /** Registers (or re-registers) one instance; {@code check} is a JSON object or null. */
    void register(String service, String id, String rev, String check) {
        String body = "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"10.0.0.1\",\"port\":8080,"
                + "\"meta\":{\"rev\":\"" + rev + "\"}" + (check == null ? "" : ",\"check\":" + check) + "}";
        expect200(edge("POST", "/v1/instances", body), "register " + id);
    }

    /** Registers {@code count} instances {@code prefix-0..} of {@code service} in one batch. */
    void registerBatch(String service, String prefix, int from, int count, String rev) {
        StringBuilder b = new StringBuilder("{\"instances\":[");
        for (int i = from; i < from + count; i++) {
            if (i > from) {
                b.append(',');
            }
            b.append("{\"service\":\"")
                    .append(service)
                    .append("\",\"id\":\"")
                    .append(prefix)
                    .append('-')
                    .append(i)
                    .append("\",\"address\":\"10.0.")
                    .append(i >> 8 & 255)
                    .append('.')
                    .append(i & 255)
                    .append("\",\"port\":8080,\"meta\":{\"rev\":\"")
                    .append(rev)
                    .append("\"}}");
        }
        b.append("]}");
        expect200(edge("POST", "/v1/instances/batch", b.toString()), "batch " + prefix);
    }

    void deregister(String id) {
        expect200(edge("DELETE", "/v1/instances/" + id, null), "deregister " + id);
    }

    void heartbeat(String id) {
        expect200(edge("PUT", "/v1/instances/" + id + "/heartbeat", null), "heartbeat " + id);
    }

    /** Reports a TTL check's result through the gateway's Consul API ({@code pass} or {@code fail}). */
    void ttl(String id, String result) {
        expect200(
                send(
                        "PUT",
                        URI.create("http://127.0.0.1:" + gateway.consulPort() + "/v1/agent/check/" + result
                                + "/service:" + id),
                        null),
                "ttl " + result + " " + id);
    }

    /** Whether the gateway runs and its link to the broker is up. */
    boolean edgeConnected() {
        try {
            return gateway != null
                    && gateway.alive()
                    && syncStatus().path("connected").asBoolean();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Whether replica {@code replica} runs and its link to the broker is up. */
    boolean cloudConnected(int replica) {
        try {
            return clouds.get(replica).alive()
                    && cloudJson(replica, "/v1/stats").path("mqttConnected").asBoolean();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * When the last of the gateway and the replicas made its current connection to the broker, by
     * their own clocks (epoch milliseconds; the processes share this machine's clock).
     */
    long connectedAtMillis() {
        long at = syncStatus().path("connected-since").asLong();
        for (int i = 0; i < clouds.size(); i++) {
            at = Math.max(
                    at, cloudJson(i, "/v1/stats").path("mqttConnectedSince").asLong());
        }
        return at;
    }

    /** When the last replica's fleet index last moved, by its own clock (epoch milliseconds). */
    long indexChangedAtMillis() {
        long at = 0;
        for (int i = 0; i < clouds.size(); i++) {
            at = Math.max(at, cloudJson(i, "/v1/stats").path("indexChangedAt").asLong());
        }
        return at;
    }

    /** Whether the gateway and every replica are connected to the broker. */
    boolean allConnected() {
        if (!edgeConnected()) {
            return false;
        }
        for (int i = 0; i < clouds.size(); i++) {
            if (!cloudConnected(i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Replica {@code replica}'s Consul catalog of services ({@code /v1/catalog/services}), a
     * blocking query when {@code index} is positive; the answer carries {@code X-Consul-Index}.
     */
    HttpResponse<String> consulServices(int replica, long index, String wait) {
        String query = index > 0 ? "?index=" + index + "&wait=" + wait : "";
        return send(
                "GET",
                URI.create("http://127.0.0.1:" + clouds.get(replica).consulPort() + "/v1/catalog/services" + query),
                null);
    }

    /** The {@code X-Consul-Index} of an answer of a replica's Consul API. */
    static long consulIndex(HttpResponse<String> response) {
        return Long.parseLong(response.headers().firstValue("X-Consul-Index").orElseThrow());
    }

    /** The gateway's sync counters ({@code /v1/status}, section {@code sync}). */
    JsonNode syncStatus() {
        return edgeJson("/v1/status").path("sync");
    }

    /** Every instance the node's registry holds, by id: the edge truth. */
    Map<String, JsonNode> edgeTruth() {
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode s : edgeJson("/v1/services").path("services")) {
            String service = s.path("service").asText();
            for (JsonNode i : edgeJson("/v1/services/" + service).path("instances")) {
                out.put(
                        i.path("id").asText(),
                        comparable(service, i, i.path("modifyIndex").asLong()));
            }
        }
        return out;
    }

    /** Every instance of the node that replica {@code replica} holds, by id. */
    Map<String, JsonNode> cloudView(int replica) {
        String base = "http://127.0.0.1:" + clouds.get(replica).port();
        String filter = "site=" + SITE + "&node=" + NODE;
        Map<String, JsonNode> out = new TreeMap<>();
        TreeSet<String> services = new TreeSet<>();
        for (JsonNode s : getJson(base + "/v1/services?" + filter)) {
            services.add(s.path("service").asText());
        }
        for (String service : services) {
            for (JsonNode i : getJson(base + "/v1/services/" + service + "?" + filter)) {
                out.put(
                        i.path("id").asText(),
                        comparable(service, i, i.path("index").asLong()));
            }
        }
        return out;
    }

    JsonNode cloudJson(int replica, String path) {
        return getJson("http://127.0.0.1:" + clouds.get(replica).port() + path);
    }

    /** What both sides must agree on: service, address, port, tags, meta, health and version. */
    private static JsonNode comparable(String service, JsonNode i, long index) {
        ObjectNode o = JSON.createObjectNode();
        o.put("service", service);
        o.put("address", i.path("address").asText());
        o.put("port", i.path("port").asInt());
        o.set("tags", i.path("tags"));
        o.set("meta", i.path("meta"));
        o.put("health", i.path("health").asText());
        o.put("index", index);
        return o;
    }

    /**
     * Waits until replica {@code replica}'s view of the node equals the node's registry, read
     * twice in a row with nothing changed; returns the milliseconds it took, or fails with the
     * difference.
     */
    long awaitConverged(int replica, long timeoutMillis) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeoutMillis * 1_000_000L;
        Map<String, JsonNode> edge = Map.of();
        Map<String, JsonNode> cloud = Map.of();
        while (System.nanoTime() < deadline) {
            edge = edgeTruth();
            cloud = cloudView(replica);
            if (edge.equals(cloud) && edge.equals(edgeTruth())) {
                return (System.nanoTime() - start) / 1_000_000L;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("cloud-sync-" + replica + " did not converge to the edge in " + timeoutMillis
                + " ms: " + difference(edge, cloud) + "\nsync=" + syncStatus() + "\n" + gateway.tail() + "\n"
                + clouds.get(replica).tail());
    }

    /**
     * Waits until the gateway and every replica are connected to the broker; returns a moment
     * (System.nanoTime) no later than the one at which the last of them connected: the start of
     * the last look that found one not connected. Timing convergence from it never flatters.
     */
    long awaitAllConnected(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        long lastLook = System.nanoTime();
        while (true) {
            long look = System.nanoTime();
            if (allConnected()) {
                return lastLook;
            }
            lastLook = look;
            if (look > deadline) {
                throw new AssertionError("not all connected in " + timeoutMillis + " ms: gateway " + edgeConnected()
                        + ", replicas " + replicasConnected());
            }
            Thread.sleep(5);
        }
    }

    private List<Boolean> replicasConnected() {
        List<Boolean> out = new ArrayList<>();
        for (int i = 0; i < clouds.size(); i++) {
            out.add(cloudConnected(i));
        }
        return out;
    }

    /**
     * Waits until every replica's view of the node equals the node's registry (the registry read
     * before and after the replicas, unchanged); returns the milliseconds from {@code sinceNanos}
     * to the end of the look that found them equal, or fails after {@code timeoutMillis} with the
     * difference.
     */
    long awaitAllConverged(long sinceNanos, long timeoutMillis) throws InterruptedException {
        return awaitAllConverged(sinceNanos, timeoutMillis, new ArrayList<>()).seenMillis();
    }

    /**
     * When the test saw every replica equal to the registry (ms since the moment given), and when
     * the last look that still saw one differ began (epoch milliseconds; 0 when none did).
     */
    record Convergence(long seenMillis, long lastDifferentAtMillis) {}

    /**
     * The time from {@code sinceMillis} (both ends connected, {@link #connectedAtMillis()}, or
     * later: the last change made) to every replica equal to the edge, by the processes' own
     * clocks, so a test thread starved of CPU does not add its own delays: the last replica's
     * last move of its fleet index (moving it is the last visible change), and never less than
     * the start of the last look that still saw a replica differ. Call once the replicas agree on
     * the index.
     */
    long convergedMillis(long sinceMillis, Convergence seen) {
        return Math.max(0, Math.max(indexChangedAtMillis(), seen.lastDifferentAtMillis()) - sinceMillis);
    }

    /**
     * As {@link #awaitAllConverged(long, long)}, and writes into {@code trail} what each look saw
     * (ms since {@code sinceNanos}, how long the look took, and per replica {@code =} or how many
     * instances differed), to see where the time went. Meant for a registry that no longer
     * changes: it is read once, the replicas until they equal it (that instant is the one
     * returned), then the registry again to check it stood still (else the looks go on).
     */
    Convergence awaitAllConverged(long sinceNanos, long timeoutMillis, List<String> trail) throws InterruptedException {
        long deadline = sinceNanos + timeoutMillis * 1_000_000L;
        long lastDifferent = 0;
        String lastSeen = "";
        Map<String, JsonNode> edge = edgeTruth();
        List<Map<String, JsonNode>> views = new ArrayList<>();
        while (true) {
            long look = System.nanoTime();
            long lookAt = System.currentTimeMillis();
            views.clear();
            for (int i = 0; i < clouds.size(); i++) {
                views.add(cloudView(i));
            }
            long end = System.nanoTime();
            boolean equal = true;
            StringBuilder seen = new StringBuilder();
            for (Map<String, JsonNode> v : views) {
                equal &= edge.equals(v);
                seen.append(' ').append(edge.equals(v) ? "=" : "d" + differences(edge, v));
            }
            trail.add((look - sinceNanos) / 1_000_000L + "+" + (end - look) / 1_000_000L + "ms" + seen);
            if (equal) {
                Map<String, JsonNode> again = edgeTruth();
                if (again.equals(edge)) {
                    return new Convergence((end - sinceNanos) / 1_000_000L, lastDifferent);
                }
                edge = again;
                trail.add("registry changed");
                continue;
            }
            // what a look saw when it differs from the previous one, to tell what took the time
            String now = seen.toString();
            if (!now.equals(lastSeen)) {
                for (int i = 0; i < views.size(); i++) {
                    if (!edge.equals(views.get(i))) {
                        trail.add("cloud-sync-" + i + " " + difference(edge, views.get(i)));
                    }
                }
                lastSeen = now;
            }
            lastDifferent = lookAt;
            if (end > deadline) {
                StringBuilder why = new StringBuilder("not converged in " + timeoutMillis + " ms:");
                for (int i = 0; i < views.size(); i++) {
                    why.append("\n  cloud-sync-").append(i).append(": ").append(difference(edge, views.get(i)));
                    why.append("\n    stats=").append(cloudJson(i, "/v1/stats"));
                }
                why.append("\n  gateway sync=").append(syncStatus());
                why.append("\n  looks: ").append(trail.subList(Math.max(0, trail.size() - 20), trail.size()));
                throw new AssertionError(why.toString());
            }
            Thread.sleep(5);
            edge = edgeTruth();
        }
    }

    private static int differences(Map<String, JsonNode> edge, Map<String, JsonNode> cloud) {
        int n = 0;
        for (Map.Entry<String, JsonNode> e : edge.entrySet()) {
            if (!e.getValue().equals(cloud.get(e.getKey()))) {
                n++;
            }
        }
        for (String id : cloud.keySet()) {
            if (!edge.containsKey(id)) {
                n++;
            }
        }
        return n;
    }

    static String difference(Map<String, JsonNode> edge, Map<String, JsonNode> cloud) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : edge.entrySet()) {
            JsonNode c = cloud.get(e.getKey());
            if (c == null) {
                out.add("missing in cloud: " + e.getKey());
            } else if (!c.equals(e.getValue())) {
                out.add("differs: " + e.getKey() + " edge=" + e.getValue() + " cloud=" + c);
            }
        }
        for (String id : cloud.keySet()) {
            if (!edge.containsKey(id)) {
                out.add("only in cloud: " + id + "=" + cloud.get(id));
            }
        }
        return "edge=" + edge.size() + ", cloud=" + cloud.size() + ", " + out.subList(0, Math.min(out.size(), 8))
                + (out.size() > 8 ? " (+" + (out.size() - 8) + ")" : "");
    }

    private static JsonNode getJson(String uri) {
        HttpResponse<String> r = send("GET", URI.create(uri), null);
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + uri + ": " + r.statusCode() + " " + r.body());
        }
        return read(r.body());
    }

    private static JsonNode read(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalStateException("not JSON: " + body, e);
        }
    }

    private static void expect200(HttpResponse<String> r, String what) {
        if (r.statusCode() != 200) {
            throw new IllegalStateException(what + ": " + r.statusCode() + " " + r.body());
        }
    }

    /** Sends with the rig's management token. */
    static HttpResponse<String> send(String method, URI uri, String body) {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).header("X-Consul-Token", TOKEN);
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        request.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + uri + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(method + " " + uri + " interrupted", e);
        }
    }

    @Override
    public void close() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        for (JarProcess c : clouds) {
            c.close();
        }
        for (TcpRelay r : cloudRelays) {
            r.close();
        }
        relay.close();
        broker.close();
        Files.deleteIfExists(aclFile);
        try (var files = Files.walk(dataDir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }
}
