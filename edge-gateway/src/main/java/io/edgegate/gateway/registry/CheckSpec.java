package io.edgegate.gateway.registry;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One check as registered. Validated at the API boundary; immutable.
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

    /** The same check under another id (the API names inline checks after their instance). */
    public CheckSpec withId(String newId) {
        return new CheckSpec(
                newId,
                name.equals(id) ? newId : name,
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

    /** Whether {@code other} probes the same way, so a re-registration may keep this check's status. */
    boolean sameProbe(CheckSpec other) {
        return kind == other.kind
                && target.equals(other.target)
                && method.equals(other.method)
                && args.equals(other.args)
                && grpcUseTls == other.grpcUseTls;
    }
}
