package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalFormat.CHECKSUM_OFFSET;
import static io.edgegate.gateway.journal.JournalFormat.INDEX_OFFSET;
import static io.edgegate.gateway.journal.JournalFormat.ORDER;
import static io.edgegate.gateway.journal.JournalFormat.RECORD_HEADER_LENGTH;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * One direct buffer that records are framed into and written from with one positional write.
 * Grows by doubling, never shrinks: after warm-up, framing a record allocates nothing. The buffer
 * is in write mode ({@code limit == capacity}) between calls. Not thread-safe.
 */
final class WriteBuffer {

    /** Bytes one batch may hold; more means the owner forgot to force. */
    static final int MAX_CAPACITY = 1 << 30;

    private final CRC32C checksum = new CRC32C();
    private ByteBuffer buffer;

    WriteBuffer(int initialCapacity) {
        buffer = ByteBuffer.allocateDirect(initialCapacity).order(ORDER);
    }

    /** The underlying buffer, valid until the next call that may grow it. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** Bytes framed so far. */
    int position() {
        return buffer.position();
    }

    /** Bytes that fit without growing. */
    int remaining() {
        return buffer.remaining();
    }

    void clear() {
        buffer.clear();
    }

    /** Makes room for {@code length} more bytes, copying what is framed into a larger buffer. */
    void ensureRemaining(int length) {
        if (buffer.remaining() >= length) {
            return;
        }
        long required = (long) buffer.position() + length;
        if (required > MAX_CAPACITY) {
            throw new IllegalStateException("journal batch too large, force more often: bufferedBytes="
                    + buffer.position() + ", recordLength=" + length + ", maxBatchBytes=" + MAX_CAPACITY);
        }
        long capacity = buffer.capacity();
        while (capacity < required) {
            capacity *= 2;
        }
        ByteBuffer grown = ByteBuffer.allocateDirect((int) Math.min(capacity, MAX_CAPACITY))
                .order(ORDER);
        buffer.flip();
        grown.put(buffer);
        buffer = grown;
    }

    /** Frames one record: {@code [int length][int CRC32C(index, payload)][long index][payload]}. */
    void putRecord(long index, byte[] payload) {
        ensureRemaining(RECORD_HEADER_LENGTH + payload.length);
        int start = buffer.position();
        buffer.putInt(payload.length).putInt(0).putLong(index).put(payload);
        buffer.putInt(start + CHECKSUM_OFFSET, checksum(start + INDEX_OFFSET, buffer.position()));
    }

    /** CRC32C of the framed bytes {@code [from, to)}; the position is left at {@code to}. */
    int checksum(int from, int to) {
        checksum.reset();
        update(checksum, from, to);
        return (int) checksum.getValue();
    }

    /** Feeds every framed byte into {@code crc}; the position stays where it was. */
    void updateChecksum(CRC32C crc) {
        update(crc, 0, buffer.position());
    }

    private void update(CRC32C crc, int from, int to) {
        // CRC32C reads a direct buffer in place between position and limit: no copy, no view.
        buffer.limit(to).position(from);
        crc.update(buffer);
        buffer.limit(buffer.capacity());
    }

    /**
     * Writes every framed byte at {@code filePosition}, looping on short writes (a regular file
     * takes the whole buffer in one {@code pwrite} in practice). Leaves the buffer cleared on
     * success and undefined on failure; the caller clears it either way.
     *
     * @return the bytes written
     */
    int writeTo(FileChannel channel, long filePosition) throws IOException {
        buffer.flip();
        int length = buffer.remaining();
        while (buffer.hasRemaining()) {
            channel.write(buffer, filePosition + buffer.position());
        }
        buffer.clear();
        return length;
    }
}
