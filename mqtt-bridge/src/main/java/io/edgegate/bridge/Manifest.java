package io.edgegate.bridge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one bucket of a node holds ({@code .../manifest}, not retained), sent after the bucket's
 * instances in answer to a {@link ResyncCommand} naming it: exactly these instances, at these
 * indexes, as of the node's {@code (epoch, index)}. A large bucket is sent in parts, each under
 * the payload limit; a consumer acts once it holds every part of one {@code (epoch, index,
 * bucket)}: it removes each instance of the bucket that the manifest leaves out and whose version
 * is not newer than the manifest's (the instance was removed while the consumer did not listen),
 * and expects the listed ones it lacks to arrive as states (they were published just before).
 *
 * @param epoch the node's epoch
 * @param index the node's index the manifest was taken at
 * @param bucket 0 to {@link Digest#BUCKETS} - 1
 * @param part this part, 0-based
 * @param parts how many parts the bucket's manifest has (at least 1)
 * @param entries the instances of this part
 */
public record Manifest(long epoch, long index, int bucket, int part, int parts, List<Entry> entries)
        implements SyncMessage {
    /** Bytes of entries per part, well under the payload limit with the envelope. */
    static final int PART_BYTES = 48 * 1024;

    /** One instance of the bucket and the index of its last change. */
    public record Entry(String id, long index) {
        public Entry {
            Objects.requireNonNull(id, "id");
        }
    }

    public Manifest {
        entries = List.copyOf(entries);
        if (bucket < 0 || bucket >= Digest.BUCKETS || parts < 1 || part < 0 || part >= parts) {
            throw new IllegalArgumentException("manifest bucket=" + bucket + ", part=" + part + ", parts=" + parts);
        }
    }

    /** A bucket's manifest, split into parts that each encode under the payload limit. */
    public static List<Manifest> of(long epoch, long index, int bucket, List<Entry> entries) {
        List<List<Entry>> chunks = new ArrayList<>();
        List<Entry> chunk = new ArrayList<>();
        int bytes = 0;
        for (Entry e : entries) {
            // an entry as JSON: ["<id, escaped at most 6x>",<index>],
            int size = e.id().getBytes(StandardCharsets.UTF_8).length * 6 + 26;
            if (!chunk.isEmpty() && bytes + size > PART_BYTES) {
                chunks.add(chunk);
                chunk = new ArrayList<>();
                bytes = 0;
            }
            chunk.add(e);
            bytes += size;
        }
        chunks.add(chunk);
        List<Manifest> out = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            out.add(new Manifest(epoch, index, bucket, i, chunks.size(), chunks.get(i)));
        }
        return out;
    }
}
