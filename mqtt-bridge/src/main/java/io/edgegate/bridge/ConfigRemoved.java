package io.edgegate.bridge;

/**
 * A configuration item withdrawn: the empty retained payload on its config topic.
 *
 * @param kind from the topic
 * @param name from the topic
 */
public record ConfigRemoved(String kind, String name) implements SyncMessage {}
