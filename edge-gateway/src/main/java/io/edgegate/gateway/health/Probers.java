package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The node's {@link Prober}: runs a check by its kind, the way Consul's agent does. HTTP(S)
 * (2xx passing, 429 warning, else critical), TCP connect, the standard gRPC health service
 * (SERVING passing) and exec (exit 0 passing, 1 warning, else critical; only when enabled). A TTL
 * check is not probed: it is critical here, the registry never asks.
 *
 * <p>Every probe returns within the check's timeout and never throws: an error is a critical
 * result whose output says why. Outputs keep the first {@link Options#maxOutputBytes()} bytes of
 * what the target answered. Holds pooled HTTP keep-alive connections, so one instance serves the
 * whole node; thread-safe. {@link #close()} releases them.
 */
public final class Probers implements Prober, AutoCloseable {
    /** Runs the probe steps whose own timeouts do not cover everything (name resolution). */
    private static final ThreadFactory DEADLINE_THREADS =
            Thread.ofVirtual().name("health-probe-", 0).factory();

    private final Options options;
    private final HttpProber http;
    private final TcpProber tcp;
    private final GrpcProber grpc;
    private final ExecProber exec;

    public Probers(Options options) {
        this.options = options;
        this.http = new HttpProber(options.maxOutputBytes(), options.userAgent());
        this.tcp = new TcpProber();
        this.grpc = new GrpcProber(options.maxOutputBytes(), options.userAgent());
        this.exec = new ExecProber(options.maxOutputBytes(), options.execEnabled());
    }

    public Options options() {
        return options;
    }

    @Override
    public ProbeResult probe(CheckSpec check) {
        try {
            return switch (check.kind()) {
                case HTTP -> http.probe(check);
                case TCP -> withinTimeout(check, tcp, "TCP connect " + check.target());
                case GRPC -> withinTimeout(check, grpc, GrpcProber.describe(check));
                case EXEC -> exec.probe(check);
                case TTL -> critical("TTL check " + check.id() + ": reported by the service, not probed");
            };
        } catch (RuntimeException e) {
            return critical(check.kind() + " check " + check.id() + ": " + reason(e));
        }
    }

    /** Closes pooled HTTP connections and aborts HTTP probes in flight; HTTP probes after this are critical. */
    @Override
    public void close() {
        http.close();
    }

    /**
     * Runs {@code prober} on its own virtual thread and waits at most the check's timeout. The
     * prober applies the timeout to its connect and reads; this bound also covers what it cannot
     * time (resolving the host name). A prober that overruns is abandoned, not interrupted: its
     * own socket timeouts end it soon after.
     */
    static ProbeResult withinTimeout(CheckSpec check, Prober prober, String what) {
        CompletableFuture<ProbeResult> result = new CompletableFuture<>();
        DEADLINE_THREADS
                .newThread(() -> {
                    try {
                        result.complete(prober.probe(check));
                    } catch (RuntimeException | Error e) {
                        result.complete(critical(what + ": " + reason(e)));
                    }
                })
                .start();
        try {
            return result.get(check.timeoutMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return timedOut(what, check.timeoutMillis());
        } catch (ExecutionException e) {
            return critical(what + ": " + reason(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return critical(what + ": interrupted");
        }
    }

    static ProbeResult critical(String output) {
        return new ProbeResult(Health.CRITICAL, output);
    }

    static ProbeResult timedOut(String what, long timeoutMillis) {
        return critical(what + ": timed out after " + timeoutMillis + "ms");
    }

    /** Why {@code e} happened, for an output: its type and the first message along its causes. */
    static String reason(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null && message == null; t = t.getCause() == t ? null : t.getCause()) {
            message = t.getMessage();
        }
        String type = e.getClass().getSimpleName();
        return message == null || message.isEmpty() ? type : type + ": " + message;
    }

    /**
     * How probes run. Immutable.
     *
     * @param maxOutputBytes bytes of an answer kept as the check's output (default 4096, as Consul)
     * @param execEnabled whether exec checks run; when not, they are critical without running
     *     ({@code edgegate.health.enable-exec-checks}, default false)
     * @param userAgent the {@code User-Agent} of HTTP and gRPC probes, unless a check sets its own
     */
    public record Options(int maxOutputBytes, boolean execEnabled, String userAgent) {
        public static final int DEFAULT_MAX_OUTPUT_BYTES = 4096;
        public static final String DEFAULT_USER_AGENT = "Edgegate Health Check";

        public Options {
            if (maxOutputBytes < 1 || maxOutputBytes > 1 << 20) {
                throw new IllegalArgumentException(
                        "maxOutputBytes out of range: maxOutputBytes=" + maxOutputBytes + ", range=1-1048576");
            }
            if (userAgent == null || userAgent.isEmpty() || userAgent.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw new IllegalArgumentException("userAgent must be printable and not empty: userAgent=" + userAgent);
            }
        }

        /** 4096 output bytes, exec checks off, {@value #DEFAULT_USER_AGENT}. */
        public static Options defaults() {
            return new Options(DEFAULT_MAX_OUTPUT_BYTES, false, DEFAULT_USER_AGENT);
        }

        public Options withExecEnabled(boolean enabled) {
            return new Options(maxOutputBytes, enabled, userAgent);
        }

        public Options withMaxOutputBytes(int bytes) {
            return new Options(bytes, execEnabled, userAgent);
        }
    }
}
