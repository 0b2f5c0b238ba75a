package io.edgegate.gateway.registry;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One check as registered. Validated at the API boundary; immutable. {@link #builder} makes one
 * component by component.
 *
 * @param id unique among the node's checks (Consul: {@code service:<instance id>} by default)
 * @param name human name
 * @param kind how it probes
 * @param target the URL of an HTTP check, {@code host:port} of a TCP check, {@code host:port} or
 *     {@code host:port/service} of a gRPC check, empty for TTL and exec
 * @param method HTTP method of an HTTP check
 * @param headers request headers of an HTTP check
 * @param intervalMillis time between probes (HTTP, TCP, gRPC, exec)
 * @param timeoutMillis probe timeout (HTTP, TCP, gRPC, exec)
 * @param ttlMillis lease length of a TTL check
 * @param deregisterCriticalAfterMillis remove the instance after this long critical; 0 never
 * @param initialStatus status until the first result
 * @param successBeforePassing consecutive successes before passing
 * @param failuresBeforeWarning consecutive failures before warning
 * @param failuresBeforeCritical consecutive failures before critical
 * @param tlsSkipVerify skip TLS verification of an HTTPS check (and of a gRPC check over TLS)
 * @param args the program and its arguments of an exec check, run without a shell; empty otherwise
 * @param grpcUseTls whether a gRPC check speaks TLS (else HTTP/2 in clear text, prior knowledge)
 * @param notes free text for humans (Consul {@code Notes}); empty when none
 */
public record CheckSpec(
        String id,
        String name,
        CheckKind kind,
        String target,
        String method,
        Map<String, List<String>> headers,
        long intervalMillis,
        long timeoutMillis,
        long ttlMillis,
        long deregisterCriticalAfterMillis,
        Health initialStatus,
        int successBeforePassing,
        int failuresBeforeWarning,
        int failuresBeforeCritical,
        boolean tlsSkipVerify,
        List<String> args,
        boolean grpcUseTls,
        String notes) {

    public CheckSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        name = name == null ? id : name;
        target = target == null ? "" : target;
        method = method == null ? "GET" : method;
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        initialStatus = initialStatus == null ? Health.CRITICAL : initialStatus;
        // Absent in journals written before exec and gRPC checks existed.
        args = args == null ? List.of() : List.copyOf(args);
        notes = notes == null ? "" : notes;
    }

    /**
     * A builder of a check with this id and kind; every other component starts at the default the
     * canonical constructor gives an absent value: the name is the id, no target, method GET, no
     * headers, initial status critical, no arguments, no notes, numbers 0, flags false.
     */
    public static Builder builder(String id, CheckKind kind) {
        return new Builder(id, kind);
    }

    /** A builder starting from this check. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Whether {@code other} probes the same way, so a re-registration may keep this check's status. */
    boolean sameProbe(CheckSpec other) {
        return kind == other.kind
                && target.equals(other.target)
                && method.equals(other.method)
                && args.equals(other.args)
                && grpcUseTls == other.grpcUseTls;
    }

    /**
     * Builds {@link CheckSpec}; one setter a component. A null passed to a setter means absent,
     * as in the canonical constructor (a null name is the id). Not thread-safe.
     */
    public static final class Builder {
        private String id;
        private String name;
        private CheckKind kind;
        private String target = "";
        private String method = "GET";
        private Map<String, List<String>> headers = Map.of();
        private long intervalMillis;
        private long timeoutMillis;
        private long ttlMillis;
        private long deregisterCriticalAfterMillis;
        private Health initialStatus = Health.CRITICAL;
        private int successBeforePassing;
        private int failuresBeforeWarning;
        private int failuresBeforeCritical;
        private boolean tlsSkipVerify;
        private List<String> args = List.of();
        private boolean grpcUseTls;
        private String notes = "";

        private Builder(String id, CheckKind kind) {
            this.id = id;
            this.kind = kind;
        }

        private Builder(CheckSpec c) {
            id = c.id;
            name = c.name;
            kind = c.kind;
            target = c.target;
            method = c.method;
            headers = c.headers;
            intervalMillis = c.intervalMillis;
            timeoutMillis = c.timeoutMillis;
            ttlMillis = c.ttlMillis;
            deregisterCriticalAfterMillis = c.deregisterCriticalAfterMillis;
            initialStatus = c.initialStatus;
            successBeforePassing = c.successBeforePassing;
            failuresBeforeWarning = c.failuresBeforeWarning;
            failuresBeforeCritical = c.failuresBeforeCritical;
            tlsSkipVerify = c.tlsSkipVerify;
            args = c.args;
            grpcUseTls = c.grpcUseTls;
            notes = c.notes;
        }

        public Builder id(String value) {
            id = value;
            return this;
        }

        public Builder name(String value) {
            name = value;
            return this;
        }

        public Builder kind(CheckKind value) {
            kind = value;
            return this;
        }

        public Builder target(String value) {
            target = value;
            return this;
        }

        public Builder method(String value) {
            method = value;
            return this;
        }

        public Builder headers(Map<String, List<String>> value) {
            headers = value;
            return this;
        }

        public Builder intervalMillis(long value) {
            intervalMillis = value;
            return this;
        }

        public Builder timeoutMillis(long value) {
            timeoutMillis = value;
            return this;
        }

        public Builder ttlMillis(long value) {
            ttlMillis = value;
            return this;
        }

        public Builder deregisterCriticalAfterMillis(long value) {
            deregisterCriticalAfterMillis = value;
            return this;
        }

        public Builder initialStatus(Health value) {
            initialStatus = value;
            return this;
        }

        public Builder successBeforePassing(int value) {
            successBeforePassing = value;
            return this;
        }

        public Builder failuresBeforeWarning(int value) {
            failuresBeforeWarning = value;
            return this;
        }

        public Builder failuresBeforeCritical(int value) {
            failuresBeforeCritical = value;
            return this;
        }

        public Builder tlsSkipVerify(boolean value) {
            tlsSkipVerify = value;
            return this;
        }

        public Builder args(List<String> value) {
            args = value;
            return this;
        }

        public Builder grpcUseTls(boolean value) {
            grpcUseTls = value;
            return this;
        }

        public Builder notes(String value) {
            notes = value;
            return this;
        }

        /** Consecutive results that move the status: successes to passing, failures to warning and to critical. */
        public Builder thresholds(int successes, int failuresToWarning, int failuresToCritical) {
            return successBeforePassing(successes)
                    .failuresBeforeWarning(failuresToWarning)
                    .failuresBeforeCritical(failuresToCritical);
        }

        public CheckSpec build() {
            return new CheckSpec(
                    id,
                    name,
                    kind,
                    target,
                    method,
                    headers,
                    intervalMillis,
                    timeoutMillis,
                    ttlMillis,
                    deregisterCriticalAfterMillis,
                    initialStatus,
                    successBeforePassing,
                    failuresBeforeWarning,
                    failuresBeforeCritical,
                    tlsSkipVerify,
                    args,
                    grpcUseTls,
                    notes);
        }
    }
}
