package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Consul listener's lean connections ({@link LeanApi}, implemented by the Consul API): an
 * agent's service registration and its TTL check reports get the answers the Consul routes give,
 * refusals included (Consul's plain-text 403, its field names); other requests, and these with a
 * query, reach the routes; a connection goes on to the routes after the lane's requests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsulLeanApiTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String ROUTES_FIRST = "GET /v1/status/leader HTTP/1.1\r\nHost: edge\r\n\r\n";

    TestGateway gateway;
    String token;
    int port;

    @BeforeAll
    void start(@TempDir Path dataDir) {
        gateway = TestGateway.start(dataDir);
        token = gateway.managementToken();
        port = gateway.gateway().consulPort();
    }

    @AfterAll
    void stop() {
        gateway.close();
    }

    @Test
    void agentWritesGetTheRoutesAnswersRefusalsIncluded() throws IOException {
        String service = "{\"ID\":\"c-1\",\"Name\":\"csvc\",\"Address\":\"127.0.0.1\",\"Port\":9000,"
                + "\"Check\":{\"TTL\":\"30s\"}}";
        List<String[]> cases = List.of(
                // a new instance through the lane (journaled), then the routes' unchanged one
                new String[] {"register", register(service, token)},
                // each report changes the check's status through the lane, then repeats it on the routes
                new String[] {"pass", report("pass", "service:c-1", token)},
                new String[] {"warn", report("warn", "service:c-1", token)},
                new String[] {"fail", report("fail", "service:c-1", token)},
                new String[] {"pass again", report("pass", "service:c-1", token)},
                new String[] {"unknown check", report("pass", "service:nobody", token)},
                new String[] {"malformed", register("{\"Name\":", token)},
                new String[] {"bad port", register(service.replace("9000", "70000"), token)},
                new String[] {"no token", report("pass", "service:c-1", null)},
                new String[] {"unknown token", register(service, "00000000-0000-0000-0000-000000000000")});
        long before = LeanApiTest.proxyStat(gateway, "lean-api-requests");
        LeanApiTest.assertSameAnswers(port, ROUTES_FIRST, cases);
        assertEquals(cases.size(), LeanApiTest.proxyStat(gateway, "lean-api-requests") - before);

        LeanConnectionTest.Answer denied = LeanApiTest.first(port, report("pass", "service:c-1", null));
        assertEquals(403, denied.status());
        assertTrue(denied.body().startsWith("Permission denied"), denied.body());
        JsonNode checks = MAPPER.readTree(TestGateway.send("GET", gateway.consul("/v1/agent/checks"), null)
                .body());
        assertEquals("passing", checks.get("service:c-1").get("Status").asText(), checks.toString());
    }

    @Test
    void requestsTheLaneDoesNotTakeReachTheRoutes() throws IOException {
        LeanApiTest.first(
                port, register("{\"ID\":\"c-2\",\"Name\":\"csvc\",\"Port\":9000,\"Check\":{\"TTL\":\"30s\"}}", token));
        long before = LeanApiTest.proxyStat(gateway, "lean-api-requests");
        // an id to decode, a note (the last report: its output stays), another method, a path the lane does not know
        assertEquals(
                200,
                LeanApiTest.first(port, report("pass", "service%3Ac-2", token)).status());
        assertEquals(
                200,
                LeanApiTest.first(port, report("pass", "service:c-2?note=fine", token))
                        .status());
        assertEquals(
                404, // the Consul routes know no other method there
                LeanApiTest.first(port, report("pass", "service:c-2", token).replace("PUT ", "POST "))
                        .status());
        assertEquals(200, LeanApiTest.first(port, ROUTES_FIRST).status());
        assertEquals(before, LeanApiTest.proxyStat(gateway, "lean-api-requests"), "none taken by the lane");
        JsonNode checks = MAPPER.readTree(TestGateway.send("GET", gateway.consul("/v1/agent/checks"), null)
                .body());
        assertEquals("fine", checks.get("service:c-2").get("Output").asText(), checks.toString());
    }

    @Test
    void aConnectionGoesOnFromTheLaneToTheRoutes() throws IOException {
        try (Socket s = LeanApiTest.connect(port)) {
            LeanConnectionTest.write(
                    s,
                    register("{\"ID\":\"c-3\",\"Name\":\"csvc\",\"Port\":9000,\"Check\":{\"TTL\":\"30s\"}}", token)
                            + report("pass", "service:c-3", token)
                            + "GET /v1/agent/service/c-3 HTTP/1.1\r\nHost: edge\r\nX-Consul-Token: " + token
                            + "\r\n\r\n"
                            + report("fail", "service:c-3", token));
            InputStream in = s.getInputStream();
            assertEquals(200, LeanConnectionTest.read(in, false).status());
            assertEquals(200, LeanConnectionTest.read(in, false).status());
            LeanConnectionTest.Answer service = LeanConnectionTest.read(in, false);
            assertEquals(200, service.status(), service.toString());
            assertEquals("c-3", MAPPER.readTree(service.body()).get("ID").asText());
            assertEquals(200, LeanConnectionTest.read(in, false).status());
        }
        JsonNode checks = MAPPER.readTree(TestGateway.send("GET", gateway.consul("/v1/agent/checks"), null)
                .body());
        assertEquals("critical", checks.get("service:c-3").get("Status").asText(), checks.toString());
    }

    private static String register(String json, String token) {
        return "PUT /v1/agent/service/register HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
                + (token == null ? "" : "X-Consul-Token: " + token + "\r\n")
                + "Content-Length: " + json.length() + "\r\n\r\n" + json;
    }

    private static String report(String status, String checkId, String token) {
        return "PUT /v1/agent/check/" + status + "/" + checkId + " HTTP/1.1\r\nHost: edge\r\n"
                + (token == null ? "" : "X-Consul-Token: " + token + "\r\n")
                + "Content-Length: 0\r\n\r\n";
    }
}
