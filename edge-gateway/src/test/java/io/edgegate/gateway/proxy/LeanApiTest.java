package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry's hot writes answered by the main listener's lean connections themselves ({@link
 * LeanApi}): a registration and a heartbeat get the same answers (status, fields, body) as the
 * API's routes give them, refusals included; the requests the lane does not take reach the routes
 * as before; answers keep their order on a connection, also when a write waits for the journal.
 * Here on the event loops (the default); {@link LeanApiOnConnectionThreadsTest} runs the same on
 * the connections' threads.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeanApiTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    TestGateway gateway;
    String token;

    /** Settings of the gateway under test. */
    Map<String, String> settings() {
        return Map.of();
    }

    /** Whether the lane's connections are served by event loops. */
    boolean onEventLoops() {
        return true;
    }

    @BeforeAll
    void start(@TempDir Path dataDir) {
        gateway = TestGateway.start(dataDir, settings());
        token = gateway.managementToken();
    }

    @AfterAll
    void stop() {
        gateway.close();
    }

    @Test
    void writesGetTheRoutesAnswersRefusalsIncluded() throws IOException {
        String ttl = "{\"service\":\"lean-t\",\"id\":\"lean-t-1\",\"address\":\"127.0.0.1\",\"port\":9001,"
                + "\"checks\":[{\"ttl\":\"30s\"}]}";
        List<String[]> cases = List.of(
                // a new instance through the lane (a journaled write), then the routes' unchanged one
                new String[] {
                    "new",
                    register(
                            "{\"service\":\"lean-a\",\"id\":\"lean-a-1\",\"address\":\"127.0.0.1\",\"port\":9000}",
                            token)
                },
                new String[] {"ttl", register(ttl, token)},
                // the first heartbeat turns the TTL check passing (journaled); the second is the fast path
                new String[] {"heartbeat", heartbeat("lean-t-1", token)},
                new String[] {"unknown instance", heartbeat("nobody", token)},
                new String[] {"malformed", register("{\"service\":", token)},
                new String[] {
                    "bad port",
                    register(
                            "{\"service\":\"lean-b\",\"id\":\"lean-b-1\",\"address\":\"127.0.0.1\",\"port\":70000}",
                            token)
                },
                new String[] {"empty body", register("", token)},
                new String[] {
                    "no token",
                    register(
                            "{\"service\":\"lean-c\",\"id\":\"lean-c-1\",\"address\":\"127.0.0.1\",\"port\":9000}",
                            null)
                },
                new String[] {"unknown token", heartbeat("lean-a-1", "00000000-0000-0000-0000-000000000000")},
                new String[] {
                    "bearer token",
                    heartbeat("lean-t-1", null).replace("\r\n\r\n", "\r\nAuthorization: Bearer " + token + "\r\n\r\n")
                });
        long before = laneRequests();
        assertSameAnswers(gateway.gateway().port(), "GET /livez HTTP/1.1\r\nHost: edge\r\n\r\n", cases);
        assertEquals(200, first(cases.get(0)[1]).status());
        JsonNode heartbeat = MAPPER.readTree(first(cases.get(2)[1]).body());
        assertEquals("lean-t-1", heartbeat.get("id").asText());
        assertEquals(cases.size() + 2, laneRequests() - before, "each first request answered by the lane");
        JsonNode check = MAPPER.readTree(TestGateway.send("GET", gateway.api("/v1/instances/lean-t-1"), null)
                .body());
        assertEquals("passing", check.get("checks").get(0).get("status").asText(), check.toString());
    }

    @Test
    void requestsTheLaneDoesNotTakeReachTheRoutes() throws IOException {
        long before = laneRequests();
        String body = "{\"service\":\"lean-q\",\"id\":\"lean-q-1\",\"address\":\"127.0.0.1\",\"port\":9000}";
        // a query, an id to decode, a body larger than the API reads, another path and method
        assertEquals(
                200,
                first(register(body, token).replace("/v1/instances ", "/v1/instances?x=1 "))
                        .status());
        assertEquals(404, first(heartbeat("lean%2Dnobody", token)).status());
        String big = "{\"service\":\"lean-q\",\"pad\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}";
        LeanConnectionTest.Answer tooLarge = first(register(big, token));
        assertEquals(413, tooLarge.status(), tooLarge.toString());
        assertTrue(tooLarge.body().contains("max-body-bytes"), tooLarge.body());
        assertEquals(
                200,
                first("GET /v1/instances/lean-q-1 HTTP/1.1\r\nHost: edge\r\nX-Consul-Token: " + token + "\r\n\r\n")
                        .status());
        assertEquals(
                405,
                first("GET /v1/instances/lean-q-1/heartbeat HTTP/1.1\r\nHost: edge\r\n\r\n")
                        .status());
        assertEquals(before, laneRequests(), "none taken by the lane");
    }

    @Test
    void pipelinedWritesAreAnsweredInOrderAndTheConnectionGoesOnToTheRoutes() throws IOException {
        long loopsBefore = proxyStat("lean-event-loop-connections");
        try (Socket s = connect()) {
            StringBuilder requests = new StringBuilder();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                // each new (journaled) registration followed by a heartbeat of the instance
                String id = "lean-p-" + i;
                requests.append(register(
                        "{\"service\":\"lean-p\",\"id\":\"" + id
                                + "\",\"address\":\"127.0.0.1\",\"port\":9000,\"check\":{\"ttl\":\"30s\"}}",
                        token));
                requests.append(heartbeat(id, token));
                ids.add(id);
                ids.add(id);
            }
            // then an API request the lane leaves to the routes, and a write on the routes
            requests.append("GET /v1/services/lean-p HTTP/1.1\r\nHost: edge\r\nX-Consul-Token: " + token + "\r\n\r\n");
            requests.append(heartbeat("lean-p-0", token));
            LeanConnectionTest.write(s, requests.toString());
            InputStream in = s.getInputStream();
            long lastIndex = 0;
            for (String id : ids) {
                LeanConnectionTest.Answer a = LeanConnectionTest.read(in, false);
                assertEquals(200, a.status(), a.toString());
                JsonNode body = MAPPER.readTree(a.body());
                assertEquals(id, body.get("id").asText(), a.toString());
                long index = body.get("index").asLong();
                assertEquals(Long.toString(index), a.fields().get("x-edgegate-index"));
                assertTrue(index >= lastIndex, "indexes in order: " + index + " after " + lastIndex);
                lastIndex = index;
            }
            LeanConnectionTest.Answer service = LeanConnectionTest.read(in, false);
            assertEquals(200, service.status(), service.toString());
            assertEquals(5, MAPPER.readTree(service.body()).get("instances").size(), service.body());
            LeanConnectionTest.Answer last = LeanConnectionTest.read(in, false);
            assertEquals(200, last.status(), last.toString());
            assertEquals("lean-p-0", MAPPER.readTree(last.body()).get("id").asText());
        }
        assertEquals(onEventLoops() ? 1 : 0, proxyStat("lean-event-loop-connections") - loopsBefore);
    }

    @Test
    void connectionCloseEndsTheConnectionAfterTheAnswer() throws IOException {
        try (Socket s = connect()) {
            LeanConnectionTest.write(
                    s, heartbeat("nobody", token).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"));
            LeanConnectionTest.Answer a = LeanConnectionTest.read(s.getInputStream(), false);
            assertEquals(404, a.status(), a.toString());
            assertEquals("close", a.fields().get("connection"));
            assertTrue(LeanConnectionTest.closedByServer(s));
        }
    }

    // ---------------------------------------------------------------- helpers

    static String register(String json, String token) {
        return "POST /v1/instances HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
                + (token == null ? "" : "X-Consul-Token: " + token + "\r\n")
                + "Content-Length: " + json.length() + "\r\n\r\n" + json;
    }

    static String heartbeat(String id, String token) {
        return "PUT /v1/instances/" + id + "/heartbeat HTTP/1.1\r\nHost: edge\r\n"
                + (token == null ? "" : "X-Consul-Token: " + token + "\r\n")
                + "Content-Length: 0\r\n\r\n";
    }

    private Socket connect() throws IOException {
        return connect(gateway.gateway().port());
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(20_000);
        return s;
    }

    private LeanConnectionTest.Answer first(String request) throws IOException {
        return first(gateway.gateway().port(), request);
    }

    /** The answer to {@code request} as the first request of a fresh connection (the lane's, when it takes it). */
    static LeanConnectionTest.Answer first(int port, String request) throws IOException {
        try (Socket s = connect(port)) {
            LeanConnectionTest.write(s, request);
            return LeanConnectionTest.read(s.getInputStream(), false);
        }
    }

    /**
     * The answer to {@code request} after {@code routesRequest}, a request only the routes serve
     * (which answer it 200): the connection is theirs then.
     */
    static LeanConnectionTest.Answer afterRoutesRequest(int port, String routesRequest, String request)
            throws IOException {
        try (Socket s = connect(port)) {
            LeanConnectionTest.write(s, routesRequest + request);
            InputStream in = s.getInputStream();
            assertEquals(200, LeanConnectionTest.read(in, false).status());
            return LeanConnectionTest.read(in, false);
        }
    }

    /**
     * Sends each case's request first through the lane (a fresh connection's first request), then
     * through the routes, and asserts the same status, fields and body.
     */
    static void assertSameAnswers(int port, String routesRequest, List<String[]> cases) throws IOException {
        for (String[] c : cases) {
            LeanConnectionTest.Answer lane = first(port, c[1]);
            LeanConnectionTest.Answer routes = afterRoutesRequest(port, routesRequest, c[1]);
            assertEquals(routes.status(), lane.status(), c[0] + ": " + lane + " / " + routes);
            assertEquals(routes.body(), lane.body(), c[0]);
            for (String field :
                    List.of("content-type", "content-length", "x-edgegate-index", "retry-after", "connection")) {
                assertEquals(routes.fields().get(field), lane.fields().get(field), c[0] + ": " + field);
            }
            assertNotNull(lane.fields().get("date"), c[0]);
        }
    }

    private long laneRequests() throws IOException {
        return proxyStat(gateway, "lean-api-requests");
    }

    private long proxyStat(String name) throws IOException {
        return proxyStat(gateway, name);
    }

    static long proxyStat(TestGateway gateway, String name) throws IOException {
        JsonNode status = MAPPER.readTree(
                TestGateway.send("GET", gateway.api("/v1/status"), null).body());
        return status.get("proxy").get(name).asLong();
    }
}
