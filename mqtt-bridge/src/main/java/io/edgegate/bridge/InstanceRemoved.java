package io.edgegate.bridge;

/**
 * An instance deregistered: the empty retained payload on {@code .../instances/{id}}. It carries
 * no version: a consumer removes the instance and keeps its last version as a tombstone, so
 * a duplicate of an older state does not bring it back.
 *
 * @param id the instance id, from the topic
 */
public record InstanceRemoved(String id) implements SyncMessage {}
