package io.edgegate.gateway.registry;

/**
 * The outcome of an acknowledged write.
 *
 * @param id the instance it changed
 * @param index the registry index of the change (the instance's modify index)
 */
public record Change(String id, long index) {}
