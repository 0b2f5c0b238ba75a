package io.edgegate.gateway.journal;

import java.nio.ByteOrder;

/** File names and layout constants of the on-disk format; see {@link Journal} for the format. */
final class JournalFormat {

    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    static final String LOCK_FILE = "journal.lock";
    static final String LOG_FILE = "journal.log";
    static final String SNAPSHOT_FILE = "journal.snapshot";
    static final String TEMP_SUFFIX = ".tmp";

    /** The bytes {@code E G J L} read as a little-endian int. */
    static final int LOG_MAGIC = 0x4C4A4745;
    /** The bytes {@code E G S N} read as a little-endian int. */
    static final int SNAPSHOT_MAGIC = 0x4E534745;
    /** The bytes {@code E G S E} read as a little-endian int. */
    static final int SNAPSHOT_END_MAGIC = 0x45534745;

    static final int VERSION = 1;

    /** magic, version, base index, CRC32C of the 16 bytes before it. */
    static final int LOG_HEADER_LENGTH = 4 + 4 + 8 + 4;
    /** magic, version, snapshot index, entry count, CRC32C of the 24 bytes before it. */
    static final int SNAPSHOT_HEADER_LENGTH = 4 + 4 + 8 + 8 + 4;
    /** end magic, CRC32C of every entry record byte. */
    static final int SNAPSHOT_TRAILER_LENGTH = 4 + 4;

    /** length, CRC32C, index; the payload follows. */
    static final int RECORD_HEADER_LENGTH = 4 + 4 + 8;

    static final int CHECKSUM_OFFSET = 4;
    static final int INDEX_OFFSET = 8;

    /** A record announcing a longer payload is corrupt, not merely large. */
    static final int MAX_PAYLOAD_LENGTH = 64 << 20;

    private JournalFormat() {}
}
