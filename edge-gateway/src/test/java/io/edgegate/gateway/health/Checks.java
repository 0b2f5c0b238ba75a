package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import java.util.List;
import java.util.Map;

/** Check specs for prober tests: one of each kind, with the fields that matter to it. */
final class Checks {
    /** The address of the instance whose checks the prober tests run: the loopback they target. */
    static final String INSTANCE_ADDRESS = "127.0.0.1";

    private Checks() {}

    static CheckSpec http(String url, long timeoutMillis) {
        return http(url, "GET", Map.of(), timeoutMillis, false);
    }

    static CheckSpec http(
            String url, String method, Map<String, List<String>> headers, long timeoutMillis, boolean tlsSkipVerify) {
        return spec(CheckKind.HTTP, url, method, headers, timeoutMillis, tlsSkipVerify, List.of(), false);
    }

    static CheckSpec tcp(String hostPort, long timeoutMillis) {
        return spec(CheckKind.TCP, hostPort, null, null, timeoutMillis, false, List.of(), false);
    }

    static CheckSpec grpc(String target, long timeoutMillis) {
        return spec(CheckKind.GRPC, target, null, null, timeoutMillis, false, List.of(), false);
    }

    static CheckSpec grpcTls(String target, long timeoutMillis, boolean tlsSkipVerify) {
        return spec(CheckKind.GRPC, target, null, null, timeoutMillis, tlsSkipVerify, List.of(), true);
    }

    static CheckSpec exec(long timeoutMillis, String... args) {
        return spec(CheckKind.EXEC, "", null, null, timeoutMillis, false, List.of(args), false);
    }

    static CheckSpec ttl() {
        return new CheckSpec(
                "ttl", null, CheckKind.TTL, "", null, null, 0, 0, 10_000, 0, null, 0, 0, 0, false, null, false, null);
    }

    private static CheckSpec spec(
            CheckKind kind,
            String target,
            String method,
            Map<String, List<String>> headers,
            long timeoutMillis,
            boolean tlsSkipVerify,
            List<String> args,
            boolean grpcUseTls) {
        return new CheckSpec(
                "check-" + kind.name().toLowerCase(java.util.Locale.ROOT),
                null,
                kind,
                target,
                method,
                headers,
                1_000,
                timeoutMillis,
                0,
                0,
                null,
                0,
                0,
                0,
                tlsSkipVerify,
                args,
                grpcUseTls,
                null);
    }
}
