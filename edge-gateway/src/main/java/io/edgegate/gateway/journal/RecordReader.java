package io.edgegate.gateway.journal;

import static io.edgegate.gateway.journal.JournalFormat.MAX_PAYLOAD_LENGTH;
import static io.edgegate.gateway.journal.JournalFormat.ORDER;
import static io.edgegate.gateway.journal.JournalFormat.RECORD_HEADER_LENGTH;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads a journal file front to back through one refilled direct buffer, so memory stays bounded
 * by the buffer plus the payloads handed out, whatever the file size. Decodes record frames and
 * classifies what ends them; the caller decides whether an ending is a tail to cut (log) or a
 * hard error (snapshot). Not thread-safe; used only during recovery.
 */
final class RecordReader {

    /** {@link #next()} read a whole, valid record. */
    static final int RECORD = 0;
    /** {@link #next()} found the end of the file exactly on a record boundary. */
    static final int END = 1;
    /** The file ends inside the record: a write cut short by a crash. */
    static final int TORN = 2;
    /** The length field is negative or above {@link JournalFormat#MAX_PAYLOAD_LENGTH}. */
    static final int BAD_LENGTH = 3;
    /** The record's bytes do not match its CRC32C. */
    static final int BAD_CHECKSUM = 4;

    private static final int BUFFER_CAPACITY = 64 * 1024;

    private final FileChannel channel;
    private final long size;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_CAPACITY).order(ORDER);
    private final CRC32C recordChecksum = new CRC32C();
    private final CRC32C streamChecksum = new CRC32C();

    /** File position of {@code buffer} index 0; the buffer stays in read mode between calls. */
    private long bufferStart;

    private boolean streaming;
    private int streamMark;

    private long recordStart;
    private int payloadLength;
    private long index;
    private byte[] payload;

    /** Reads {@code channel} from position 0 up to {@code size}, its length when opened. */
    RecordReader(FileChannel channel, long size) {
        this.channel = channel;
        this.size = size;
        buffer.limit(0);
    }

    /** Names an outcome of {@link #next()} for error messages. */
    static String describe(int outcome) {
        return switch (outcome) {
            case RECORD -> "record";
            case END -> "end of file";
            case TORN -> "torn record";
            case BAD_LENGTH -> "impossible record length";
            case BAD_CHECKSUM -> "record checksum mismatch";
            default -> "unknown outcome " + outcome;
        };
    }

    /** File position of the next unread byte. */
    long position() {
        return bufferStart + buffer.position();
    }

    /** Bytes of the file not read yet. */
    long remaining() {
        return size - position();
    }

    /** Makes the next {@code length} bytes readable from {@link #buffer()}; they must exist. */
    void require(int length) throws IOException {
        if (buffer.remaining() >= length) {
            return;
        }
        if (length > buffer.capacity() || remaining() < length) {
            throw new EOFException("journal file shorter than expected: position=" + position() + ", required=" + length
                    + ", size=" + size);
        }
        if (streaming) {
            updateStream();
            streamMark = 0;
        }
        bufferStart += buffer.position();
        buffer.compact();
        while (buffer.position() < length) {
            if (channel.read(buffer, bufferStart + buffer.position()) < 0) {
                throw new EOFException("journal file shrank while being read: position="
                        + (bufferStart + buffer.position()) + ", size=" + size);
            }
        }
        buffer.flip();
    }

    /** The read buffer, positioned at the next unread byte; valid until the next call. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** CRC32C of the next {@code length} readable bytes, without consuming them. */
    int peekChecksum(int length) {
        int position = buffer.position();
        int limit = buffer.limit();
        recordChecksum.reset();
        buffer.limit(position + length);
        recordChecksum.update(buffer);
        buffer.limit(limit).position(position);
        return (int) recordChecksum.getValue();
    }

    /** Starts a CRC32C over every byte consumed from here until {@link #endStreamChecksum()}. */
    void startStreamChecksum() {
        streamChecksum.reset();
        streaming = true;
        streamMark = buffer.position();
    }

    /** Ends the running checksum started by {@link #startStreamChecksum()} and returns it. */
    int endStreamChecksum() {
        updateStream();
        streaming = false;
        return (int) streamChecksum.getValue();
    }

    private void updateStream() {
        int position = buffer.position();
        int limit = buffer.limit();
        buffer.limit(position).position(streamMark);
        streamChecksum.update(buffer);
        buffer.limit(limit);
        streamMark = position;
    }

    /**
     * Reads the next record frame.
     *
     * @return {@link #RECORD} with {@link #index()} and {@link #payload()} set, or what ended the
     *     records; after anything but {@code RECORD} the reader's position is undefined and
     *     {@link #recordStart()} is where the valid data ends
     */
    int next() throws IOException {
        recordStart = position();
        payload = null;
        long left = remaining();
        if (left == 0) {
            return END;
        }
        if (left < RECORD_HEADER_LENGTH) {
            return TORN;
        }
        require(RECORD_HEADER_LENGTH);
        payloadLength = buffer.getInt();
        int stored = buffer.getInt();
        if (payloadLength < 0 || payloadLength > MAX_PAYLOAD_LENGTH) {
            return BAD_LENGTH;
        }
        if (left - RECORD_HEADER_LENGTH < payloadLength) {
            // Checked before allocating: a garbage length never costs a 64 MiB array.
            return TORN;
        }
        recordChecksum.reset();
        int indexAt = buffer.position();
        index = buffer.getLong(indexAt);
        int limit = buffer.limit();
        buffer.limit(indexAt + Long.BYTES);
        recordChecksum.update(buffer); // consumes the index bytes
        buffer.limit(limit);
        byte[] bytes = new byte[payloadLength];
        readFully(bytes);
        if ((int) recordChecksum.getValue() != stored) {
            return BAD_CHECKSUM;
        }
        payload = bytes;
        return RECORD;
    }

    /** Copies the next {@code into.length} bytes, feeding them to the record checksum. */
    private void readFully(byte[] into) throws IOException {
        int offset = 0;
        while (offset < into.length) {
            if (!buffer.hasRemaining()) {
                require(Math.min(into.length - offset, buffer.capacity()));
            }
            int chunk = Math.min(into.length - offset, buffer.remaining());
            buffer.get(into, offset, chunk);
            recordChecksum.update(into, offset, chunk);
            offset += chunk;
        }
    }

    /** File position where the record last returned by {@link #next()} starts. */
    long recordStart() {
        return recordStart;
    }

    /** Index of the record last returned by {@link #next()}. */
    long index() {
        return index;
    }

    /** Payload of the record last returned by {@link #next()}; a fresh array per record. */
    byte[] payload() {
        return payload;
    }

    /** Payload length announced by the record last returned by {@link #next()}. */
    int payloadLength() {
        return payloadLength;
    }
}
