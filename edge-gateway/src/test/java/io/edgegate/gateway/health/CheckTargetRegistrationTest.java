package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.gateway.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Check targets refused at registration, over both APIs of a real gateway: another host's IP,
 * cloud metadata and link-local addresses (refused even though this gateway's allow-list names
 * their networks), URLs with user information, and instances registered at such an address. Each
 * refusal is a 400 naming the field and the rule, saying what is allowed, and changes nothing: the
 * registry's index stays where it was and the instance is not there. Nothing is ever registered
 * on this gateway, so the index is the same before and after every test.
 */
class CheckTargetRegistrationTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path dataDir;

    /** What every check-target refusal says is allowed. */
    private static final String ALLOWED = "checks may target the instance's own address, or the networks of"
            + " edgegate.health.allowed-check-networks (169.254.0.0/16, fe80::/10, fd00:ec2::/32); link-local, cloud"
            + " metadata, unspecified and multicast addresses never";

    private static TestGateway gateway;
    private static long index;

    @BeforeAll
    static void start() {
        gateway = TestGateway.start(
                dataDir, Map.of("EDGEGATE_HEALTH_ALLOWED_CHECK_NETWORKS", "169.254.0.0/16, fe80::/10, fd00:ec2::/32"));
        index = gateway.gateway().registry().index();
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @Test
    void nativeIssueScenarioCheckOnTheGatewaysOwnStatusIsRefused() throws Exception {
        String url = "http://127.0.0.1:" + gateway.gateway().port() + "/v1/status";

        assertRefused(
                nativeRegister("{\"service\":\"web\",\"id\":\"web-1\",\"address\":\"10.1.2.3\",\"port\":80,"
                        + "\"check\":{\"http\":\"" + url + "\",\"interval\":\"10s\"}}"),
                "check.http",
                "check-target",
                "web-1");
    }

    @Test
    void consulIssueScenarioCheckOnTheGatewaysOwnStatusIsRefused() throws Exception {
        String url = "http://127.0.0.1:" + gateway.gateway().port() + "/v1/status";

        assertRefused(
                consulRegister("{\"Name\":\"web\",\"ID\":\"web-1\",\"Address\":\"10.1.2.3\",\"Port\":80,"
                        + "\"Check\":{\"HTTP\":\"" + url + "\",\"Interval\":\"10s\"}}"),
                "Check.HTTP",
                "check-target",
                "web-1");
    }

    @Test
    void nativeCheckOnAnotherHostsAddressIsRefused() throws Exception {
        assertRefused(
                nativeRegister("{\"service\":\"web\",\"id\":\"web-2\",\"address\":\"10.1.2.3\",\"port\":80,"
                        + "\"check\":{\"tcp\":\"10.9.9.9:22\",\"interval\":\"10s\"}}"),
                "check.tcp",
                "check-target",
                "web-2");
    }

    @Test
    void consulGrpcCheckOnAnotherHostsAddressIsRefused() throws Exception {
        assertRefused(
                consulRegister("{\"Name\":\"web\",\"ID\":\"web-2\",\"Address\":\"10.1.2.3\",\"Port\":80,"
                        + "\"Checks\":[{\"TTL\":\"10s\"},{\"GRPC\":\"10.9.9.9:50051\",\"Interval\":\"10s\"}]}"),
                "Checks[1].GRPC",
                "check-target",
                "web-2");
    }

    @Test
    void nativeCloudMetadataAddressIsRefused() throws Exception {
        assertRefused(
                nativeRegister("{\"service\":\"web\",\"id\":\"web-3\",\"address\":\"10.1.2.3\",\"port\":80,"
                        + "\"check\":{\"http\":\"http://169.254.169.254/latest/meta-data/\",\"interval\":\"10s\"}}"),
                "check.http",
                "check-target",
                "web-3");
    }

    @Test
    void consulIpv6CloudMetadataAddressIsRefused() throws Exception {
        assertRefused(
                consulRegister("{\"Name\":\"web\",\"ID\":\"web-3\",\"Address\":\"10.1.2.3\",\"Port\":80,"
                        + "\"Check\":{\"HTTP\":\"http://[fd00:ec2::254]/latest/meta-data/\",\"Interval\":\"10s\"}}"),
                "Check.HTTP",
                "check-target",
                "web-3");
    }

    @Test
    void nativeIpv4MappedCloudMetadataAddressIsRefused() throws Exception {
        assertRefused(
                nativeRegister("{\"service\":\"web\",\"id\":\"web-4\",\"address\":\"10.1.2.3\",\"port\":80,"
                        + "\"check\":{\"http\":\"http://[::ffff:169.254.169.254]/\",\"interval\":\"10s\"}}"),
                "check.http",
                "check-target",
                "web-4");
    }

    @Test
    void nativeLinkLocalGrpcTargetIsRefused() throws Exception {
        assertRefused(
                nativeRegister("{\"service\":\"web\",\"id\":\"web-5\",\"address\":\"10.1.2.3\",\"port\":80,"
                        + "\"check\":{\"grpc\":\"[fe80::1]:50051\",\"interval\":\"10s\"}}"),
                "check.grpc",
                "check-target",
                "web-5");
    }

    @Test
    void consulLinkLocalTcpTargetIsRefused() throws Exception {
        assertRefused(
                consulRegister("{\"Name\":\"web\",\"ID\":\"web-5\",\"Address\":\"10.1.2.3\",\"Port\":80,"
                        + "\"Check\":{\"TCP\":\"169.254.10.10:22\",\"Interval\":\"10s\"}}"),
                "Check.TCP",
                "check-target",
                "web-5");
    }

    @Test
    void nativeUrlWithUserInformationIsRefused() throws Exception {
        assertRefused(
                nativeRegister("{\"service\":\"web\",\"id\":\"web-6\",\"address\":\"10.1.2.3\",\"port\":80,"
                        + "\"check\":{\"http\":\"http://10.1.2.3@127.0.0.1:8080/v1/status\",\"interval\":\"10s\"}}"),
                "check.http",
                "check-target",
                "web-6",
                "URL carries user information before its host");
    }

    @Test
    void nativeBatchWithOneForbiddenTargetRegistersNothing() throws Exception {
        assertRefused(
                nativeRegister(
                        "/v1/instances/batch",
                        "{\"instances\":[{\"service\":\"web\",\"id\":\"web-7\",\"address\":\"10.1.2.3\",\"port\":80},"
                                + "{\"service\":\"web\",\"id\":\"web-8\",\"address\":\"10.1.2.4\",\"port\":80,"
                                + "\"check\":{\"http\":\"http://169.254.169.254/\",\"interval\":\"10s\"}}]}"),
                "instances[1].check.http",
                "check-target",
                "web-7");
    }

    @Test
    void nativeInstanceAtACloudMetadataAddressIsRefused() throws Exception {
        assertRefused(
                nativeRegister("{\"service\":\"meta\",\"id\":\"meta-1\",\"address\":\"169.254.169.254\",\"port\":80}"),
                "address",
                "forbidden-address",
                "meta-1");
    }

    @Test
    void consulInstanceAtALinkLocalAddressIsRefused() throws Exception {
        assertRefused(
                consulRegister("{\"Name\":\"meta\",\"ID\":\"meta-2\",\"Address\":\"fe80::1\",\"Port\":80}"),
                "Address",
                "forbidden-address",
                "meta-2");
    }

    @Test
    void consulInstanceAtTheUnspecifiedAddressIsRefused() throws Exception {
        assertRefused(
                consulRegister("{\"Name\":\"any\",\"ID\":\"any-1\",\"Address\":\"0.0.0.0\",\"Port\":80}"),
                "Address",
                "forbidden-address",
                "any-1");
    }

    private static HttpResponse<String> nativeRegister(String body) {
        return nativeRegister("/v1/instances", body);
    }

    private static HttpResponse<String> nativeRegister(String path, String body) {
        return TestGateway.send("POST", gateway.api(path), body);
    }

    private static HttpResponse<String> consulRegister(String body) {
        return TestGateway.send("PUT", gateway.consul("/v1/agent/service/register"), body);
    }

    /**
     * A 400 naming {@code field} and {@code rule} whose message says what is allowed; the registry
     * unchanged (its index where it was before the request, the instance absent).
     */
    private static void assertRefused(HttpResponse<String> res, String field, String rule, String id) throws Exception {
        assertRefused(res, field, rule, id, rule.equals("check-target") ? ALLOWED : "never a service's address");
    }

    private static void assertRefused(HttpResponse<String> res, String field, String rule, String id, String says)
            throws Exception {
        assertEquals(400, res.statusCode(), res.body());
        JsonNode error = MAPPER.readTree(res.body());
        assertEquals(field, error.path("field").asText(), res.body());
        assertEquals(rule, error.path("rule").asText(), res.body());
        String message = error.path("error").asText();
        assertTrue(message.startsWith(field + ": "), message);
        assertTrue(message.contains(says), message);
        assertEquals(index, gateway.gateway().registry().index(), "the registry's index did not move");
        assertEquals(
                404,
                TestGateway.send("GET", gateway.api("/v1/instances/" + id), null)
                        .statusCode());
        assertEquals(
                "{}",
                TestGateway.send("GET", gateway.consul("/v1/agent/services"), null)
                        .body());
    }
}
