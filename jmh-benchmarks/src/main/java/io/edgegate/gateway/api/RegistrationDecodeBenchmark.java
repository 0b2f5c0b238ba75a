package io.edgegate.gateway.api;

import io.edgegate.gateway.registry.InstanceSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the HTTP thread pays to decode and validate one batch registration body of
 * {@value #ENTRIES} instances into {@link InstanceSpec}s: {@link NativeRegistrationAdapter#batch(byte[])},
 * the call {@code POST /v1/instances/batch} makes on the bytes it read, with the default
 * {@link Limits}. The body is the one {@code RegistryScale --mode fill} sends (one service, unique
 * ids and addresses, a tag and a metadata entry each); {@link #ttl}: {@code all} gives every
 * instance a TTL check (the profiled fill), {@code half} every other one ({@code RegistryScale
 * --ttl}). In package {@code io.edgegate.gateway.api} because the adapter is package-private.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 2,
        jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
@State(Scope.Thread)
public class RegistrationDecodeBenchmark {
    static final int ENTRIES = 1_000;

    /** Which instances carry a TTL check: {@code all} or {@code half} (the even ones). */
    @Param({"all", "half"})
    String ttl;

    private NativeRegistrationAdapter adapter;
    byte[] body;

    @Setup
    public void setUp() {
        adapter = new NativeRegistrationAdapter(new InstanceValidator(Limits.defaults()));
        StringBuilder b = new StringBuilder(ENTRIES * 200).append("{\"instances\":[");
        for (int n = 0; n < ENTRIES; n++) {
            if (n > 0) {
                b.append(',');
            }
            boolean check = ttl.equals("all") || n % 2 == 0;
            b.append(instanceJson("big-bench-" + n, n, check ? "300s" : null));
        }
        body = b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code RegistryScale.instanceJson}'s shape, service {@code big}. */
    private static String instanceJson(String id, int n, String ttl) {
        String check = ttl == null ? "" : ",\"check\":{\"ttl\":\"" + ttl + "\"}";
        return "{\"service\":\"big\",\"id\":\"" + id + "\",\"address\":\"10." + (n >>> 16 & 0xFF) + "."
                + (n >>> 8 & 0xFF) + "." + (n & 0xFF) + "\",\"port\":8080,\"tags\":[\"version:v1\"],"
                + "\"meta\":{\"region\":\"r1\"}" + check + "}";
    }

    @Benchmark
    public List<InstanceSpec> decodeBatch() {
        return adapter.batch(body);
    }
}
