package io.edgegate.benchmarks;

import io.edgegate.acl.AclOptions;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Right;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What access control adds to one request of the gateway, measured on the check itself: the work
 * a heartbeat handler does with the caller's token ({@code AclStore.authorize}, then
 * {@code require(service:NAME:write)}) with enforcement on and off, in the same run.
 *
 * <ul>
 *   <li>{@link #off}: {@code default-policy: allow}, no token: the anonymous rights, which allow
 *       everything (what the handler does on a gateway with enforcement off).
 *   <li>{@link #on}: default deny, the request's token: the secret digested (SHA-256), looked up
 *       by digest, confirmed with a constant-time comparison, then the service rule.
 *   <li>{@link #digest}: the SHA-256 of the secret alone, the largest part of {@link #on}.
 * </ul>
 *
 * <p>{@code tokens}: {@code management} (the token made on a first start, every right) or
 * {@code file} (a token file of 100 tokens; the one presented carries a policy with exact service
 * rules and a {@code svc-} prefix, as a registrar's would). The secret is a fresh copy of a UUID,
 * as a header parsed from a request is. Service names walk 1000 names, as heartbeats spread over
 * services do.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class AclCheckBenchmark {
    private static final int SERVICES = 1000;

    @Param({"management", "file"})
    public String tokens;

    private Path dir;
    private AclStore enforced;
    private AclStore open;
    private String secret;
    private String[] services;
    private int next;
    private MessageDigest sha;

    @Setup
    public void setUp() throws IOException, NoSuchAlgorithmException {
        dir = Files.createTempDirectory("acl-bench");
        if (tokens.equals("management")) {
            enforced = AclStore.open(new AclOptions(true, null, dir.resolve("management-token"), 60_000));
            secret = Files.readString(dir.resolve("management-token")).strip();
        } else {
            StringBuilder file = new StringBuilder("policies:\n  registrar:\n    service:\n");
            for (int i = 0; i < 20; i++) {
                file.append("      llm-").append(i).append(": write\n");
            }
            file.append("    service-prefix: {\"svc-\": write, \"svc-secret\": deny}\n    agent: read\n")
                    .append("  reader:\n    service-prefix: {\"\": read}\ntokens:\n");
            for (int i = 0; i < 100; i++) {
                String s = UUID.randomUUID().toString();
                if (i == 42) {
                    secret = s;
                }
                file.append("  - secret: ")
                        .append(s)
                        .append("\n    policies: [")
                        .append(i == 42 ? "registrar" : "reader")
                        .append("]\n");
            }
            Files.writeString(dir.resolve("tokens.yaml"), file);
            enforced = AclStore.open(new AclOptions(true, dir.resolve("tokens.yaml"), null, 60_000));
        }
        open = AclStore.open(new AclOptions(false, null, dir.resolve("open-token"), 60_000));
        services = new String[SERVICES];
        for (int i = 0; i < SERVICES; i++) {
            services[i] = "svc-" + i;
        }
        sha = MessageDigest.getInstance("SHA-256");
        if (!enforced.authorize(secret).allows(Right.serviceWrite("svc-1"))
                || !open.authorize(null).allows(Right.serviceWrite("svc-1"))) {
            throw new IllegalStateException("the token does not grant service write: nothing would be measured");
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        enforced.close();
        open.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    private String service() {
        int i = next++;
        if (next == SERVICES) {
            next = 0;
        }
        return services[i];
    }

    @Benchmark
    public boolean off() {
        return open.authorize(null).allows(Right.serviceWrite(service()));
    }

    @Benchmark
    public boolean on() {
        // a new String, as the header value of each request is
        return enforced.authorize(new String(secret)).allows(Right.serviceWrite(service()));
    }

    @Benchmark
    public byte[] digest() {
        return sha.digest(new String(secret).getBytes(StandardCharsets.UTF_8));
    }
}
