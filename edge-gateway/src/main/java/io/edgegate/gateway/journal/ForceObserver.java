package io.edgegate.gateway.journal;

/**
 * Told of every successful {@link Journal#force()} that wrote records (a group commit): how many
 * records the batch held and how long writing and forcing them took. Called on the journal's
 * owning thread (the registry writer) after the force: it must be quick and must not block.
 */
@FunctionalInterface
public interface ForceObserver {
    void forced(int records, long nanos);
}
