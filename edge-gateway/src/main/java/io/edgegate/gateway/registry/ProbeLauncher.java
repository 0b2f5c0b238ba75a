package io.edgegate.gateway.registry;

/**
 * Where the registry writer hands a due active probe (HTTP, TCP, gRPC, exec). Must not block:
 * the call is made on the registry thread. The launcher runs the probe elsewhere (a virtual
 * thread) and reports through {@link Registry#probeResult}, passing back {@code generation}
 * so a result for a check that was replaced meanwhile is dropped. {@code instanceAddress} is the
 * address of the check's instance as it is registered now, read from the writer's own state at
 * launch (a probe may connect there; nothing more is journaled for it).
 */
@FunctionalInterface
public interface ProbeLauncher {
    void launch(String checkId, long generation, CheckSpec check, String instanceAddress);
}
