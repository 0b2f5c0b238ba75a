package io.edgegate.gateway.registry;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * JSON written straight into one growable byte array, for the journal's put payloads: the bytes
 * Jackson's generator writes for the same calls, at a fraction of the cost (no per-value state
 * check, no context objects). Structure is the caller's to get right: it appends what it is told,
 * separators included (constant pieces such as {@code ,"port":} are passed as pre-encoded bytes).
 *
 * <p>A string of printable ASCII with nothing to escape (ids, addresses, tags: nearly every
 * string) is copied byte for byte; any other string (a quote, a backslash, a control character,
 * anything outside ASCII) is written by a Jackson generator kept for that purpose, so escapes and
 * UTF-8 are Jackson's own, byte for byte.
 *
 * <p>Not thread-safe: each {@link InstanceCodec} has its own, used under the codec's lock.
 */
final class JsonBytes {
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};
    private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
    private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};

    private byte[] bytes = new byte[1_024];
    private int length;

    /** Where strings that need escaping or UTF-8 are written by Jackson; made on first need. */
    private ByteArrayOutputStream escapedOut;

    private JsonGenerator escaped;

    /** The pre-encoded bytes of an ASCII constant (a structural piece such as {@code ,"port":}). */
    static byte[] ascii(String constant) {
        return constant.getBytes(StandardCharsets.US_ASCII);
    }

    /** Starts over: empty, the capacity kept. */
    void reset() {
        length = 0;
    }

    int length() {
        return length;
    }

    /** The bytes written so far, copied into an array of their exact length. */
    byte[] toByteArray() {
        return Arrays.copyOf(bytes, length);
    }

    void raw(byte b) {
        ensure(1);
        bytes[length++] = b;
    }

    void raw(byte[] piece) {
        ensure(piece.length);
        System.arraycopy(piece, 0, bytes, length, piece.length);
        length += piece.length;
    }

    /** A string value (or {@code null}), quoted and escaped as Jackson writes it. */
    void string(String value) throws IOException {
        if (value == null) {
            raw(NULL);
            return;
        }
        int n = value.length();
        ensure(n + 2);
        int at = length;
        byte[] b = bytes;
        b[at++] = '"';
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
                escapedString(value);
                return;
            }
            b[at++] = (byte) c;
        }
        b[at++] = '"';
        length = at;
    }

    /** A string Jackson must write (escapes, UTF-8): through its generator, then copied. */
    private void escapedString(String value) throws IOException {
        if (escaped == null) {
            escapedOut = new ByteArrayOutputStream(256);
            escaped = new JsonFactory().createGenerator(escapedOut);
            escaped.setRootValueSeparator(null);
        }
        escapedOut.reset();
        try {
            escaped.writeString(value);
            escaped.flush();
        } catch (IOException | RuntimeException e) {
            // A generator that failed mid-value is in no state to write the next one.
            escaped = null;
            throw e;
        }
        byte[] encoded = escapedOut.toByteArray();
        raw(encoded);
    }

    /** A number in decimal, as Jackson writes an int or a long. */
    void number(long value) {
        if (value >= 0 && value < 10) {
            raw((byte) ('0' + value));
            return;
        }
        ensure(20);
        if (value == Long.MIN_VALUE) {
            raw(ascii(Long.toString(value)));
            return;
        }
        if (value < 0) {
            bytes[length++] = '-';
            value = -value;
        }
        int digits = 1;
        for (long v = value / 10; v != 0; v /= 10) {
            digits++;
        }
        int end = length + digits;
        for (int at = end - 1; at >= length; at--) {
            bytes[at] = (byte) ('0' + value % 10);
            value /= 10;
        }
        length = end;
    }

    void bool(boolean value) {
        raw(value ? TRUE : FALSE);
    }

    private void ensure(int more) {
        if (length + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(2 * bytes.length, length + more));
        }
    }
}
