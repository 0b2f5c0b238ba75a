package io.edgegate.gateway.api;

import static io.edgegate.gateway.api.NativeRegistrationFuzzTest.assertRefusal;
import static io.edgegate.gateway.api.NativeRegistrationFuzzTest.refusedOr;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.registry.InstanceSpec;

/**
 * Fuzz target of the Consul API's registration decoder: the bytes of a
 * {@code PUT /v1/agent/service/register} body, parsed by {@link Json} and decoded by
 * {@link ConsulRegistrationAdapter}. The seeds in {@code ConsulRegistrationFuzzTestInputs} are
 * plain JSON bodies, as Consul's clients write them.
 *
 * <p>Contract checked on every input: the only refusal is an {@link ApiException} with a 4xx
 * status; a registration that is accepted keeps every limit and, since both APIs share one
 * validator, the same registration sent to the native API (as its native body, every field
 * explicit) is accepted there as the same instance. Consul accepts port 0, the native API does
 * not: such a registration is only checked against the limits. The bytes decoded as the API
 * decodes them (streamed where {@link ConsulRegistrationReader} can) give the tree decoder's
 * registration or refusal.
 */
class ConsulRegistrationFuzzTest {
    private static final Limits LIMITS = Limits.defaults();
    /** Exec checks enabled: the decoder's every path is reachable. */
    private static final InstanceValidator VALIDATOR = new InstanceValidator(LIMITS, true);

    private final ConsulRegistrationAdapter consul = new ConsulRegistrationAdapter(
            new ApiSettings("node-1", "plant-a", "10.0.0.2", VALIDATOR, 300_000, 600_000, null));
    private final NativeRegistrationAdapter nativeApi = new NativeRegistrationAdapter(VALIDATOR);

    @FuzzTest
    @DictionaryEntries({
        "\"Name\":",
        "\"ID\":",
        "\"Kind\":",
        "\"Address\":",
        "\"Port\":",
        "\"Tags\":",
        "\"Meta\":",
        "\"EnableTagOverride\":",
        "\"enable_tag_override\":",
        "\"TaggedAddresses\":",
        "\"Weights\":",
        "\"Passing\":",
        "\"Warning\":",
        "\"Check\":",
        "\"Checks\":",
        "\"CheckID\":",
        "\"check_id\":",
        "\"HTTP\":",
        "\"TCP\":",
        "\"GRPC\":",
        "\"GRPCUseTLS\":",
        "\"TTL\":",
        "\"Args\":",
        "\"ScriptArgs\":",
        "\"Interval\":",
        "\"Timeout\":",
        "\"Method\":",
        "\"Header\":",
        "\"DeregisterCriticalServiceAfter\":",
        "\"deregister_critical_service_after\":",
        "\"Status\":",
        "\"SuccessBeforePassing\":",
        "\"FailuresBeforeWarning\":",
        "\"FailuresBeforeCritical\":",
        "\"TLSSkipVerify\":",
        "\"Notes\":",
        "\"DockerContainerID\":",
        "\"AliasService\":",
        "\"http://127.0.0.1:9000/health\"",
        "\"10.0.0.5:7000\"",
        "\"10s\"",
        "\"1m30s\"",
        "\"500ms\"",
        "10000000000"
    })
    void registrationBodyIsDecodedOrRefusedWith4xx(byte[] body) {
        assertEquals(
                NativeRegistrationReaderTest.outcome(() -> consul.instance(Json.parse(body))),
                NativeRegistrationReaderTest.outcome(() -> consul.instance(body)),
                "streamed registration");
        JsonNode node;
        try {
            node = Json.parse(body);
        } catch (ApiException e) {
            assertRefusal(e);
            return;
        }
        InstanceSpec spec = refusedOr(() -> consul.instance(node));
        if (spec == null) {
            return;
        }
        RegistrationBodies.assertWithinLimits(spec, LIMITS);
        if (spec.port() > 0) {
            JsonNode asNative = RegistrationBodies.nativeBody(spec);
            assertEquals(
                    spec, nativeApi.instance(asNative), () -> "the native API decodes it differently: " + asNative);
        }
    }
}
