package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.api.ApiException;
import io.edgegate.gateway.api.CheckInput;
import io.edgegate.gateway.api.InstanceValidator;
import io.edgegate.gateway.api.Limits;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The gRPC and exec check kinds at the API boundary: what the shared validator makes of them,
 * with exec checks enabled or not. (The refusals, field by field, are rows of the two APIs'
 * bad-input tables.)
 */
class CheckKindValidationTest {
    /** The address of the instance the checks belong to: the one their targets name. */
    private static final String INSTANCE_ADDRESS = "10.0.0.1";

    private final InstanceValidator enabled = new InstanceValidator(Limits.defaults(), true);
    private final InstanceValidator disabled = new InstanceValidator(Limits.defaults(), false);

    @Test
    void grpcCheckKeepsTargetServiceAndTls() {
        CheckSpec spec = enabled.check(grpc("10.0.0.1:9000/llm.Infer", true), "service:llm-1", INSTANCE_ADDRESS);

        assertEquals(CheckKind.GRPC, spec.kind());
        assertEquals("10.0.0.1:9000/llm.Infer", spec.target());
        assertTrue(spec.grpcUseTls());
        assertEquals(10_000, spec.intervalMillis());
    }

    @Test
    void execCheckIsAcceptedWhenEnabled() {
        CheckSpec spec =
                enabled.check(exec(List.of("/usr/bin/check-gpu", "--quick")), "service:llm-1", INSTANCE_ADDRESS);

        assertEquals(CheckKind.EXEC, spec.kind());
        assertEquals(List.of("/usr/bin/check-gpu", "--quick"), spec.args());
        assertEquals("", spec.target());
    }

    @Test
    void execCheckIsRefusedWhenDisabledNamingTheConfigKey() {
        ApiException e = assertThrows(
                ApiException.class,
                () -> disabled.check(exec(List.of("/usr/bin/check-gpu")), "service:llm-1", INSTANCE_ADDRESS));

        assertEquals(400, e.status());
        assertEquals("check.args", e.field());
        assertEquals("exec-disabled", e.rule());
        assertTrue(e.getMessage().contains("edgegate.health.enable-exec-checks"), e.getMessage());
    }

    @Test
    void emptyArgsAreRefusedAsEmptyEvenWhenExecIsDisabled() {
        ApiException e = assertThrows(
                ApiException.class, () -> disabled.check(exec(List.of()), "service:llm-1", INSTANCE_ADDRESS));

        assertEquals("check.args", e.field());
        assertEquals("non-empty", e.rule());
    }

    @Test
    void grpcTargetWithoutPortIsRefused() {
        ApiException e = assertThrows(
                ApiException.class,
                () -> enabled.check(grpc("10.0.0.1/llm", false), "service:llm-1", INSTANCE_ADDRESS));

        assertEquals("check.grpc", e.field());
        assertEquals("host-port", e.rule());
    }

    @Test
    void notesAreKept() {
        CheckSpec spec = enabled.check(
                CheckInput.builder("check").ttl("10s").notes("GPU memory probe").build(),
                "service:llm-1",
                INSTANCE_ADDRESS);

        assertEquals("GPU memory probe", spec.notes());
    }

    @Test
    void stillUnsupportedKindsAreRefusedByName() {
        ApiException e = assertThrows(
                ApiException.class,
                () -> enabled.check(
                        CheckInput.builder("check")
                                .interval("10s")
                                .unsupportedKind("docker-container-id")
                                .build(),
                        "service:llm-1",
                        INSTANCE_ADDRESS));

        assertEquals("check.docker-container-id", e.field());
        assertEquals("check-kind", e.rule());
    }

    private static CheckInput grpc(String target, boolean tls) {
        return CheckInput.builder("check")
                .interval("10s")
                .grpc(target)
                .grpcUseTls(tls)
                .build();
    }

    private static CheckInput exec(List<String> args) {
        return CheckInput.builder("check").interval("10s").args(args).build();
    }
}
