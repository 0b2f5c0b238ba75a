package io.edgegate.gateway.registry;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.agrona.DeadlineTimerWheel;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Where a check goes passing, warning or critical, and an instance is reaped for it: the health
 * state of every check of every instance. Keeps one {@link CheckRuntime} per check, in step with
 * the instances installed in the {@link WriterState}; applies TTL reports and heartbeats, expires
 * {@link Lease}s (and revives a check renewed while it expired), launches due active probes
 * through the attached {@link ProbeLauncher} and applies their results by Consul's thresholds
 * ({@link CheckRuntime#afterProbe}), and removes an instance that stayed critical for its check's
 * deregister-critical-after. Every status change goes through {@link #setCheckStatus}. The probes
 * themselves run in {@code io.edgegate.gateway.health}; the schedule is this part's timer wheel.
 *
 * <p>Not thread-safe: owned by the registry thread. Other threads only renew leases (published
 * through the {@link Publication}) and offer probe results to the writer's queue.
 */
final class CheckHealth {
    private static final int TIMER_POLL_LIMIT = 4_096;
    private static final long TICK_MILLIS = 8;
    private static final int OUTPUT_MAX_CHARS = 4_096;

    /** Something the timer wheel calls back. */
    interface Timer {
        void expire(long now);
    }

    /** One probe's result as reported back by the launcher. */
    record ProbeOutcome(String checkId, long generation, Health status, String output) {}

    /** Removes an instance that stayed critical for its check's deregister-critical-after. */
    private record Reap(CheckRuntime check, long criticalSince) {}

    /** A lease found expired in this batch, and the deadline it had when the writer decided. */
    private record Expiry(CheckRuntime check, long deadlineSeen) {}

    private final WriterState state;
    private final Publication published;
    private final Attachments attachments;
    private final ErrorLog errors;
    private final LongSupplier clockMillis;
    private final DeadlineTimerWheel timers;
    private final DeadlineTimerWheel.TimerHandler onTimerExpiry = this::onTimerExpiry;
    private final Long2ObjectHashMap<Timer> timerOwners = new Long2ObjectHashMap<>();
    /** Check id to the id of the instance that owns it, for every check of every instance. */
    private final Map<String, String> checkOwners = new HashMap<>();
    /** Runtime state of every check by check id. */
    private final Map<String, CheckRuntime> runtimes = new HashMap<>();

    private final List<Expiry> expiredLeases = new ArrayList<>();
    private final List<CheckRuntime> revive = new ArrayList<>();

    CheckHealth(
            WriterState state,
            Publication published,
            Attachments attachments,
            ErrorLog errors,
            LongSupplier clockMillis) {
        this.state = state;
        this.published = published;
        this.attachments = attachments;
        this.errors = errors;
        this.clockMillis = clockMillis;
        this.timers = new DeadlineTimerWheel(TimeUnit.MILLISECONDS, clockMillis.getAsLong(), TICK_MILLIS, 512);
        state.observeInstalls(this::installed);
    }

    /** The instance that owns {@code checkId}, or null. */
    String owner(String checkId) {
        return checkOwners.get(checkId);
    }

    /** Whether timers are pending: the writer then parks one tick at most. */
    boolean ticking() {
        return timers.timerCount() > 0;
    }

    /** How long the writer parks at most while timers are pending. */
    static long tickNanos() {
        return TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
    }

    /** Runs the timers due at {@code now} (lease expiries, probes, reaps); returns how many. */
    int runTimers(long now) {
        if (timers.timerCount() == 0) {
            timers.currentTickTime(now);
        }
        int expired = 0;
        do {
            expired += timers.poll(now, onTimerExpiry, TIMER_POLL_LIMIT - expired);
        } while (expired < TIMER_POLL_LIMIT && timers.currentTickTime() <= now);
        return expired;
    }

    // ---------------------------------------------------------------- reports

    /** A TTL check's report: renews its lease and sets its status. */
    Change report(String checkId, Health status, String output, long now) {
        CheckRuntime check = runtimes.get(checkId);
        if (check == null) {
            throw RegistryException.notFound("check", checkId);
        }
        if (check.lease == null) {
            throw new RegistryException(
                    400, "check", "not-ttl", "check is not a TTL check, it reports its own status: check=" + checkId);
        }
        check.lease.renew(now);
        return setCheckStatus(check, status, output == null ? "" : output, now);
    }

    /** Renews every TTL check of {@code existing} and marks them passing. */
    Change heartbeat(Instance existing, long now) {
        String id = existing.id();
        Change change = new Change(id, existing.modifyIndex());
        boolean anyTtl = false;
        for (CheckState state : existing.checks()) {
            CheckRuntime check = runtimes.get(state.spec().id());
            if (check.lease != null) {
                anyTtl = true;
                check.lease.renew(now);
                change = setCheckStatus(check, Health.PASSING, state.output(), now);
            }
        }
        if (!anyTtl) {
            throw new RegistryException(400, "id", "no-ttl-check", "instance has no TTL check to renew: id=" + id);
        }
        return change;
    }

    // ---------------------------------------------------------------- check status

    /**
     * Sets one check's status. A status change is a journaled mutation with a new index; an
     * output-only change is applied in memory without an index (heartbeats stay off the disk).
     */
    private Change setCheckStatus(CheckRuntime check, Health status, String output, long now) {
        String instanceId = check.instanceId;
        String checkId = check.spec.id();
        Instance existing = state.instance(instanceId);
        String bounded = output.length() > OUTPUT_MAX_CHARS ? output.substring(0, OUTPUT_MAX_CHARS) : output;
        List<CheckState> states = new ArrayList<>(existing.checks());
        for (int i = 0; i < states.size(); i++) {
            CheckState current = states.get(i);
            if (!current.spec().id().equals(checkId)) {
                continue;
            }
            if (current.status() == status) {
                if (!current.output().equals(bounded)) {
                    states.set(
                            i,
                            new CheckState(
                                    current.spec(), status, bounded, current.createIndex(), current.modifyIndex()));
                    state.replaceInPlace(existing.withChecks(states, existing.modifyIndex()));
                }
                return new Change(instanceId, existing.modifyIndex());
            }
            long next = state.index() + 1;
            states.set(i, current.withStatus(status, bounded, next));
            state.events()
                    .checkChanged(
                            next,
                            existing,
                            states,
                            current,
                            status,
                            bounded,
                            check.lease != null && status == Health.CRITICAL && now >= check.lease.deadlineMillis());
            state.mutate(instanceId, existing, existing.withChecks(states, next), now);
            trackCritical(check, status, now);
            return new Change(instanceId, next);
        }
        throw RegistryException.notFound("check", checkId);
    }

    /** Starts or stops the deregister-after-critical clock of a check. */
    private void trackCritical(CheckRuntime check, Health status, long now) {
        if (status != Health.CRITICAL) {
            check.criticalSinceMillis = -1;
            return;
        }
        if (check.criticalSinceMillis >= 0) {
            return;
        }
        check.criticalSinceMillis = now;
        long after = check.spec.deregisterCriticalAfterMillis();
        if (after > 0) {
            Reap reap = new Reap(check, now);
            schedule(now + after, t -> onReap(reap));
        }
    }

    private void onReap(Reap reap) {
        CheckRuntime check = reap.check();
        if (check.removed || check.criticalSinceMillis != reap.criticalSince()) {
            return;
        }
        Instance instance = state.instance(check.instanceId);
        if (instance != null && !state.journalBroken()) {
            long now = clockMillis.getAsLong();
            state.mutate(instance.id(), instance, null, now);
            state.events().reaped(state.index(), instance, check.spec, now - reap.criticalSince());
        }
    }

    // ---------------------------------------------------------------- leases

    void onLeaseTimer(CheckRuntime check, long now) {
        long deadline = check.lease.deadlineMillis();
        if (now < deadline) {
            // Renewed since it was scheduled: heartbeats only move the deadline, the timer follows.
            schedule(deadline, check);
            return;
        }
        Instance instance = state.instance(check.instanceId);
        CheckState current = instance.check(check.spec.id());
        if (current.status() != Health.CRITICAL && !state.journalBroken()) {
            setCheckStatus(
                    check, Health.CRITICAL, "TTL expired: no report within " + check.spec.ttlMillis() + " ms", now);
            expiredLeases.add(new Expiry(check, deadline));
        }
        // Stay scheduled: a report renews the deadline and the next expiry re-checks it.
        schedule(now + check.lease.ttlMillis, check);
    }

    /**
     * After the batch is published. A heartbeat on the fast path renews the lease, then reads the
     * published status; this writer publishes the expiry, then reads the lease again. Both are
     * volatile, so at least one of them sees the other: either the heartbeat saw critical and sent
     * a command, or the writer sees a renewed lease here and revives the check in the next cycle.
     * No renewal is lost.
     */
    void checkExpiredLeases() {
        for (Expiry expiry : expiredLeases) {
            if (expiry.check().lease.deadlineMillis() != expiry.deadlineSeen() && !expiry.check().removed) {
                revive.add(expiry.check());
            }
        }
        expiredLeases.clear();
    }

    /** The batch's expiries were undone with it: nothing to re-check. */
    void forgetExpiredLeases() {
        expiredLeases.clear();
    }

    /** Marks passing again the checks whose lease was renewed as it expired; returns how many were looked at. */
    int reviveRenewed(long now) {
        if (revive.isEmpty()) {
            return 0;
        }
        int count = revive.size();
        for (CheckRuntime check : revive) {
            if (!check.removed && !state.journalBroken() && now < check.lease.deadlineMillis()) {
                setCheckStatus(check, Health.PASSING, "TTL renewed", now);
            }
        }
        revive.clear();
        return count;
    }

    // ---------------------------------------------------------------- active probes

    void onProbeTimer(CheckRuntime check, long now) {
        ProbeLauncher launcher = attachments.probeLauncher();
        if (launcher != null && !check.probing) {
            check.probing = true;
            check.generation++;
            published.countProbeLaunched();
            Instance instance = state.instance(check.instanceId);
            launcher.launch(
                    check.spec.id(),
                    check.generation,
                    check.spec,
                    instance == null ? "" : instance.spec().address());
        } else if (launcher != null) {
            published.countProbeSkipped();
        }
        schedule(check.advanceDue(now), check);
    }

    /** Applies a probe's result to its check, unless the check was replaced or removed since the launch. */
    void onProbeOutcome(ProbeOutcome outcome, long now) {
        CheckRuntime check = runtimes.get(outcome.checkId());
        if (check == null || check.generation != outcome.generation() || check.removed) {
            published.countProbeStale();
            return;
        }
        check.probing = false;
        Health effective = check.afterProbe(outcome.status());
        if (effective != null && !state.journalBroken()) {
            setCheckStatus(check, effective, outcome.output() == null ? "" : outcome.output(), now);
        }
    }

    // ---------------------------------------------------------------- runtimes follow the instances

    /** Keeps the runtimes in step with an install: checks gone (or of another kind) end, new ones start. */
    private void installed(String id, Instance old, Instance instance, long now) {
        if (old != null) {
            for (CheckState current : old.checks()) {
                String checkId = current.spec().id();
                CheckState kept = instance == null ? null : instance.check(checkId);
                if (kept == null || kept.spec().kind() != current.spec().kind()) {
                    checkOwners.remove(checkId);
                    CheckRuntime check = runtimes.remove(checkId);
                    if (check != null) {
                        check.removed = true;
                        published.lease(checkId, null);
                    }
                }
            }
        }
        if (instance == null) {
            return;
        }
        for (CheckState current : instance.checks()) {
            CheckSpec spec = current.spec();
            checkOwners.put(spec.id(), id);
            CheckRuntime check = runtimes.get(spec.id());
            if (check != null) {
                check.spec = spec; // same kind: keep counters, lease and schedule
                continue;
            }
            check = new CheckRuntime(this, id, spec, now);
            runtimes.put(spec.id(), check);
            if (check.lease != null) {
                published.lease(spec.id(), check.lease);
                schedule(check.lease.deadlineMillis(), check);
            } else {
                // Jitter spreads the first probes over one interval, so a restart or a batch
                // registration does not probe everything in the same tick.
                long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, spec.intervalMillis()));
                check.dueMillis = now + jitter;
                schedule(check.dueMillis, check);
            }
            trackCritical(check, current.status(), now);
        }
    }

    // ---------------------------------------------------------------- timers

    private boolean onTimerExpiry(TimeUnit unit, long now, long timerId) {
        Timer task = timerOwners.remove(timerId);
        if (task != null) {
            try {
                task.expire(now);
            } catch (RuntimeException e) {
                errors.record(e);
            }
        }
        return true;
    }

    private void schedule(long deadline, Timer task) {
        timerOwners.put(timers.scheduleTimer(deadline), task);
    }
}
