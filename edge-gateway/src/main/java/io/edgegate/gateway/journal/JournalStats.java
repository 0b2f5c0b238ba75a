package io.edgegate.gateway.journal;

/**
 * Counters of one open {@link Journal}, since it was opened.
 *
 * @param recordsAppended records made durable by a successful {@link Journal#force()}
 * @param forces successful forces that wrote at least one record (group commits)
 * @param bytesWritten bytes made durable in log segments and snapshot files, headers included
 * @param tornBytesCut bytes of torn or corrupt log tail cut at recovery
 * @param compactions snapshots taken successfully
 * @param failedForces forces that failed; their batches were dropped
 * @param failedCompactions compactions that failed, including rollovers that failed and
 *     compactions {@linkplain Compaction#abandon() abandoned} or cut short by close
 */
public record JournalStats(
        long recordsAppended,
        long forces,
        long bytesWritten,
        long tornBytesCut,
        long compactions,
        long failedForces,
        long failedCompactions) {}
