package io.edgegate.benchmarks;

import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import java.util.List;

/**
 * What the routing path needs from a registry, so that the real {@link
 * io.edgegate.gateway.registry.Registry} and the locked-map baseline run the same benchmark code.
 * Each JMH fork loads exactly one implementation, so the call site stays monomorphic and is inlined.
 *
 * <p>{@link #pick} may be called from any thread; {@link #register} from any thread too, but the
 * benchmarks call it from one writer at a time.
 */
interface RouteTable extends AutoCloseable {

    /** Registers or updates the instances and returns once readers can see them. */
    void register(List<InstanceSpec> specs);

    /**
     * The routing read: service name to its routable instances, then one of them chosen by
     * {@code seq}; null when the service is unknown or has nothing routable. Must not allocate.
     */
    Instance pick(String service, int seq);

    /** Number of routable instances of the service (0 if unknown); for checks, not the hot path. */
    int routableCount(String service);

    @Override
    void close();

    /**
     * Which of {@code count} instances the {@code seq}-th request goes to: a multiplicative hash
     * scrambles the sequence, and Lemire's multiply-shift maps it onto {@code [0, count)} without
     * a division, so the choice is cheap, spread and not predictable by the JIT.
     */
    static int spread(int seq, int count) {
        long scrambled = (seq * 0x9E3779B9) & 0xFFFF_FFFFL;
        return (int) ((scrambled * count) >>> 32);
    }
}
