package io.edgegate.bridge;

/**
 * Cloud-sync asks a node to publish its state again ({@code .../cmd/resync}, not retained): every
 * instance with an index above {@code fromIndex} (0: all), the removal of retained instances it no
 * longer has, and a fresh digest.
 *
 * @param reason why, for logs (e.g. {@code digest-mismatch})
 * @param fromIndex publish instances changed after this index; 0 for all
 * @param timestamp epoch milliseconds of the request
 */
public record ResyncCommand(String reason, long fromIndex, long timestamp) implements SyncMessage {
    public ResyncCommand {
        reason = reason == null ? "" : reason;
    }
}
