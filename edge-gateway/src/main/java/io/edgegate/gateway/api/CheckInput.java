package io.edgegate.gateway.api;

import java.util.List;
import java.util.Map;

/**
 * A check definition as read from either API, before validation. Strings are raw; null means
 * absent. Each API fills it from its own JSON names ({@code http} / {@code HTTP}, ...) through
 * {@link #builder}.
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
        String unsupportedKind) {

    /** A builder of the check found at {@code path}; every other field starts absent (null). */
    public static Builder builder(String path) {
        return new Builder(path);
    }

    /** Builds {@link CheckInput}; one setter a field, null meaning absent. Not thread-safe. */
    public static final class Builder {
        private final String path;
        private String id;
        private String name;
        private String http;
        private String tcp;
        private String ttl;
        private String interval;
        private String timeout;
        private String method;
        private Map<String, List<String>> headers;
        private String deregisterCriticalAfter;
        private String status;
        private Long successBeforePassing;
        private Long failuresBeforeWarning;
        private Long failuresBeforeCritical;
        private Boolean tlsSkipVerify;
        private String grpc;
        private Boolean grpcUseTls;
        private List<String> args;
        private String notes;
        private String unsupportedKind;

        private Builder(String path) {
            this.path = path;
        }

        public Builder id(String value) {
            id = value;
            return this;
        }

        public Builder name(String value) {
            name = value;
            return this;
        }

        public Builder http(String value) {
            http = value;
            return this;
        }

        public Builder tcp(String value) {
            tcp = value;
            return this;
        }

        public Builder ttl(String value) {
            ttl = value;
            return this;
        }

        public Builder interval(String value) {
            interval = value;
            return this;
        }

        public Builder timeout(String value) {
            timeout = value;
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

        public Builder deregisterCriticalAfter(String value) {
            deregisterCriticalAfter = value;
            return this;
        }

        public Builder status(String value) {
            status = value;
            return this;
        }

        public Builder successBeforePassing(Long value) {
            successBeforePassing = value;
            return this;
        }

        public Builder failuresBeforeWarning(Long value) {
            failuresBeforeWarning = value;
            return this;
        }

        public Builder failuresBeforeCritical(Long value) {
            failuresBeforeCritical = value;
            return this;
        }

        public Builder tlsSkipVerify(Boolean value) {
            tlsSkipVerify = value;
            return this;
        }

        public Builder grpc(String value) {
            grpc = value;
            return this;
        }

        public Builder grpcUseTls(Boolean value) {
            grpcUseTls = value;
            return this;
        }

        public Builder args(List<String> value) {
            args = value;
            return this;
        }

        public Builder notes(String value) {
            notes = value;
            return this;
        }

        public Builder unsupportedKind(String value) {
            unsupportedKind = value;
            return this;
        }

        public CheckInput build() {
            return new CheckInput(
                    path,
                    id,
                    name,
                    http,
                    tcp,
                    ttl,
                    interval,
                    timeout,
                    method,
                    headers,
                    deregisterCriticalAfter,
                    status,
                    successBeforePassing,
                    failuresBeforeWarning,
                    failuresBeforeCritical,
                    tlsSkipVerify,
                    grpc,
                    grpcUseTls,
                    args,
                    notes,
                    unsupportedKind);
        }
    }
}
