package io.edgegate.gateway.journal;

import java.util.List;

/**
 * What {@link Journal#recover()} read back: the snapshot, then the log records after it, in index
 * order. Apply the snapshot entries first, then every record.
 *
 * @param snapshotIndex the index the snapshot was taken at, {@code 0} when there is none
 * @param snapshotEntries the snapshot's entries, in the order given to {@link Compaction#write}
 * @param records the valid log records with an index above {@code snapshotIndex}, ascending,
 *     from every segment
 * @param tornBytesCut bytes of torn or corrupt log tail removed from the file, {@code 0} after a
 *     clean shutdown
 */
public record Recovery(long snapshotIndex, List<byte[]> snapshotEntries, List<Record> records, long tornBytesCut) {

    /** Makes both lists unmodifiable. */
    public Recovery {
        snapshotEntries = List.copyOf(snapshotEntries);
        records = List.copyOf(records);
    }

    /** The highest index recovered: the last record's, else the snapshot's, else {@code 0}. */
    public long lastIndex() {
        return records.isEmpty()
                ? snapshotIndex
                : records.get(records.size() - 1).index();
    }
}
