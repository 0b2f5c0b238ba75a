package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** How the proxy reads the size line of a chunk in an upstream's chunked answer. */
class ChunkSizeTest {

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "0|0",
                "5|5",
                "1a|26",
                "1A|26",
                "00ff|255",
                "5;ext=1|5",
                "5;name=\"quoted;value\"|5",
                "5 ;ext|5",
                "5\t|5",
                "fffffffffffffff|1152921504606846975"
            })
    void chunkSizeIsItsHexDigitsBeforeAnyExtension(String line, long size) throws UpstreamProtocolException {
        assertEquals(size, UpstreamConnection.chunkSize(line));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "3\r", // a stray carriage return before the line's end
                "3\u000b",
                " 3",
                "+3",
                "-0",
                "0x3",
                "3 4",
                "",
                ";ext",
                "0000000000000005" // sixteen digits
            })
    void chunkSizeWithAnythingButHexDigitsIsAProtocolError(String line) {
        assertThrows(UpstreamProtocolException.class, () -> UpstreamConnection.chunkSize(line));
    }
}
