package io.edgegate.gateway.api;

/**
 * Bounds on what one request may carry. Every breach is a 4xx naming the limit. Immutable.
 *
 * @param maxBodyBytes request body size (413 past it)
 * @param maxBatch instances in one batch registration
 * @param maxNameLength service names and instance ids
 * @param maxTags tags per instance
 * @param maxTagLength characters per tag
 * @param maxMeta metadata entries per instance
 * @param maxMetaKeyLength characters per metadata key
 * @param maxMetaValueLength characters per metadata value
 * @param maxChecks checks per instance
 */
public record Limits(
        int maxBodyBytes,
        int maxBatch,
        int maxNameLength,
        int maxTags,
        int maxTagLength,
        int maxMeta,
        int maxMetaKeyLength,
        int maxMetaValueLength,
        int maxChecks) {

    /** Consul's own limits where it has them (64 metadata pairs, keys 128, values 512). */
    public static Limits defaults() {
        return new Limits(1 << 20, 1_000, 128, 64, 256, 64, 128, 512, 8);
    }
}
