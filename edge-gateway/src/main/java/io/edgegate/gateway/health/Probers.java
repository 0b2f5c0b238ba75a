package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The node's {@link Prober}: runs a check by its kind, the way Consul's agent does. HTTP(S)
 * (2xx passing, 429 warning, 3xx and anything else critical: redirects are not followed), TCP
 * connect, the standard gRPC health service (SERVING passing) and exec (exit 0 passing, 1
 * warning, else critical; only when enabled). A TTL check is not probed: it is critical here, the
 * registry never asks.
 *
 * <p>HTTP, TCP and gRPC probes connect only where the {@link CheckTargetPolicy} allows for the
 * check's instance: each resolves its target with the {@link HostResolver} and connects to a
 * vetted address; a refused target is critical, its output naming the rule and the address.
 *
 * <p>Every probe returns within the check's timeout and never throws: an error is a critical
 * result whose output says why. Outputs keep the first {@link Options#maxOutputBytes()} bytes of
 * what the target answered. Holds each HTTP check's keep-alive connection, so one instance serves
 * the whole node; thread-safe. {@link #close()} releases them.
 */
public final class Probers implements Prober, AutoCloseable {
    /** Runs TCP and gRPC probes under a bound of the check's timeout, a backstop to their own. */
    private static final ThreadFactory DEADLINE_THREADS =
            Thread.ofVirtual().name("health-probe-", 0).factory();

    private final Options options;
    private final HttpProber http;
    private final TcpProber tcp;
    private final GrpcProber grpc;
    private final ExecProber exec;

    /** Probers whose checks may target their instance's own address only, resolved by the JDK. */
    public Probers(Options options) {
        this(options, CheckTargetPolicy.ownAddressOnly(), HostResolver.system());
    }

    /**
     * @param policy where HTTP, TCP and gRPC checks may connect
     * @param resolver how their target hosts (and instance addresses) are resolved
     */
    public Probers(Options options, CheckTargetPolicy policy, HostResolver resolver) {
        this.options = options;
        TargetSockets sockets = new TargetSockets(policy, resolver);
        this.http = new HttpProber(options.maxOutputBytes(), options.userAgent(), sockets);
        this.tcp = new TcpProber(sockets);
        this.grpc = new GrpcProber(options.maxOutputBytes(), options.userAgent(), sockets);
        this.exec = new ExecProber(options.maxOutputBytes(), options.execEnabled());
    }

    public Options options() {
        return options;
    }

    @Override
    public ProbeResult probe(CheckSpec check, String instanceAddress) {
        try {
            return switch (check.kind()) {
                case HTTP -> http.probe(check, instanceAddress);
                case TCP -> withinTimeout(check, instanceAddress, tcp, "TCP connect " + check.target());
                case GRPC -> withinTimeout(check, instanceAddress, grpc, GrpcProber.describe(check));
                case EXEC -> exec.probe(check, instanceAddress);
                case TTL -> critical("TTL check " + check.id() + ": reported by the service, not probed");
            };
        } catch (RuntimeException e) {
            return critical(check.kind() + " check " + check.id() + ": " + reason(e));
        }
    }

    /**
     * An HTTP GET that keeps the answer's body, for readers of an instance's own endpoints (an
     * inference engine's metrics and models): the same vetted connect as an HTTP check (the
     * {@link CheckTargetPolicy} for the instance, no redirect followed, the same keep-alive
     * connection from one call to the next under the same {@code id}), and a body of at most
     * {@code maxBodyBytes}. Blocking; call it on a virtual thread.
     *
     * @param id names the reader's connection (one per id, as one per check)
     * @param url an http or https URL
     * @param headers request headers ({@code Accept}, say)
     * @param instanceAddress the instance's address: where the URL may point besides the allowed
     *     networks
     * @throws IOException when the target is refused (the message starts with {@code refused by
     *     check-target}), cannot be reached, or does not answer HTTP/1.x within {@code timeoutMillis}
     */
    public Fetched fetch(
            String id,
            String url,
            Map<String, List<String>> headers,
            String instanceAddress,
            long timeoutMillis,
            int maxBodyBytes)
            throws IOException {
        CheckSpec get = CheckSpec.builder(id, CheckKind.HTTP)
                .target(url)
                .headers(headers)
                .intervalMillis(timeoutMillis)
                .timeoutMillis(timeoutMillis)
                .thresholds(1, 1, 1)
                .build();
        HttpExchange.Answer answer = http.fetch(get, instanceAddress, maxBodyBytes);
        return new Fetched(answer.status(), answer.body(), answer.truncated());
    }

    /**
     * What {@link #fetch} got.
     *
     * @param status the final status code (a redirect is a 3xx here, never followed)
     * @param body the body as UTF-8 text, at most the asked bytes
     * @param truncated whether the body was longer than that
     */
    public record Fetched(int status, String body, boolean truncated) {}

    /** HTTP keep-alive connections kept for the checks' next probes. */
    public int idleHttpConnections() {
        return http.idleConnections();
    }

    /** Closes the HTTP checks' idle connections; HTTP probes after this are critical. */
    @Override
    public void close() {
        http.close();
    }

    /**
     * Runs {@code prober} on its own virtual thread and waits at most the check's timeout. The
     * prober applies the timeout to its resolving, connect and reads; this bound is a backstop.
     * A prober that overruns is abandoned, not interrupted: its own socket timeouts end it soon
     * after.
     */
    static ProbeResult withinTimeout(CheckSpec check, String instanceAddress, Prober prober, String what) {
        CompletableFuture<ProbeResult> result = new CompletableFuture<>();
        DEADLINE_THREADS
                .newThread(() -> {
                    try {
                        result.complete(prober.probe(check, instanceAddress));
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
     * @param maxOutputBytes bytes of an answer's body kept as the check's output
     *     ({@code edgegate.health.max-output-bytes}, default 512)
     * @param execEnabled whether exec checks run; when not, they are critical without running
     *     ({@code edgegate.health.enable-exec-checks}, default false)
     * @param userAgent the {@code User-Agent} of HTTP and gRPC probes, unless a check sets its own
     */
    public record Options(int maxOutputBytes, boolean execEnabled, String userAgent) {
        public static final int DEFAULT_MAX_OUTPUT_BYTES = 512;
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

        /** {@value #DEFAULT_MAX_OUTPUT_BYTES} output bytes, exec checks off, {@value #DEFAULT_USER_AGENT}. */
        public static Options defaults() {
            return new Options(DEFAULT_MAX_OUTPUT_BYTES, false, DEFAULT_USER_AGENT);
        }

        /** A builder starting from {@link #defaults()}. */
        public static Builder builder() {
            return defaults().toBuilder();
        }

        /** A builder starting from these options. */
        public Builder toBuilder() {
            return new Builder(maxOutputBytes, execEnabled, userAgent);
        }

        /** Builds {@link Options}, checked when built. Not thread-safe. */
        public static final class Builder {
            private int maxOutputBytes;
            private boolean execEnabled;
            private String userAgent;

            private Builder(int maxOutputBytes, boolean execEnabled, String userAgent) {
                this.maxOutputBytes = maxOutputBytes;
                this.execEnabled = execEnabled;
                this.userAgent = userAgent;
            }

            public Builder maxOutputBytes(int bytes) {
                maxOutputBytes = bytes;
                return this;
            }

            public Builder execEnabled(boolean enabled) {
                execEnabled = enabled;
                return this;
            }

            public Builder userAgent(String value) {
                userAgent = value;
                return this;
            }

            public Options build() {
                return new Options(maxOutputBytes, execEnabled, userAgent);
            }
        }
    }
}
