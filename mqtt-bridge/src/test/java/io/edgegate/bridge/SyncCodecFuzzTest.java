package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzz target of the sync protocol's decoder: whatever topic and payload a broker delivers, from
 * a misbehaving node or anyone who can publish. The input is the topic in UTF-8, a line feed, then
 * the payload (so the seeds in {@code SyncCodecFuzzTestInputs} read as text); an input without a
 * line feed is a topic with an empty payload.
 *
 * <p>Contract checked on every input: {@link SyncCodec#decode} never throws and never refuses
 * with {@code internal} (its catch-all for an exception it did not expect); what it accepts, it
 * encodes again, and the encoding decodes on the same topic to the same message.
 *
 */
class SyncCodecFuzzTest {

    @FuzzTest(maxDuration = "10s")
    @DictionaryEntries({
        "edgegate/v1/",
        "/instances/",
        "/status",
        "/digest",
        "/cmd/resync",
        "/config/",
        "\"v\":1",
        "\"type\":",
        "\"instance\"",
        "\"status\"",
        "\"digest\"",
        "\"resync\"",
        "\"config\"",
        "\"service\":",
        "\"id\":",
        "\"address\":",
        "\"port\":",
        "\"tags\":",
        "\"meta\":",
        "\"health\":",
        "\"passing\"",
        "\"epoch\":",
        "\"index\":",
        "\"ts\":",
        "\"state\":",
        "\"online\"",
        "\"session\":",
        "\"since\":",
        "\"count\":",
        "\"hash\":",
        "\"kind\":",
        "\"name\":",
        "\"version\":",
        "\"body\":",
        "\"reason\":",
        "\"fromIndex\":"
    })
    void decodeRefusesWithAReasonOrRoundTrips(byte[] input) {
        int newline = indexOf(input, (byte) '\n');
        String topic = new String(input, 0, newline < 0 ? input.length : newline, StandardCharsets.UTF_8);
        byte[] payload = newline < 0 ? new byte[0] : Arrays.copyOfRange(input, newline + 1, input.length);

        Decoded decoded = SyncCodec.decode(topic, payload);

        switch (decoded) {
            case Decoded.Rejected r -> assertNotEquals("internal", r.reason(), () -> "unexpected failure: " + r);
            case Decoded.Accepted a -> {
                byte[] encoded = SyncCodec.encode(a.message());
                Decoded again = SyncCodec.decode(topic, encoded);
                Decoded.Accepted b = assertInstanceOf(
                        Decoded.Accepted.class,
                        again,
                        () -> "re-encoded " + a.message() + " as " + new String(encoded, StandardCharsets.UTF_8));
                assertEquals(a, b, "decode(encode(decode(x))) differs from decode(x)");
            }
        }
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
