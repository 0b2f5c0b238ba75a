package io.edgegate.bridge;

/**
 * The ordering rule of every node's stream: a version is {@code (epoch, index)}, compared epoch
 * first, then index. A consumer applies a message only when it is newer than what it holds, so
 * duplicates and out-of-order deliveries change nothing.
 */
public final class SyncOrder {
    private SyncOrder() {}

    /** Whether {@code (epoch, index)} is strictly newer than {@code (knownEpoch, knownIndex)}. */
    public static boolean isNewer(long epoch, long index, long knownEpoch, long knownIndex) {
        return epoch != knownEpoch ? epoch > knownEpoch : index > knownIndex;
    }
}
