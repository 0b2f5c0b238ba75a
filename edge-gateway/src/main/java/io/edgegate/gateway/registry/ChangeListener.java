package io.edgegate.gateway.registry;

/**
 * Told of every durable change to an instance, in index order, after it is published. Called on
 * the registry thread: must not block (hand the change to a queue or map and return). Output-only
 * check updates and lease renewals take no index and are not reported.
 */
@FunctionalInterface
public interface ChangeListener {
    /**
     * @param id the instance
     * @param instance its state after the change, or null when it was removed
     * @param index the registry index of the change
     */
    void instanceChanged(String id, Instance instance, long index);
}
