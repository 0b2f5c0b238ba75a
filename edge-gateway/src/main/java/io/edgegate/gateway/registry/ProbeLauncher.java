package io.edgegate.gateway.registry;

/**
 * Where the registry writer hands a due active probe (HTTP, TCP, gRPC, exec). Must not block:
 * the call is made on the registry thread. The launcher runs the probe elsewhere (a virtual
 * thread) and reports through {@link Registry#probeResult}, passing back {@code generation}
 * so a result for a check that was replaced meanwhile is dropped.
 */
@FunctionalInterface
public interface ProbeLauncher {
    void launch(String checkId, long generation, CheckSpec check);
}
