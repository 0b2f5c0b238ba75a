package io.edgegate.gateway.registry;

import java.util.function.ToIntFunction;

/**
 * What the gateway attaches to a running registry and its writer consults: the launcher of due
 * active probes, the count of an instance's requests in flight (for drains), and the one listener
 * of durable instance changes. Each is null until attached.
 *
 * <p>Thread-safe: any thread attaches (one volatile write); the registry thread reads.
 */
final class Attachments {
    private volatile ProbeLauncher probeLauncher;
    private volatile ToIntFunction<String> inFlight;
    private volatile ChangeListener changeListener;

    void probeLauncher(ProbeLauncher launcher) {
        this.probeLauncher = launcher;
    }

    void inFlight(ToIntFunction<String> requestsInFlight) {
        this.inFlight = requestsInFlight;
    }

    void changeListener(ChangeListener listener) {
        this.changeListener = listener;
    }

    ProbeLauncher probeLauncher() {
        return probeLauncher;
    }

    /** Requests {@code id} has in flight; 0 when nothing is attached. */
    int inFlight(String id) {
        ToIntFunction<String> source = inFlight;
        return source == null ? 0 : source.applyAsInt(id);
    }

    ChangeListener changeListener() {
        return changeListener;
    }
}
