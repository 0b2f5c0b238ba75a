package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.registry.Registry;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.StringJoiner;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of bad input the native API must refuse: the status, the field the error names, and
 * that the registry did not change (same index, same instance count). One gateway for the whole
 * table, with a small body limit so the oversize case stays cheap.
 */
class NativeApiBadInputTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int MAX_BODY_BYTES = 64 * 1024;

    @TempDir
    static Path dataDir;

    private static TestGateway gateway;

    /** One bad request and what the API must answer. */
    record Case(String name, String method, String path, String body, int status, String field) {
        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    static void start() {
        gateway = TestGateway.start(dataDir, Map.of("EDGEGATE_LIMITS_MAX_BODY_BYTES", String.valueOf(MAX_BODY_BYTES)));
        // An instance of another service (id conflicts) without a TTL check (heartbeat refusal).
        HttpResponse<String> res = TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"plc\",\"id\":\"plc-1\",\"address\":\"10.0.0.9\",\"port\":502}");
        assertEquals(200, res.statusCode(), res.body());
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    static Stream<Case> badInputs() {
        return Stream.of(
                // ---- body shape
                post("malformed JSON", "{\"service\":", 400, "body"),
                post("trailing garbage", reg("") + " {}", 400, "body"),
                post("not an object", "[1,2,3]", 400, "body"),
                post("empty body", "", 400, "body"),
                post("oversize body", reg(",\"meta\":{\"pad\":\"" + "x".repeat(MAX_BODY_BYTES) + "\"}"), 413, "body"),
                post(
                        "unknown top-level field",
                        "{\"sevice\":\"llm\",\"address\":\"10.0.0.1\",\"port\":8080}",
                        400,
                        "sevice"),
                // ---- wrong types
                post("port as string", "{\"service\":\"llm\",\"address\":\"10.0.0.1\",\"port\":\"8080\"}", 400, "port"),
                post("port as fraction", "{\"service\":\"llm\",\"address\":\"10.0.0.1\",\"port\":80.5}", 400, "port"),
                post("tags as object", reg(",\"tags\":{\"a\":\"b\"}"), 400, "tags"),
                post("tag not a string", reg(",\"tags\":[\"ok\",7]"), 400, "tags[1]"),
                post("meta value number", reg(",\"meta\":{\"weight\":100}"), 400, "meta.weight"),
                post("check not an object", reg(",\"check\":\"http://x\""), 400, "check"),
                post("checks not an array", reg(",\"checks\":{\"ttl\":\"10s\"}"), 400, "checks"),
                post(
                        "tls-skip-verify as string",
                        reg(",\"check\":{\"ttl\":\"10s\",\"tls-skip-verify\":\"yes\"}"),
                        400,
                        "check.tls-skip-verify"),
                // ---- service, id, address, port
                post("missing service", "{\"address\":\"10.0.0.1\",\"port\":8080}", 400, "service"),
                post("empty service", "{\"service\":\"\",\"address\":\"10.0.0.1\",\"port\":8080}", 400, "service"),
                post(
                        "service with space",
                        "{\"service\":\"llm infer\",\"address\":\"10.0.0.1\",\"port\":8080}",
                        400,
                        "service"),
                post(
                        "service with slash",
                        "{\"service\":\"llm/infer\",\"address\":\"10.0.0.1\",\"port\":8080}",
                        400,
                        "service"),
                post(
                        "service with unicode",
                        "{\"service\":\"llm-\u00e9\",\"address\":\"10.0.0.1\",\"port\":8080}",
                        400,
                        "service"),
                post(
                        "service too long",
                        "{\"service\":\"" + "s".repeat(129) + "\",\"address\":\"10.0.0.1\",\"port\":8080}",
                        400,
                        "service"),
                post("id with space", reg(",\"id\":\"llm 1\""), 400, "id"),
                post("id with slash", reg(",\"id\":\"llm/1\""), 400, "id"),
                post("id too long", reg(",\"id\":\"" + "i".repeat(257) + "\""), 400, "id"),
                post("missing address", "{\"service\":\"llm\",\"port\":8080}", 400, "address"),
                post(
                        "address with illegal characters",
                        "{\"service\":\"llm\",\"address\":\"10.0.0.1/24\",\"port\":8080}",
                        400,
                        "address"),
                post("missing port", "{\"service\":\"llm\",\"address\":\"10.0.0.1\"}", 400, "port"),
                post("port 0", "{\"service\":\"llm\",\"address\":\"10.0.0.1\",\"port\":0}", 400, "port"),
                post("port -1", "{\"service\":\"llm\",\"address\":\"10.0.0.1\",\"port\":-1}", 400, "port"),
                post("port 65536", "{\"service\":\"llm\",\"address\":\"10.0.0.1\",\"port\":65536}", 400, "port"),
                // ---- tags, meta, weights
                post("too many tags", reg(",\"tags\":" + array(65, i -> "\"t" + i + "\"")), 400, "tags"),
                post("tag too long", reg(",\"tags\":[\"" + "t".repeat(257) + "\"]"), 400, "tags[0]"),
                post("empty tag", reg(",\"tags\":[\"ok\",\"\"]"), 400, "tags[1]"),
                post("too many meta", reg(",\"meta\":" + object(65, i -> "\"k" + i + "\":\"v\"")), 400, "meta"),
                post("bad meta key", reg(",\"meta\":{\"mo del\":\"x\"}"), 400, "meta.mo del"),
                post(
                        "meta value too long",
                        reg(",\"meta\":{\"model\":\"" + "m".repeat(513) + "\"}"),
                        400,
                        "meta.model"),
                post("negative weight", reg(",\"weights\":{\"passing\":-1}"), 400, "weights.passing"),
                post("unknown weights field", reg(",\"weights\":{\"critical\":1}"), 400, "weights.critical"),
                // ---- checks
                post(
                        "grpc without port",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1\",\"interval\":\"10s\"}"),
                        400,
                        "check.grpc"),
                post(
                        "grpc port out of range",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1:65536\",\"interval\":\"10s\"}"),
                        400,
                        "check.grpc"),
                post(
                        "grpc service with space",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1:9000/my svc\",\"interval\":\"10s\"}"),
                        400,
                        "check.grpc"),
                post(
                        "grpc with empty service",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1:9000/\",\"interval\":\"10s\"}"),
                        400,
                        "check.grpc"),
                post(
                        "missing interval for grpc",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1:9000\"}"),
                        400,
                        "check.interval"),
                post(
                        "grpc-use-tls as string",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1:9000\",\"interval\":\"10s\",\"grpc-use-tls\":\"yes\"}"),
                        400,
                        "check.grpc-use-tls"),
                post(
                        "exec while disabled",
                        reg(",\"check\":{\"args\":[\"/bin/true\"],\"interval\":\"10s\"}"),
                        400,
                        "check.args"),
                post("empty args", reg(",\"check\":{\"args\":[],\"interval\":\"10s\"}"), 400, "check.args"),
                post(
                        "args not an array",
                        reg(",\"check\":{\"args\":\"/bin/true -v\",\"interval\":\"10s\"}"),
                        400,
                        "check.args"),
                post(
                        "arg not a string",
                        reg(",\"check\":{\"args\":[\"/bin/sleep\",1],\"interval\":\"10s\"}"),
                        400,
                        "check.args[1]"),
                post("empty program", reg(",\"check\":{\"args\":[\"\"],\"interval\":\"10s\"}"), 400, "check.args[0]"),
                post(
                        "grpc and args in one check",
                        reg(",\"check\":{\"grpc\":\"10.0.0.1:9000\",\"args\":[\"/bin/true\"],\"interval\":\"10s\"}"),
                        400,
                        "check"),
                post(
                        "notes too long",
                        reg(",\"check\":{\"ttl\":\"10s\",\"notes\":\"" + "n".repeat(1025) + "\"}"),
                        400,
                        "check.notes"),
                post(
                        "script check",
                        reg(",\"check\":{\"script\":\"/bin/true\",\"interval\":\"10s\"}"),
                        400,
                        "check.script"),
                post(
                        "docker check",
                        reg(",\"check\":{\"docker-container-id\":\"abc\",\"interval\":\"10s\"}"),
                        400,
                        "check.docker-container-id"),
                post("udp check", reg(",\"check\":{\"udp\":\"10.0.0.1:53\",\"interval\":\"10s\"}"), 400, "check.udp"),
                post(
                        "two kinds in one check",
                        reg(",\"check\":{\"http\":\"http://10.0.0.1/h\",\"tcp\":\"10.0.0.1:80\",\"interval\":\"10s\"}"),
                        400,
                        "check"),
                post("check without kind", reg(",\"check\":{\"interval\":\"10s\"}"), 400, "check"),
                post(
                        "unknown check field",
                        reg(",\"check\":{\"ttl\":\"10s\",\"intervall\":\"10s\"}"),
                        400,
                        "check.intervall"),
                post(
                        "bad duration 10x",
                        reg(",\"check\":{\"http\":\"http://10.0.0.1/h\",\"interval\":\"10x\"}"),
                        400,
                        "check.interval"),
                post(
                        "negative interval",
                        reg(",\"check\":{\"http\":\"http://10.0.0.1/h\",\"interval\":\"-5s\"}"),
                        400,
                        "check.interval"),
                post(
                        "interval too short",
                        reg(",\"check\":{\"tcp\":\"10.0.0.1:80\",\"interval\":\"1ms\"}"),
                        400,
                        "check.interval"),
                post(
                        "missing interval for http",
                        reg(",\"check\":{\"http\":\"http://10.0.0.1/h\"}"),
                        400,
                        "check.interval"),
                post(
                        "ftp scheme",
                        reg(",\"check\":{\"http\":\"ftp://10.0.0.1/h\",\"interval\":\"10s\"}"),
                        400,
                        "check.http"),
                post(
                        "tcp without port",
                        reg(",\"check\":{\"tcp\":\"10.0.0.1\",\"interval\":\"10s\"}"),
                        400,
                        "check.tcp"),
                post("zero ttl", reg(",\"check\":{\"ttl\":\"0s\"}"), 400, "check.ttl"),
                post("bad status ok", reg(",\"check\":{\"ttl\":\"10s\",\"status\":\"ok\"}"), 400, "check.status"),
                post(
                        "bad deregister-critical-after",
                        reg(",\"check\":{\"ttl\":\"10s\",\"deregister-critical-after\":\"soon\"}"),
                        400,
                        "check.deregister-critical-after"),
                post(
                        "header with CRLF",
                        reg(",\"check\":{\"http\":\"http://10.0.0.1/h\",\"interval\":\"10s\","
                                + "\"headers\":{\"X-A\":\"a\\r\\nX-Injected: 1\"}}"),
                        400,
                        "check.headers.X-A"),
                post(
                        "bad check in checks array",
                        reg(",\"checks\":[{\"ttl\":\"10s\"},{\"ttl\":\"10y\"}]"),
                        400,
                        "checks[1].ttl"),
                post(
                        "too many checks",
                        reg(",\"checks\":" + array(9, i -> "{\"id\":\"c" + i + "\",\"ttl\":\"10s\"}")),
                        400,
                        "checks"),
                post(
                        "duplicate check id",
                        reg(",\"checks\":[{\"id\":\"c\",\"ttl\":\"10s\"},{\"id\":\"c\",\"ttl\":\"20s\"}]"),
                        400,
                        "checks[1].id"),
                // ---- conflicts with what is registered
                post(
                        "id re-used for another service",
                        "{\"service\":\"vision\",\"id\":\"plc-1\",\"address\":\"10.0.0.1\"," + "\"port\":8080}",
                        409,
                        "id"),
                // ---- batch
                batch(
                        "batch with one bad entry",
                        "{\"instances\":[" + entry("b-1", 1) + "," + entry("b-2", 2) + "," + entry("b-3", 0) + "]}",
                        400,
                        "instances[2].port"),
                batch(
                        "batch entry with unknown field",
                        "{\"instances\":[" + entry("b-1", 1) + ",{\"service\":\"llm\","
                                + "\"address\":\"10.0.0.1\",\"port\":1,\"tgas\":[]}]}",
                        400,
                        "instances[1].tgas"),
                batch("batch too large", "{\"instances\":" + array(1001, i -> "{}") + "}", 413, "instances"),
                batch("empty batch", "{\"instances\":[]}", 400, "instances"),
                batch("batch without instances", "{\"instance\":[]}", 400, "instance"),
                batch("batch entry not an object", "{\"instances\":[\"llm\"]}", 400, "instances[0]"),
                batch(
                        "duplicate id in batch",
                        "{\"instances\":[" + entry("b-1", 1) + "," + entry("b-1", 2) + "]}",
                        400,
                        "instances[1].id"),
                batch(
                        "check id twice in batch",
                        "{\"instances\":["
                                + entry("b-1", 1, ",\"check\":{\"id\":\"shared\",\"ttl\":\"10s\"}") + ","
                                + entry("b-2", 2, ",\"check\":{\"id\":\"shared\",\"ttl\":\"10s\"}") + "]}",
                        400,
                        "instances[1].check.id"),
                batch(
                        "batch id re-used for another service",
                        "{\"instances\":[" + entry("b-1", 1) + ","
                                + "{\"service\":\"vision\",\"id\":\"plc-1\",\"address\":\"10.0.0.1\",\"port\":1}]}",
                        409,
                        "instances[1].id"),
                // ---- lifecycle on unknown or unsuitable instances
                new Case("heartbeat unknown id", "PUT", "/v1/instances/nope/heartbeat", null, 404, "id"),
                new Case("heartbeat without TTL check", "PUT", "/v1/instances/plc-1/heartbeat", null, 400, "id"),
                new Case("deregister unknown id", "DELETE", "/v1/instances/nope", null, 404, "id"),
                new Case("get unknown id", "GET", "/v1/instances/nope", null, 404, "id"),
                new Case(
                        "maintenance enable=maybe",
                        "PUT",
                        "/v1/instances/plc-1/maintenance?enable=maybe",
                        null,
                        400,
                        "enable"),
                new Case("maintenance without enable", "PUT", "/v1/instances/plc-1/maintenance", null, 400, "enable"),
                new Case(
                        "maintenance unknown parameter",
                        "PUT",
                        "/v1/instances/plc-1/maintenance?enabled=true",
                        null,
                        400,
                        "enabled"),
                new Case(
                        "maintenance unknown id", "PUT", "/v1/instances/nope/maintenance?enable=true", null, 404, "id"),
                // ---- reads
                new Case("blocking index=abc", "GET", "/v1/services/plc?index=abc", null, 400, "index"),
                new Case("blocking index=-1", "GET", "/v1/services/plc?index=-1", null, 400, "index"),
                new Case("wait=forever", "GET", "/v1/services/plc?index=1&wait=forever", null, 400, "wait"),
                new Case("service list index=abc", "GET", "/v1/services?index=abc", null, 400, "index"),
                new Case("health=sick", "GET", "/v1/services/plc?health=sick", null, 400, "health"),
                new Case("meta filter without colon", "GET", "/v1/services/plc?meta=model", null, 400, "meta"),
                new Case("routable=yes", "GET", "/v1/services/plc?routable=yes", null, 400, "routable"),
                new Case("misspelt filter tags=", "GET", "/v1/services/plc?tags=v1", null, 400, "tags"),
                new Case("illegal service name in path", "GET", "/v1/services/bad%20name", null, 400, "service"),
                // ---- methods
                new Case("DELETE on a service", "DELETE", "/v1/services/plc", null, 405, "method"),
                new Case("POST on an instance", "POST", "/v1/instances/plc-1", "{}", 405, "method"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void badInputIsRefusedAndChangesNothing(Case c) {
        Registry registry = gateway.gateway().registry();
        long indexBefore = registry.index();
        int countBefore = registry.instanceCount();

        HttpResponse<String> res = TestGateway.send(c.method(), gateway.api(c.path()), c.body());

        assertEquals(c.status(), res.statusCode(), () -> c.name() + ": " + res.body());
        JsonNode error = json(res);
        assertEquals(c.field(), error.path("field").asText(null), () -> c.name() + ": " + res.body());
        assertFalse(error.path("rule").asText("").isEmpty(), () -> c.name() + ": no rule in " + res.body());
        assertFalse(error.path("error").asText("").isEmpty(), () -> c.name() + ": no message in " + res.body());
        assertEquals(indexBefore, registry.index(), () -> c.name() + ": the registry index moved");
        assertEquals(countBefore, registry.instanceCount(), () -> c.name() + ": the instance count changed");
    }

    // ---------------------------------------------------------------- table helpers

    private static Case post(String name, String body, int status, String field) {
        return new Case(name, "POST", "/v1/instances", body, status, field);
    }

    private static Case batch(String name, String body, int status, String field) {
        return new Case(name, "POST", "/v1/instances/batch", body, status, field);
    }

    /** A valid registration of service llm with more members appended ({@code ,"k":v}). */
    private static String reg(String more) {
        return "{\"service\":\"llm\",\"address\":\"10.0.0.1\",\"port\":8080" + more + "}";
    }

    private static String entry(String id, int port) {
        return entry(id, port, "");
    }

    private static String entry(String id, int port, String more) {
        return "{\"service\":\"llm\",\"id\":\"" + id + "\",\"address\":\"10.0.0.1\",\"port\":" + port + more + "}";
    }

    private static String array(int n, java.util.function.IntFunction<String> item) {
        StringJoiner out = new StringJoiner(",", "[", "]");
        for (int i = 0; i < n; i++) {
            out.add(item.apply(i));
        }
        return out.toString();
    }

    private static String object(int n, java.util.function.IntFunction<String> member) {
        StringJoiner out = new StringJoiner(",", "{", "}");
        for (int i = 0; i < n; i++) {
            out.add(member.apply(i));
        }
        return out.toString();
    }

    private static JsonNode json(HttpResponse<String> res) {
        try {
            return MAPPER.readTree(res.body());
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON (status " + res.statusCode() + "): " + res.body(), e);
        }
    }
}
