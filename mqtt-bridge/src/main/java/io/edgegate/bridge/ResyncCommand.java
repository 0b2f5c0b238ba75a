package io.edgegate.bridge;

import java.util.List;

/**
 * Cloud-sync asks a node to publish its state again ({@code .../cmd/resync}, not retained).
 * Without buckets: every instance with an index above {@code fromIndex} (0: all), the removal of
 * retained instances it no longer has, and a fresh digest. With buckets (the ones a digest showed
 * to differ): every instance of those buckets, then one {@link Manifest} per bucket saying exactly
 * which instances it holds, then a fresh digest; the consumer removes what a manifest leaves out.
 *
 * @param reason why, for logs (e.g. {@code digest-mismatch})
 * @param fromIndex publish instances changed after this index; 0 for all
 * @param timestamp epoch milliseconds of the request
 * @param buckets the buckets to republish with their manifests; empty for the whole node without
 *     manifests
 */
public record ResyncCommand(String reason, long fromIndex, long timestamp, List<Integer> buckets)
        implements SyncMessage {
    public ResyncCommand {
        reason = reason == null ? "" : reason;
        buckets = buckets == null ? List.of() : List.copyOf(buckets);
        for (int b : buckets) {
            if (b < 0 || b >= Digest.BUCKETS) {
                throw new IllegalArgumentException("bucket " + b + " (0-" + (Digest.BUCKETS - 1) + ")");
            }
        }
    }

    /** A resync of the whole node, without manifests. */
    public ResyncCommand(String reason, long fromIndex, long timestamp) {
        this(reason, fromIndex, timestamp, List.of());
    }
}
