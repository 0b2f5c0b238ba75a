package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.registry.Registry;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input on the Consul API, one row each: the status, the field the JSON error names, and a
 * registry left exactly as it was (same index, same instance count).
 */
class ConsulApiBadInputTest {
    private static final String REGISTER = "/v1/agent/service/register";

    @TempDir
    static Path dataDir;

    private static TestGateway gateway;

    /** One bad request and what it must get. */
    record Case(String name, String method, String path, String body, int status, String field) {
        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    static void start() {
        gateway = TestGateway.start(dataDir);
        register("{\"Name\":\"svc\",\"ID\":\"svc-1\",\"Port\":80,\"Check\":{\"TTL\":\"30s\"}}");
        register("{\"Name\":\"web\",\"ID\":\"web-1\",\"Port\":81,"
                + "\"Check\":{\"HTTP\":\"http://127.0.0.1:81/health\",\"Interval\":\"10s\"}}");
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private static void register(String body) {
        HttpResponse<String> res = TestGateway.send("PUT", gateway.consul(REGISTER), body);
        assertEquals(200, res.statusCode(), res.body());
    }

    private static Case reg(String name, String body, int status, String field) {
        return new Case(name, "PUT", REGISTER, body, status, field);
    }

    /** A registration of service {@code x} with one check given as the JSON object's inside. */
    private static Case check(String name, String checkFields, String field) {
        return reg(name, "{\"Name\":\"x\",\"Port\":1,\"Check\":{" + checkFields + "}}", 400, field);
    }

    static Stream<Case> cases() {
        String manyTags = IntStream.range(0, 65).mapToObj(i -> "\"t" + i + "\"").collect(Collectors.joining(","));
        String manyMeta =
                IntStream.range(0, 65).mapToObj(i -> "\"k" + i + "\":\"v\"").collect(Collectors.joining(","));
        String manyChecks =
                IntStream.range(0, 9).mapToObj(i -> "{\"TTL\":\"10s\"}").collect(Collectors.joining(","));
        String huge = "{\"Name\":\"x\",\"Meta\":{\"k\":\"" + "a".repeat(1_100_000) + "\"}}";
        return Stream.of(
                reg("malformed JSON", "{\"Name\":", 400, "body"),
                reg("body is an array", "[1,2]", 400, "body"),
                reg("empty body", null, 400, "body"),
                reg("Port as a string", "{\"Name\":\"x\",\"Port\":\"80\"}", 400, "Port"),
                reg("Port fraction", "{\"Name\":\"x\",\"Port\":80.5}", 400, "Port"),
                reg("Tags as an object", "{\"Name\":\"x\",\"Tags\":{\"a\":\"b\"}}", 400, "Tags"),
                reg("Tag as a number", "{\"Name\":\"x\",\"Tags\":[1]}", 400, "Tags[0]"),
                reg("Meta value a number", "{\"Name\":\"x\",\"Meta\":{\"k\":1}}", 400, "Meta.k"),
                reg("missing Name", "{\"ID\":\"x-1\",\"Port\":1}", 400, "Name"),
                reg("illegal char in Name", "{\"Name\":\"bad name!\"}", 400, "Name"),
                reg("slash in ID", "{\"Name\":\"x\",\"ID\":\"a/b\"}", 400, "ID"),
                reg("space in Address", "{\"Name\":\"x\",\"Address\":\"my host\"}", 400, "Address"),
                reg("Port -1", "{\"Name\":\"x\",\"Port\":-1}", 400, "Port"),
                reg("Port 70000", "{\"Name\":\"x\",\"Port\":70000}", 400, "Port"),
                reg("65 tags", "{\"Name\":\"x\",\"Tags\":[" + manyTags + "]}", 400, "Tags"),
                reg("65 meta entries", "{\"Name\":\"x\",\"Meta\":{" + manyMeta + "}}", 400, "Meta"),
                reg("bad meta key", "{\"Name\":\"x\",\"Meta\":{\"bad key\":\"v\"}}", 400, "Meta.bad key"),
                reg(
                        "Weights.Passing 0",
                        "{\"Name\":\"x\",\"Weights\":{\"Passing\":0,\"Warning\":1}}",
                        400,
                        "Weights.Passing"),
                reg(
                        "EnableTagOverride as a string",
                        "{\"Name\":\"x\",\"EnableTagOverride\":\"yes\"}",
                        400,
                        "EnableTagOverride"),
                reg("connect proxy Kind", "{\"Name\":\"x\",\"Kind\":\"connect-proxy\"}", 400, "Kind"),
                reg("Checks not an array", "{\"Name\":\"x\",\"Checks\":{\"TTL\":\"10s\"}}", 400, "Checks"),
                reg("9 checks", "{\"Name\":\"x\",\"Checks\":[" + manyChecks + "]}", 400, "Checks"),
                reg(
                        "bad second of Checks",
                        "{\"Name\":\"x\",\"Checks\":[{\"TTL\":\"10s\"},{\"TTL\":\"10x\"}]}",
                        400,
                        "Checks[1].TTL"),
                check("exec while disabled (Args)", "\"Args\":[\"/bin/true\"],\"Interval\":\"10s\"", "Check.Args"),
                check(
                        "exec while disabled (ScriptArgs)",
                        "\"ScriptArgs\":[\"/bin/true\"],\"Interval\":\"10s\"",
                        "Check.Args"),
                check("empty Args", "\"Args\":[],\"Interval\":\"10s\"", "Check.Args"),
                check("Args not strings", "\"Args\":[\"/bin/sleep\",1],\"Interval\":\"10s\"", "Check.Args[1]"),
                check("gRPC without port", "\"GRPC\":\"127.0.0.1\",\"Interval\":\"10s\"", "Check.GRPC"),
                check("gRPC port 70000", "\"GRPC\":\"127.0.0.1:70000\",\"Interval\":\"10s\"", "Check.GRPC"),
                check("gRPC service with slash", "\"GRPC\":\"127.0.0.1:9000/a/b\",\"Interval\":\"10s\"", "Check.GRPC"),
                check("gRPC without Interval", "\"GRPC\":\"127.0.0.1:9000\"", "Check.Interval"),
                check(
                        "GRPCUseTLS as a string",
                        "\"GRPC\":\"127.0.0.1:9000\",\"Interval\":\"10s\",\"GRPCUseTLS\":\"yes\"",
                        "Check.GRPCUseTLS"),
                check("Notes a number", "\"TTL\":\"10s\",\"Notes\":7", "Check.Notes"),
                check("Script check", "\"Script\":\"/bin/true\",\"Interval\":\"10s\"", "Check.Script"),
                check("UDP check", "\"UDP\":\"127.0.0.1:53\",\"Interval\":\"10s\"", "Check.UDP"),
                check("OSService check", "\"OSService\":\"sshd\",\"Interval\":\"10s\"", "Check.OSService"),
                check(
                        "header with CRLF",
                        "\"HTTP\":\"http://127.0.0.1/\",\"Interval\":\"10s\","
                                + "\"Header\":{\"X-A\":[\"a\\r\\nX-Injected: 1\"]}",
                        "Check.Header.X-A"),
                check("docker check", "\"DockerContainerID\":\"abc\",\"Interval\":\"10s\"", "Check.DockerContainerID"),
                check("H2PING check", "\"H2PING\":\"127.0.0.1:9000\",\"Interval\":\"10s\"", "Check.H2PING"),
                check(
                        "two kinds in one check",
                        "\"HTTP\":\"http://127.0.0.1/\",\"TTL\":\"10s\",\"Interval\":\"10s\"",
                        "Check"),
                check("no kind in a check", "\"Interval\":\"10s\"", "Check"),
                check("Interval 10x", "\"TCP\":\"127.0.0.1:1\",\"Interval\":\"10x\"", "Check.Interval"),
                check("Interval a boolean", "\"TCP\":\"127.0.0.1:1\",\"Interval\":true", "Check.Interval"),
                check("Interval 10ms (too short)", "\"TCP\":\"127.0.0.1:1\",\"Interval\":\"10ms\"", "Check.Interval"),
                check("negative TTL", "\"TTL\":\"-5s\"", "Check.TTL"),
                check("negative nanosecond TTL", "\"TTL\":-5000000000", "Check.TTL"),
                check("HTTP without Interval", "\"HTTP\":\"http://127.0.0.1/health\"", "Check.Interval"),
                check("ftp scheme", "\"HTTP\":\"ftp://127.0.0.1/\",\"Interval\":\"10s\"", "Check.HTTP"),
                check("TCP without port", "\"TCP\":\"127.0.0.1\",\"Interval\":\"10s\"", "Check.TCP"),
                check("Timeout 0s", "\"TCP\":\"127.0.0.1:1\",\"Interval\":\"10s\",\"Timeout\":\"0s\"", "Check.Timeout"),
                check("Status ok", "\"TTL\":\"10s\",\"Status\":\"ok\"", "Check.Status"),
                check(
                        "lower-case Method",
                        "\"HTTP\":\"http://127.0.0.1/\",\"Interval\":\"10s\",\"Method\":\"get\"",
                        "Check.Method"),
                check(
                        "Header value not a list",
                        "\"HTTP\":\"http://127.0.0.1/\",\"Interval\":\"10s\"," + "\"Header\":{\"X-A\":\"b\"}",
                        "Check.Header.X-A"),
                check(
                        "DeregisterCriticalServiceAfter soon",
                        "\"TTL\":\"10s\",\"DeregisterCriticalServiceAfter\":\"soon\"",
                        "Check.DeregisterCriticalServiceAfter"),
                reg("ID reused for another service", "{\"Name\":\"other\",\"ID\":\"svc-1\"}", 409, "ID"),
                reg(
                        "check id owned by another instance",
                        "{\"Name\":\"x\",\"ID\":\"x-1\",\"Check\":{\"CheckID\":\"service:svc-1\",\"TTL\":\"10s\"}}",
                        409,
                        "CheckID"),
                reg("body over 1 MiB", huge, 413, "body"),
                new Case(
                        "update of an unknown check",
                        "PUT",
                        "/v1/agent/check/update/service:ghost",
                        "{\"Status\":\"passing\"}",
                        404,
                        "CheckID"),
                new Case(
                        "update with Status fine",
                        "PUT",
                        "/v1/agent/check/update/service:svc-1",
                        "{\"Status\":\"fine\"}",
                        400,
                        "Status"),
                new Case("update with malformed body", "PUT", "/v1/agent/check/update/service:svc-1", "{", 400, "body"),
                new Case("pass on an unknown check", "PUT", "/v1/agent/check/pass/service:ghost", null, 404, "CheckID"),
                new Case("pass on an HTTP check", "PUT", "/v1/agent/check/pass/service:web-1", null, 400, "CheckID"),
                new Case(
                        "maintenance enable=maybe",
                        "PUT",
                        "/v1/agent/service/maintenance/svc-1?enable=maybe",
                        null,
                        400,
                        "enable"),
                new Case(
                        "maintenance without enable",
                        "PUT",
                        "/v1/agent/service/maintenance/svc-1",
                        null,
                        400,
                        "enable"),
                new Case(
                        "maintenance of an unknown id",
                        "PUT",
                        "/v1/agent/service/maintenance/ghost?enable=true",
                        null,
                        404,
                        "ID"),
                new Case("deregister an unknown id", "PUT", "/v1/agent/service/deregister/ghost", null, 404, "ID"),
                new Case("index=abc", "GET", "/v1/health/service/svc?index=abc", null, 400, "index"),
                new Case("index=-1", "GET", "/v1/catalog/services?index=-1", null, 400, "index"),
                new Case("wait=forever", "GET", "/v1/health/service/svc?index=1&wait=forever", null, 400, "wait"),
                new Case("wait without unit", "GET", "/v1/catalog/service/svc?index=1&wait=10", null, 400, "wait"),
                new Case("passing=maybe", "GET", "/v1/health/service/svc?passing=maybe", null, 400, "passing"),
                new Case("health/state/bogus", "GET", "/v1/health/state/bogus", null, 400, "state"),
                new Case(
                        "stale and consistent",
                        "GET",
                        "/v1/catalog/services?stale&consistent",
                        null,
                        400,
                        "consistent"),
                new Case(
                        "filter expression",
                        "GET",
                        "/v1/catalog/service/svc?filter=ServiceTags%20is%20empty",
                        null,
                        400,
                        "filter"),
                new Case("unknown datacenter", "GET", "/v1/health/service/svc?dc=mars", null, 500, "dc"),
                new Case("agent service of an unknown id", "GET", "/v1/agent/service/ghost", null, 404, "id"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void badInputIsRefusedNamingTheFieldAndChangesNothing(Case c) throws Exception {
        Registry registry = gateway.gateway().registry();
        long indexBefore = registry.index();
        int countBefore = registry.instanceCount();

        HttpResponse<String> res = TestGateway.send(c.method(), gateway.consul(c.path()), c.body());

        assertEquals(c.status(), res.statusCode(), c.name() + ": " + res.body());
        JsonNode error = Json.MAPPER.readTree(res.body());
        assertEquals(c.field(), error.path("field").asText(null), c.name() + ": " + res.body());
        assertEquals(indexBefore, registry.index(), c.name() + " changed the registry index");
        assertEquals(countBefore, registry.instanceCount(), c.name() + " changed the instance count");
    }
}
