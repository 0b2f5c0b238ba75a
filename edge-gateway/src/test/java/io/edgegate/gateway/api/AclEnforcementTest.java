package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Default-deny access control on both listeners, one right per test: each refusal is a 403 that
 * names the missing right and changes nothing; each list is filtered, not refused.
 */
class AclEnforcementTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient CLIENT =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String FILTERED = "X-Consul-Results-Filtered-By-ACLs";

    static final String ADMIN = "admin-token-0123456789";
    static final String LLM_WRITER = "llm-writer-token-0123456789";
    static final String READER = "reader-token-0123456789";
    static final String VISION_READER = "vision-reader-token-0123456789";
    static final String OPS = "ops-token-0123456789";

    static final String TOKENS = """
            policies:
              llm-writer: {service-prefix: {"llm-": write}}
              reader: {service-prefix: {"": read}, node: read, agent: read}
              vision-reader: {service: {vision: read}}
              ops: {operator: write}
            tokens:
              - {secret: %s, policies: [global-management], description: admin}
              - {secret: %s, policies: [llm-writer], description: CI deploys of llm services}
              - {secret: %s, policies: [reader]}
              - {secret: %s, policies: [vision-reader]}
              - {secret: %s, policies: [ops]}
            """.formatted(ADMIN, LLM_WRITER, READER, VISION_READER, OPS);

    @TempDir
    Path dir;

    private Path tokensFile;
    private TestGateway gateway;

    @BeforeEach
    void start() throws IOException {
        tokensFile = dir.resolve("acl.yaml");
        Files.writeString(tokensFile, TOKENS);
        gateway = TestGateway.start(
                dir.resolve("data"),
                Map.of(
                        "EDGEGATE_ACL_TOKENS_FILE", tokensFile.toString(),
                        "EDGEGATE_ACL_RELOAD_INTERVAL", "50ms",
                        "EDGEGATE_HEALTH_ENABLE_EXEC_CHECKS", "true"));
        ok(api(ADMIN, "POST", "/v1/instances", instance("llm-infer", "llm-1", "\"check\":{\"ttl\":\"30s\"}")));
        ok(api(ADMIN, "POST", "/v1/instances", instance("vision", "vision-1", null)));
    }

    @AfterEach
    void stop() {
        gateway.close();
    }

    private static String instance(String service, String id, String extra) {
        return "{\"service\":\"" + service + "\",\"id\":\"" + id + "\",\"address\":\"10.0.0.7\",\"port\":9000"
                + (extra == null ? "" : "," + extra) + "}";
    }

    private HttpResponse<String> api(String token, String method, String path, String body) {
        return TestGateway.sendAs(token, method, gateway.api(path), body);
    }

    private HttpResponse<String> consul(String token, String method, String path, String body) {
        return TestGateway.sendAs(token, method, gateway.consul(path), body);
    }

    private static JsonNode ok(HttpResponse<String> res) {
        assertEquals(200, res.statusCode(), res.body());
        return json(res);
    }

    private static JsonNode json(HttpResponse<String> res) {
        try {
            return MAPPER.readTree(res.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + res.body(), e);
        }
    }

    /** A 403 on the native API whose body names the right. */
    private static void refused(HttpResponse<String> res, String needs) {
        assertEquals(403, res.statusCode(), res.body());
        JsonNode body = json(res);
        assertEquals("acl", body.get("rule").asText());
        assertEquals(needs, body.get("needs").asText(), res.body());
    }

    /** A 403 on the Consul API in Consul's words. */
    private static void consulRefused(HttpResponse<String> res, String permission) {
        assertEquals(403, res.statusCode(), res.body());
        assertTrue(res.body().startsWith("Permission denied: token with AccessorID '"), res.body());
        assertTrue(res.body().contains("lacks permission '" + permission + "'"), res.body());
    }

    private Instance instanceNow(String id) {
        return gateway.gateway().registry().instance(id);
    }

    // ---------------------------------------------------------------- service write

    @Test
    void registrationNeedsWriteOnItsServiceAndARefusalRegistersNothing() {
        long index = gateway.gateway().registry().index();
        refused(api(READER, "POST", "/v1/instances", instance("llm-infer", "rogue", null)), "service:llm-infer:write");
        refused(api(null, "POST", "/v1/instances", instance("llm-infer", "rogue", null)), "service:llm-infer:write");
        refused(
                api(
                        LLM_WRITER,
                        "POST",
                        "/v1/instances/batch",
                        "{\"instances\":[" + instance("llm-embed", "e-1", null) + ","
                                + instance("vision", "rogue", null) + "]}"),
                "service:vision:write");
        consulRefused(
                consul(
                        LLM_WRITER,
                        "PUT",
                        "/v1/agent/service/register",
                        "{\"Name\":\"vision\",\"ID\":\"rogue\",\"Address\":\"10.0.0.9\",\"Port\":80}"),
                "service:write");
        assertNull(instanceNow("rogue"));
        assertNull(instanceNow("e-1"), "a batch is refused whole");
        assertEquals(index, gateway.gateway().registry().index(), "nothing changed");
        ok(api(LLM_WRITER, "POST", "/v1/instances", instance("llm-embed", "e-1", null)));
        assertEquals(
                200,
                consul(
                                LLM_WRITER,
                                "PUT",
                                "/v1/agent/service/register",
                                "{\"Name\":\"llm-chat\",\"ID\":\"chat-1\",\"Address\":\"10.0.0.9\",\"Port\":80}")
                        .statusCode());
    }

    @Test
    void changesToAnInstanceNeedWriteOnItsService() {
        Instance before = instanceNow("llm-1");
        refused(api(READER, "DELETE", "/v1/instances/llm-1", null), "service:llm-infer:write");
        refused(api(READER, "PUT", "/v1/instances/llm-1/heartbeat", null), "service:llm-infer:write");
        refused(api(READER, "PUT", "/v1/instances/llm-1/maintenance?enable=true", null), "service:llm-infer:write");
        consulRefused(consul(READER, "PUT", "/v1/agent/service/deregister/llm-1", null), "service:write");
        consulRefused(consul(READER, "PUT", "/v1/agent/service/maintenance/llm-1?enable=true", null), "service:write");
        consulRefused(consul(READER, "PUT", "/v1/agent/check/pass/service:llm-1", null), "service:write");
        consulRefused(
                consul(READER, "PUT", "/v1/agent/check/update/service:llm-1", "{\"Status\":\"passing\"}"),
                "service:write");
        Instance after = instanceNow("llm-1");
        assertEquals(before.modifyIndex(), after.modifyIndex(), "nothing changed");
        assertEquals(Health.CRITICAL, after.health(), "the TTL check was not passed");
        assertFalse(after.inMaintenance());
        assertEquals(
                200,
                consul(LLM_WRITER, "PUT", "/v1/agent/check/pass/service:llm-1", null)
                        .statusCode());
        assertEquals(Health.PASSING, instanceNow("llm-1").health());
        ok(api(LLM_WRITER, "DELETE", "/v1/instances/llm-1", null));
        assertNull(instanceNow("llm-1"));
    }

    // ---------------------------------------------------------------- service read

    @Test
    void listsAreFilteredByServiceReadAndSayWhen() {
        HttpResponse<String> visionOnly = api(VISION_READER, "GET", "/v1/services", null);
        JsonNode services = ok(visionOnly).get("services");
        assertEquals(1, services.size(), services.toString());
        assertEquals("vision", services.get(0).get("service").asText());
        assertEquals("true", visionOnly.headers().firstValue(FILTERED).orElse(null));

        HttpResponse<String> all = api(READER, "GET", "/v1/services", null);
        assertEquals(2, ok(all).get("services").size());
        assertTrue(all.headers().firstValue(FILTERED).isEmpty(), "nothing left out, no mark");

        HttpResponse<String> catalog = consul(VISION_READER, "GET", "/v1/catalog/services", null);
        assertEquals(200, catalog.statusCode());
        assertTrue(json(catalog).has("vision") && !json(catalog).has("llm-infer"), catalog.body());
        assertEquals("true", catalog.headers().firstValue(FILTERED).orElse(null));

        JsonNode agentServices = json(consul(VISION_READER, "GET", "/v1/agent/services", null));
        assertTrue(agentServices.has("vision-1") && !agentServices.has("llm-1"), agentServices.toString());
    }

    @Test
    void oneServiceWithoutReadIsAnEmptyList() {
        HttpResponse<String> health = consul(VISION_READER, "GET", "/v1/health/service/llm-infer", null);
        assertEquals(200, health.statusCode());
        assertEquals("[]", health.body());
        assertEquals("true", health.headers().firstValue(FILTERED).orElse(null));
        assertEquals(
                "[]",
                consul(VISION_READER, "GET", "/v1/health/checks/llm-infer", null)
                        .body());
        assertEquals(
                "[]", consul(null, "GET", "/v1/catalog/service/llm-infer", null).body());
        JsonNode nativeRead = ok(api(VISION_READER, "GET", "/v1/services/llm-infer", null));
        assertEquals(0, nativeRead.get("instances").size(), "no instance, and so no check output, is shown");
        assertEquals(
                1,
                ok(api(READER, "GET", "/v1/services/llm-infer", null))
                        .get("instances")
                        .size());
    }

    @Test
    void oneInstanceNeedsReadOnItsService() {
        refused(api(VISION_READER, "GET", "/v1/instances/llm-1", null), "service:llm-infer:read");
        consulRefused(consul(VISION_READER, "GET", "/v1/agent/service/llm-1", null), "service:read");
        assertEquals(
                "llm-1",
                ok(api(READER, "GET", "/v1/instances/llm-1", null)).get("id").asText());
    }

    // ---------------------------------------------------------------- node, agent, operator

    @Test
    void agentInformationNeedsAgentRead() {
        refused(api(LLM_WRITER, "GET", "/v1/status", null), "agent:read");
        consulRefused(consul(LLM_WRITER, "GET", "/v1/agent/self", null), "agent:read");
        ok(api(READER, "GET", "/v1/status", null));
        assertEquals(200, consul(READER, "GET", "/v1/agent/self", null).statusCode());
    }

    @Test
    void nodeInformationIsFilteredByNodeRead() {
        HttpResponse<String> nodes = consul(LLM_WRITER, "GET", "/v1/catalog/nodes", null);
        assertEquals("[]", nodes.body());
        assertEquals("true", nodes.headers().firstValue(FILTERED).orElse(null));
        assertEquals(1, json(consul(READER, "GET", "/v1/catalog/nodes", null)).size());
        assertEquals("[]", consul(LLM_WRITER, "GET", "/v1/agent/members", null).body());
        JsonNode state = json(consul(VISION_READER, "GET", "/v1/health/state/any", null));
        for (JsonNode check : state) {
            assertEquals("vision", check.get("ServiceName").asText(), "no node check, no llm check: " + state);
        }
    }

    @Test
    void routesNeedOperatorRights() {
        String route = "{\"match\":{\"path-prefix\":\"/\"},\"service\":\"llm-infer\"}";
        refused(api(LLM_WRITER, "PUT", "/v1/routes/all", route), "operator:write");
        refused(api(null, "PUT", "/v1/routes/all", route), "operator:write");
        refused(api(LLM_WRITER, "GET", "/v1/routes", null), "operator:read");
        assertEquals(404, api(OPS, "GET", "/v1/routes/all", null).statusCode(), "the refused route was not stored");
        assertEquals(200, api(OPS, "PUT", "/v1/routes/all", route).statusCode());
        refused(api(READER, "DELETE", "/v1/routes/all", null), "operator:write");
        assertEquals(200, api(OPS, "GET", "/v1/routes/all", null).statusCode(), "still there");
    }

    @Test
    void execChecksNeedOperatorWrite() {
        String exec = instance("llm-x", "x-1", "\"check\":{\"args\":[\"/bin/true\"],\"interval\":\"10s\"}");
        refused(api(LLM_WRITER, "POST", "/v1/instances", exec), "operator:write");
        assertNull(instanceNow("x-1"));
        ok(api(ADMIN, "POST", "/v1/instances", exec));
        assertNotNull(instanceNow("x-1"));
    }

    @Test
    void tokensAreListedToOperatorsWithoutSecrets() {
        refused(api(LLM_WRITER, "GET", "/v1/acl/tokens", null), "operator:read");
        HttpResponse<String> list = consul(ADMIN, "GET", "/v1/acl/tokens", null);
        assertEquals(200, list.statusCode());
        assertEquals(5, json(list).size());
        for (String secret : new String[] {ADMIN, LLM_WRITER, READER, VISION_READER, OPS}) {
            assertFalse(list.body().contains(secret), "no secret in the listing");
        }
    }

    // ---------------------------------------------------------------- tokens

    @Test
    void tokenSelfAnswersInConsulsShape() {
        JsonNode self = json(consul(LLM_WRITER, "GET", "/v1/acl/token/self", null));
        assertEquals("CI deploys of llm services", self.get("Description").asText());
        assertEquals("llm-writer", self.get("Policies").get(0).get("Name").asText());
        assertEquals(36, self.get("AccessorID").asText().length());
        assertNull(self.get("SecretID"), "never echoed");
        assertEquals(self, ok(api(LLM_WRITER, "GET", "/v1/acl/token/self", null)), "the same on both listeners");
    }

    @Test
    void tokenIsReadFromTheHeaderTheBearerOrTheQuery() throws Exception {
        String body = instance("llm-infer", "llm-2", null);
        assertEquals(
                200,
                raw("POST", gateway.api("/v1/instances"), body, "Authorization", "Bearer " + LLM_WRITER)
                        .statusCode());
        assertEquals(
                200,
                raw(
                                "PUT",
                                gateway.consul("/v1/agent/service/register?token=" + LLM_WRITER),
                                "{\"Name\":\"llm-infer\",\"ID\":\"llm-3\",\"Address\":\"10.0.0.9\",\"Port\":80}")
                        .statusCode());
        // Spring Cloud Consul sends an empty token= when none is set: it is no token, not a wrong one.
        HttpResponse<String> empty = raw("GET", gateway.consul("/v1/catalog/services?token="), null);
        assertEquals(200, empty.statusCode());
        assertEquals("{}", empty.body());
    }

    @Test
    void unknownTokenIsRefusedAsConsulDoes() throws Exception {
        HttpResponse<String> api = api("not-issued-0123456789", "GET", "/v1/services", null);
        assertEquals(403, api.statusCode());
        assertTrue(json(api).get("error").asText().startsWith("ACL not found"), api.body());
        HttpResponse<String> consul = consul("not-issued-0123456789", "GET", "/v1/catalog/services", null);
        assertEquals(403, consul.statusCode());
        assertEquals("ACL not found", consul.body());
    }

    @Test
    void changedTokenFileRevokesWithoutRestart() throws Exception {
        ok(api(LLM_WRITER, "PUT", "/v1/instances/llm-1/heartbeat", null));
        Files.writeString(
                tokensFile,
                TOKENS.replace(
                        "  - {secret: " + LLM_WRITER
                                + ", policies: [llm-writer], description: CI deploys of llm services}\n",
                        ""));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        HttpResponse<String> res;
        do {
            Thread.sleep(20);
            res = api(LLM_WRITER, "PUT", "/v1/instances/llm-1/heartbeat", null);
        } while (res.statusCode() == 200 && System.nanoTime() < deadline);
        assertEquals(403, res.statusCode(), "revoked: " + res.body());
        assertTrue(res.body().contains("ACL not found"), res.body());
    }

    private static HttpResponse<String> raw(String method, URI uri, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
