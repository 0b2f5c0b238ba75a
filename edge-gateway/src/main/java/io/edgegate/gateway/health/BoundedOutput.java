package io.edgegate.gateway.health;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The first bytes of a probe's answer, up to a cap fixed at construction (one allocation); what
 * comes after is counted and dropped. Written by one thread (a body subscriber, a pipe reader)
 * and read by the prober once that writer is done or abandoned, hence synchronized.
 */
final class BoundedOutput {
    private final byte[] bytes;
    private int length;
    private long total;

    BoundedOutput(int maxBytes) {
        this.bytes = new byte[maxBytes];
    }

    synchronized void write(byte[] src, int offset, int count) {
        int kept = Math.min(count, bytes.length - length);
        System.arraycopy(src, offset, bytes, length, kept);
        length += kept;
        total += count;
    }

    synchronized void write(ByteBuffer src) {
        int count = src.remaining();
        int kept = Math.min(count, bytes.length - length);
        src.get(bytes, length, kept);
        src.position(src.position() + count - kept);
        length += kept;
        total += count;
    }

    /** Whether the cap is reached: further bytes would be dropped. */
    synchronized boolean full() {
        return length == bytes.length;
    }

    /**
     * Whether bytes were dropped, or may have been: more came than the cap, or the cap was reached
     * and the reader stopped before the end ({@code complete} false).
     */
    synchronized boolean truncated(boolean complete) {
        return length == bytes.length && (total > length || !complete);
    }

    /** Bytes seen, kept or not. */
    synchronized long total() {
        return total;
    }

    /** The kept bytes as UTF-8, without a character cut in half at the cap. */
    synchronized String text() {
        int end = total > length ? completeUtf8Length(bytes, length) : length;
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }

    /** {@code length}, less a trailing UTF-8 sequence that the cap cut short. */
    static int completeUtf8Length(byte[] b, int length) {
        int i = length - 1;
        int continuation = 0;
        while (i >= 0 && continuation < 3 && (b[i] & 0xC0) == 0x80) {
            i--;
            continuation++;
        }
        if (i < 0) {
            return length;
        }
        int lead = b[i] & 0xFF;
        int needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return length - i < needed ? i : length;
    }
}
