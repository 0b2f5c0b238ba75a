package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.acl.AclFile;
import io.edgegate.gateway.GatewayConfig;
import io.edgegate.gateway.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a gateway does about access with its defaults, and the explicit opt-out. */
class AclDefaultsTest {
    private static final String REGISTRATION =
            "{\"service\":\"llm-infer\",\"id\":\"rogue\",\"address\":\"10.0.0.9\",\"port\":80}";

    @TempDir
    Path dir;

    @Test
    void defaultsDenyAnonymousWritesAndMakeAPrivateManagementToken() throws Exception {
        try (TestGateway gateway = TestGateway.start(dir)) {
            Path token = dir.resolve(GatewayConfig.MANAGEMENT_TOKEN_FILE);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(token)));
            assertEquals(
                    403,
                    TestGateway.sendAs(null, "POST", gateway.api("/v1/instances"), REGISTRATION)
                            .statusCode());
            assertEquals(
                    403,
                    TestGateway.sendAs(
                                    null,
                                    "PUT",
                                    gateway.api("/v1/routes/all"),
                                    "{\"match\":{\"path-prefix\":\"/\"},\"service\":\"llm-infer\"}")
                            .statusCode());
            assertEquals(0, gateway.gateway().registry().instanceCount());
            String secret = Files.readString(token).strip();
            assertEquals(
                    200,
                    TestGateway.sendAs(secret, "POST", gateway.api("/v1/instances"), REGISTRATION)
                            .statusCode());
        }
    }

    @Test
    void probesAndTheApiDescriptionNeedNoToken() {
        try (TestGateway gateway = TestGateway.start(dir)) {
            assertEquals(
                    200,
                    TestGateway.sendAs(null, "GET", gateway.api("/livez"), null).statusCode());
            assertEquals(
                    200,
                    TestGateway.sendAs(null, "GET", gateway.api("/readyz"), null)
                            .statusCode());
            assertEquals(
                    200,
                    TestGateway.sendAs(null, "GET", gateway.api("/v1/openapi"), null)
                            .statusCode());
            assertEquals(
                    200,
                    TestGateway.sendAs(null, "GET", gateway.consul("/v1/status/leader"), null)
                            .statusCode());
        }
    }

    @Test
    void allowPolicyIsTheExplicitOptOut() {
        try (TestGateway gateway = TestGateway.start(dir, Map.of("EDGEGATE_ACL_DEFAULT_POLICY", "allow"))) {
            assertEquals(
                    200,
                    TestGateway.sendAs(null, "POST", gateway.api("/v1/instances"), REGISTRATION)
                            .statusCode());
        }
    }

    @Test
    void badTokenFileStopsTheStartNamingTheMistake() throws Exception {
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, "tokens: [{secret: too-short, policies: [global-management]}]");
        AclFile.AclFileException e = assertThrows(
                AclFile.AclFileException.class,
                () -> TestGateway.start(dir.resolve("data"), Map.of("EDGEGATE_ACL_TOKENS_FILE", file.toString())));
        assertTrue(e.getMessage().contains("tokens[0].secret is shorter than 16"), e.getMessage());
    }

    @Test
    void unknownPolicyValueStopsTheStart() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_ACL_DEFAULT_POLICY", "open"), (Path) null));
        assertTrue(e.getMessage().contains("edgegate.acl.default-policy=open (deny or allow)"), e.getMessage());
    }
}
