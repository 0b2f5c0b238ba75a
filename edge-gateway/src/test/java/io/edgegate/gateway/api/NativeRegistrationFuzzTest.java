package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.List;
import java.util.function.Supplier;

/**
 * Fuzz target of the native API's registration decoder: the bytes of a request body, parsed by
 * {@link Json} as {@code POST /v1/instances} reads it, then decoded by
 * {@link NativeRegistrationAdapter} both as one registration and as a batch
 * ({@code POST /v1/instances/batch}). The seeds in {@code NativeRegistrationFuzzTestInputs} are
 * plain JSON bodies.
 *
 * <p>Contract checked on every input: the only refusal is an {@link ApiException} with a 4xx
 * status; a registration that is accepted keeps every limit, and its own native body (every field
 * explicit) decodes to the same registration; an accepted batch is the entries each decoded
 * alone, at most {@code max-batch} of them; the bytes decoded as the API decodes them (streamed
 * where {@link NativeRegistrationReader} can) give the tree decoder's registration or refusal.
 */
class NativeRegistrationFuzzTest {
    private static final Limits LIMITS = Limits.defaults();
    /** Exec checks enabled: the decoder's every path is reachable. */
    private final NativeRegistrationAdapter adapter =
            new NativeRegistrationAdapter(new InstanceValidator(LIMITS, true));

    @FuzzTest
    @DictionaryEntries({
        "\"service\":",
        "\"id\":",
        "\"address\":",
        "\"port\":",
        "\"tags\":",
        "\"meta\":",
        "\"weights\":",
        "\"passing\":",
        "\"warning\":",
        "\"check\":",
        "\"checks\":",
        "\"instances\":",
        "\"http\":",
        "\"tcp\":",
        "\"grpc\":",
        "\"ttl\":",
        "\"args\":",
        "\"interval\":",
        "\"timeout\":",
        "\"method\":",
        "\"headers\":",
        "\"deregister-critical-after\":",
        "\"deregisterCriticalAfter\":",
        "\"status\":",
        "\"success-before-passing\":",
        "\"failures-before-warning\":",
        "\"failures-before-critical\":",
        "\"tls-skip-verify\":",
        "\"grpc-use-tls\":",
        "\"notes\":",
        "\"script\":",
        "\"http://127.0.0.1:9000/health\"",
        "\"10.0.0.5:7000\"",
        "\"10s\"",
        "\"1m30s\"",
        "\"500ms\"",
        "\"1.5h\""
    })
    void registrationBodyIsDecodedOrRefusedWith4xx(byte[] body) {
        assertEquals(
                NativeRegistrationReaderTest.outcome(() -> adapter.instance(Json.parse(body))),
                NativeRegistrationReaderTest.outcome(() -> adapter.instance(body)),
                "streamed registration");
        assertEquals(
                NativeRegistrationReaderTest.outcome(() -> adapter.batch(Json.parse(body))),
                NativeRegistrationReaderTest.outcome(() -> adapter.batch(body)),
                "streamed batch");
        JsonNode node;
        try {
            node = Json.parse(body);
        } catch (ApiException e) {
            assertRefusal(e);
            return;
        }
        InstanceSpec single = refusedOr(() -> adapter.instance(node));
        if (single != null) {
            RegistrationBodies.assertWithinLimits(single, LIMITS);
            JsonNode again = RegistrationBodies.nativeBody(single);
            assertEquals(single, adapter.instance(again), () -> "its own body decodes differently: " + again);
        }
        List<InstanceSpec> batch = refusedOr(() -> adapter.batch(node));
        if (batch != null) {
            assertTrue(!batch.isEmpty() && batch.size() <= LIMITS.maxBatch(), () -> "batch size " + batch.size());
            for (int i = 0; i < batch.size(); i++) {
                assertEquals(adapter.instance(node.get("instances").get(i)), batch.get(i), "instances[" + i + "]");
            }
        }
    }

    /** The decoded value, or null when it is refused the documented way: an {@link ApiException} with a 4xx. */
    static <T> T refusedOr(Supplier<T> decode) {
        try {
            return decode.get();
        } catch (ApiException e) {
            assertRefusal(e);
            return null;
        }
    }

    /** A refusal as the APIs answer it: a 4xx naming the field. */
    static void assertRefusal(ApiException e) {
        assertTrue(e.status() >= 400 && e.status() < 500, () -> "refused with " + e.status() + ": " + e);
        assertTrue(e.field() != null && e.getMessage() != null, () -> "refusal names no field: " + e);
    }
}
