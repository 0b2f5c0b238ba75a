package io.edgegate.gateway.journal;

import java.nio.ByteOrder;
import java.util.Locale;

/** File names and layout constants of the on-disk format; see {@link Journal} for the format. */
final class JournalFormat {

    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    static final String LOCK_FILE = "journal.lock";
    /** The single log of the first format; recovery renames it into the first segment. */
    static final String LEGACY_LOG_FILE = "journal.log";

    static final String SNAPSHOT_FILE = "journal.snapshot";
    static final String TEMP_SUFFIX = ".tmp";

    /** A log segment is {@code journal-<base index, 20 decimal digits>.log}. */
    static final String SEGMENT_PREFIX = "journal-";

    static final String SEGMENT_SUFFIX = ".log";
    static final int SEGMENT_INDEX_DIGITS = 20;

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

    /** The file name of the segment whose records follow {@code baseIndex} (not negative). */
    static String segmentName(long baseIndex) {
        return String.format(
                Locale.ROOT, SEGMENT_PREFIX + "%0" + SEGMENT_INDEX_DIGITS + "d" + SEGMENT_SUFFIX, baseIndex);
    }

    /**
     * The base index a segment file name encodes, or {@code -1} if {@code name} is not a segment
     * name (twenty digits that overflow a {@code long} are not one either).
     */
    static long segmentBase(String name) {
        int digitsEnd = SEGMENT_PREFIX.length() + SEGMENT_INDEX_DIGITS;
        if (name.length() != digitsEnd + SEGMENT_SUFFIX.length()
                || !name.startsWith(SEGMENT_PREFIX)
                || !name.endsWith(SEGMENT_SUFFIX)) {
            return -1;
        }
        long base = 0;
        for (int i = SEGMENT_PREFIX.length(); i < digitsEnd; i++) {
            char c = name.charAt(i);
            if (c < '0' || c > '9' || base > (Long.MAX_VALUE - (c - '0')) / 10) {
                return -1;
            }
            base = base * 10 + (c - '0');
        }
        return base;
    }
}
