package io.edgegate.gateway.registry;

import io.edgegate.log.LogFields;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The registry's meaningful events as log lines, one each, with the fields {@code service},
 * {@code instance} and, for a health change, {@code check}: an instance's health changing
 * (passing, warning, critical) with the check that moved it, a TTL lease expiring, an instance
 * draining, deregistered (by request, after its drain, or reaped after being critical for its
 * check's {@code deregister-critical-after}).
 *
 * <p>An event is written only once its batch is durable: the writer records it as the change is
 * made, and {@link #flush} writes what the batch recorded after the journal's force; a change
 * undone (a refused command, a batch that could not be forced) takes its events with it
 * ({@link #undo}). A check whose status changes without changing its instance's health is logged
 * at FINE only. Not thread-safe: owned by the registry thread.
 */
final class RegistryEvents {
    private static final Logger LOGGER = Logger.getLogger(Registry.class.getName());
    private static final int OUTPUT_CHARS = 200;

    /** One line waiting for its batch to be durable; {@code index} is the change it follows. */
    private record Event(long index, Level level, String message, LogFields fields) {}

    private final List<Event> pending = new ArrayList<>();

    /**
     * A check's status changed from {@code state}'s to {@code status}, at change {@code index}.
     *
     * @param leaseExpired whether a TTL check went critical because its lease ran out
     */
    void checkChanged(
            long index,
            Instance before,
            List<CheckState> checksAfter,
            CheckState state,
            Health status,
            String output,
            boolean leaseExpired) {
        Health from = before.health();
        Health to = before.withChecks(checksAfter, index).health();
        String checkId = state.spec().id();
        LogFields fields = LogFields.of("service", before.service(), "instance", before.id(), "check", checkId);
        String why = output.isEmpty() ? "" : ": " + shorten(output);
        if (leaseExpired) {
            record(
                    index,
                    Level.WARNING,
                    "lease expired: no report within " + state.spec().ttlMillis() + " ms (health " + name(from) + " -> "
                            + name(to) + ")",
                    fields);
        } else if (from != to) {
            record(
                    index,
                    to == Health.PASSING ? Level.INFO : Level.WARNING,
                    "health " + name(from) + " -> " + name(to) + " (check " + checkId + " "
                            + state.status().wireName() + " -> " + status.wireName() + why + ")",
                    fields);
        } else {
            record(
                    index,
                    Level.FINE,
                    "check " + state.status().wireName() + " -> " + status.wireName() + why + " (health stays "
                            + name(to) + ")",
                    fields);
        }
    }

    /** Deregistered at once (nothing in flight, or no drain timeout). */
    void deregistered(long index, Instance instance) {
        record(index, Level.INFO, "deregistered", fields(instance));
    }

    /** Deregistered with requests in flight: out of routing now, removed when they finish. */
    void draining(long index, Instance instance, int inFlight) {
        record(
                index,
                Level.INFO,
                "deregistered, draining " + inFlight + " request" + (inFlight == 1 ? "" : "s") + " in flight",
                fields(instance));
    }

    /** Removed after draining; {@code timedOut} when requests were still in flight at the drain timeout. */
    void drained(long index, Instance instance, boolean timedOut) {
        record(
                index,
                timedOut ? Level.WARNING : Level.INFO,
                timedOut ? "removed at the drain timeout with requests still in flight" : "removed after draining",
                fields(instance));
    }

    /** Removed after its check stayed critical for {@code criticalMillis}. */
    void reaped(long index, Instance instance, CheckSpec check, long criticalMillis) {
        record(
                index,
                Level.WARNING,
                "reaped: critical for " + criticalMillis + " ms (deregister-critical-after of check " + check.id()
                        + ")",
                LogFields.of("service", instance.service(), "instance", instance.id(), "check", check.id()));
    }

    /** Writes the events of a durable batch. */
    void flush() {
        for (Event e : pending) {
            LOGGER.log(e.level(), e.message(), e.fields());
        }
        pending.clear();
    }

    /** Forgets the events of changes above {@code index} (undone). */
    void undo(long index) {
        pending.removeIf(e -> e.index() > index);
    }

    private void record(long index, Level level, String message, LogFields fields) {
        if (LOGGER.isLoggable(level)) {
            pending.add(new Event(index, level, message, fields));
        }
    }

    private static LogFields fields(Instance instance) {
        return LogFields.of("service", instance.service(), "instance", instance.id());
    }

    private static String name(Health health) {
        return health.wireName();
    }

    private static String shorten(String output) {
        String line = output.strip().replace('\n', ' ').replace('\r', ' ');
        return line.length() <= OUTPUT_CHARS ? line : line.substring(0, OUTPUT_CHARS) + "...";
    }
}
