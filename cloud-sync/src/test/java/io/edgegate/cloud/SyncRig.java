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
 * packaged jar) on the broker directly. Compares the cloud's view of the node with the node's own
 * registry over both REST APIs. Not thread-safe: one test drives it.
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
    private JarProcess gateway;
    private final List<JarProcess> clouds = new ArrayList<>();

    /** The management token of the rig's processes: one token file serves the gateway and every replica. */
    static final String TOKEN = java.util.UUID.randomUUID().toString();

    private final Path aclFile;

    SyncRig(Map<String, String> extraGatewayEnv) throws Exception {
        this.dataDir = Files.createTempDirectory("edgegate-it");
        this.aclFile = Files.createTempFile("edgegate-it-acl", ".yaml");
        Files.writeString(aclFile, "tokens: [{secret: " + TOKEN + ", policies: [global-management]}]\n");
        this.broker = MosquittoBroker.start();
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
        gatewayEnv.putAll(extraGatewayEnv);
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
        JarProcess p = JarProcess.start(
                "cloud-sync-" + replica,
                cloudJar,
                Map.of(
                        "CLOUDSYNC_PORT",
                        "0",
                        "CLOUDSYNC_CONSUL_PORT",
                        "0",
                        "CLOUDSYNC_HOST",
                        "127.0.0.1",
                        "CLOUDSYNC_MQTT_URL",
                        broker.url(),
                        "CLOUDSYNC_MQTT_CLIENT_ID",
                        "cloud-sync-it-" + replica + "-" + System.nanoTime(),
                        "CLOUDSYNC_ACL_TOKENS_FILE",
                        aclFile.toString()),
                JarProcess.CLOUD_STARTED);
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
        relay.close();
        broker.close();
        Files.deleteIfExists(aclFile);
        try (var files = Files.walk(dataDir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }
}
