package io.edgegate.gateway.registry;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A mutation request for the registry writer. Offered by any thread through {@link Registry},
 * applied only by the {@link RegistryConductor}; the future completes once the outcome is
 * durable (or refused).
 */
sealed interface Command {
    CompletableFuture<?> result();

    /** Registers or updates all of {@code specs}, or none of them. */
    record Register(List<InstanceSpec> specs, CompletableFuture<List<Change>> result) implements Command {}

    record Deregister(String id, CompletableFuture<Change> result) implements Command {}

    record Maintenance(String id, boolean enable, String reason, CompletableFuture<Change> result) implements Command {}

    /** A status report for one TTL check (Consul pass/warn/fail/update); renews its lease. */
    record UpdateCheck(String checkId, Health status, String output, CompletableFuture<Change> result)
            implements Command {}

    /** Renews every TTL check of one instance and marks them passing. */
    record Heartbeat(String id, CompletableFuture<Change> result) implements Command {}

    /**
     * Sets metadata keys of an existing instance (a null value removes the key): what the gateway
     * learned about it (an inference engine's models), not what it registered.
     */
    record Annotate(String id, java.util.Map<String, String> meta, CompletableFuture<Change> result)
            implements Command {}

    /** Puts ({@code json} non-null) or deletes one configuration entry, such as a route. */
    record PutConfig(String kind, String name, String json, CompletableFuture<Change> result) implements Command {}
}
