package io.edgegate.gateway.api;

import java.util.List;
import java.util.Map;

/**
 * A check definition as read from either API, before validation. Strings are raw; null means
 * absent. Each API fills it from its own JSON names ({@code http} / {@code HTTP}, ...).
 *
 * @param path where it sits in the request, for error messages ({@code check}, {@code Checks[1]})
 * @param grpc {@code host:port} or {@code host:port/service} of a gRPC health check
 * @param args program and arguments of an exec check; an empty list is present (and refused)
 * @param notes free text kept with the check
 * @param unsupportedKind the field name of a check kind this gateway does not run, if present
 */
public record CheckInput(
        String path,
        String id,
        String name,
        String http,
        String tcp,
        String ttl,
        String interval,
        String timeout,
        String method,
        Map<String, List<String>> headers,
        String deregisterCriticalAfter,
        String status,
        Long successBeforePassing,
        Long failuresBeforeWarning,
        Long failuresBeforeCritical,
        Boolean tlsSkipVerify,
        String grpc,
        Boolean grpcUseTls,
        List<String> args,
        String notes,
        String unsupportedKind) {}
