package io.edgegate.gateway.registry;

/**
 * Tuning of the registry. Immutable; validated by the gateway's configuration.
 *
 * @param queueCapacity commands that may wait for the writer; a full queue answers 503
 * @param maxBatch commands the writer applies before one journal force
 * @param maxInstances instances the node accepts
 * @param writeTimeoutMillis how long a caller waits for its write to be durable
 * @param compactAfterBytes journal log size that triggers a snapshot
 * @param drainTimeoutMillis how long a deregistered instance may finish its requests in flight
 *     before it is removed; 0 removes at once
 */
public record RegistryOptions(
        int queueCapacity,
        int maxBatch,
        int maxInstances,
        long writeTimeoutMillis,
        long compactAfterBytes,
        long drainTimeoutMillis) {

    public static RegistryOptions defaults() {
        return new RegistryOptions(65_536, 4_096, 100_000, 5_000, 64L << 20, 30_000);
    }

    /** Without graceful drain (deregistration removes at once). */
    public RegistryOptions(
            int queueCapacity, int maxBatch, int maxInstances, long writeTimeoutMillis, long compactAfterBytes) {
        this(queueCapacity, maxBatch, maxInstances, writeTimeoutMillis, compactAfterBytes, 0);
    }
}
