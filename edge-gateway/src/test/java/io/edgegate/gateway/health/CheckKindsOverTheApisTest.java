package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gRPC and exec checks registered through both APIs of a real gateway (exec checks off, the default). */
class CheckKindsOverTheApisTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path dataDir;

    private static TestGateway gateway;

    @BeforeAll
    static void start() {
        gateway = TestGateway.start(dataDir);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @Test
    void consulGrpcCheckIsListedWithTypeGrpcAndNotes() throws Exception {
        HttpResponse<String> registered = TestGateway.send(
                "PUT",
                gateway.consul("/v1/agent/service/register"),
                "{\"Name\":\"vision\",\"ID\":\"vision-1\",\"Port\":9000,\"Check\":{\"CheckID\":\"vision-grpc\","
                        + "\"GRPC\":\"127.0.0.1:9000/vision.Detect\",\"GRPCUseTLS\":false,\"Interval\":\"10s\","
                        + "\"Notes\":\"detector health\"}}");
        assertEquals(200, registered.statusCode(), registered.body());

        JsonNode check = MAPPER.readTree(TestGateway.send("GET", gateway.consul("/v1/agent/checks"), null)
                        .body())
                .path("vision-grpc");

        assertEquals("grpc", check.path("Type").asText(), check.toString());
        assertEquals("detector health", check.path("Notes").asText(), check.toString());
        assertEquals("10s", check.path("Interval").asText(), check.toString());
    }

    @Test
    void nativeGrpcCheckIsListedWithKindGrpc() throws Exception {
        HttpResponse<String> registered = TestGateway.send(
                "POST",
                gateway.api("/v1/instances"),
                "{\"service\":\"llm\",\"id\":\"llm-1\",\"address\":\"127.0.0.1\",\"port\":9001,"
                        + "\"check\":{\"grpc\":\"127.0.0.1:9001\",\"grpc-use-tls\":true,\"interval\":\"10s\","
                        + "\"notes\":\"inference server\"}}");
        assertEquals(200, registered.statusCode(), registered.body());

        JsonNode instance = MAPPER.readTree(TestGateway.send("GET", gateway.api("/v1/instances/llm-1"), null)
                .body());

        assertEquals("grpc", instance.path("checks").path(0).path("kind").asText(), instance.toString());
    }

    @Test
    void consulScriptCheckIsRefusedWhileExecIsDisabled() throws Exception {
        HttpResponse<String> refused = TestGateway.send(
                "PUT",
                gateway.consul("/v1/agent/service/register"),
                "{\"Name\":\"plc\",\"Port\":502,\"Check\":{\"Args\":[\"/usr/local/bin/plc-check\"],\"Interval\":\"10s\"}}");

        assertEquals(400, refused.statusCode(), refused.body());
        JsonNode error = MAPPER.readTree(refused.body());
        assertEquals("Check.Args", error.path("field").asText(), refused.body());
        assertEquals("exec-disabled", error.path("rule").asText(), refused.body());
        assertTrue(error.path("error").asText().contains("edgegate.health.enable-exec-checks"), refused.body());
    }
}
