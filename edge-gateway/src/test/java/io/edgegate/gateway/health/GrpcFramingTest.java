package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The hand-made protobuf of the gRPC health service, and the bounded output of probes. */
class GrpcFramingTest {
    @Test
    void requestForTheWholeServerIsAnEmptyMessage() {
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0}, GrpcProber.requestFrame(""));
    }

    @Test
    void requestCarriesTheServiceAsFieldOne() {
        assertArrayEquals(new byte[] {0, 0, 0, 0, 5, 0x0A, 3, 'l', 'l', 'm'}, GrpcProber.requestFrame("llm"));
    }

    @Test
    void requestWithALongServiceUsesATwoByteLength() {
        byte[] frame = GrpcProber.requestFrame("s".repeat(200));

        assertEquals(5 + 1 + 2 + 200, frame.length);
        assertArrayEquals(
                new byte[] {0, 0, 0, 0, (byte) 203, 0x0A, (byte) 0xC8, 0x01}, java.util.Arrays.copyOf(frame, 8));
    }

    @Test
    void responseStatusIsFieldOne() {
        assertEquals(1, GrpcProber.servingStatus(new byte[] {0, 0, 0, 0, 2, 0x08, 0x01}));
        assertEquals(2, GrpcProber.servingStatus(new byte[] {0, 0, 0, 0, 2, 0x08, 0x02}));
    }

    @Test
    void responseWithoutStatusIsUnknown() {
        assertEquals(0, GrpcProber.servingStatus(new byte[] {0, 0, 0, 0, 0}));
    }

    @Test
    void responseFieldsOtherThanStatusAreSkipped() {
        byte[] body = {0, 0, 0, 0, 6, 0x12, 0x02, 'x', 'y', 0x08, 0x01};

        assertEquals(1, GrpcProber.servingStatus(body));
    }

    @Test
    void malformedResponsesAreRefused() {
        assertEquals(-1, GrpcProber.servingStatus(new byte[] {0, 0, 0}), "shorter than the prefix");
        assertEquals(-1, GrpcProber.servingStatus(new byte[] {1, 0, 0, 0, 2, 0x08, 0x01}), "compressed");
        assertEquals(-1, GrpcProber.servingStatus(new byte[] {0, 0, 0, 0, 3, 0x08, 0x01}), "length mismatch");
        assertEquals(-1, GrpcProber.servingStatus(new byte[] {0, 0, 0, 0, 2, 0x08, (byte) 0x81}), "truncated varint");
        assertEquals(-1, GrpcProber.servingStatus(new byte[] {0, 0, 0, 0, 2, 0x12, 0x05}), "field past the end");
    }

    @Test
    void grpcMessageIsPercentDecoded() {
        assertEquals("unknown service llm", GrpcProber.percentDecode("unknown%20service%20llm"));
        assertEquals("100%", GrpcProber.percentDecode("100%"));
    }

    @Test
    void outputKeepsFirstBytesWithoutCuttingACharacter() {
        BoundedOutput output = new BoundedOutput(5);
        byte[] text = "ééé".getBytes(StandardCharsets.UTF_8);

        output.write(text, 0, text.length);

        assertEquals("éé", output.text(), "the third é would be cut after its first byte");
        assertEquals(6, output.total());
    }
}
