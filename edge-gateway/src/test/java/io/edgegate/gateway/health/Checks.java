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
        return CheckSpec.builder("ttl", CheckKind.TTL).ttlMillis(10_000).build();
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
        return CheckSpec.builder("check-" + kind.name().toLowerCase(java.util.Locale.ROOT), kind)
                .target(target)
                .method(method)
                .headers(headers)
                .intervalMillis(1_000)
                .timeoutMillis(timeoutMillis)
                .tlsSkipVerify(tlsSkipVerify)
                .args(args)
                .grpcUseTls(grpcUseTls)
                .build();
    }
}
