package io.edgegate.gateway.proxy;

import io.edgegate.tls.PemFiles;
import io.edgegate.tls.TlsMaterialException;
import io.helidon.config.Config;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The proxy's configuration ({@code edgegate.proxy.*}, documented with its defaults in
 * {@code edgegate.yaml}): the defaults every route inherits, the retry budget, passive outlier
 * detection and the routes of the configuration. Immutable; validated once in {@link #from}.
 *
 * @param connectTimeoutMillis upstream TCP connect timeout
 * @param idleTimeoutMillis longest an upstream may stay silent, before its response starts and
 *     between two reads of its body; the only limit on a streaming (SSE) response
 * @param timeoutMillis the whole exchange of a non-streaming response
 * @param retries attempts beyond the first on another instance
 * @param retryBudgetRatio retries allowed per request, on average, per service (0.2: 20%)
 * @param retryBudgetMinPerSecond retries allowed per second and service whatever the traffic
 * @param outlierConsecutiveFailures gateway failures in a row (connect, reset, timeout, 502,
 *     503, 504) that eject an instance
 * @param outlierBaseEjectionMillis first ejection; the n-th lasts n times as long
 * @param outlierMaxEjectionMillis cap of one ejection
 * @param outlierMaxEjectedShare share of a service's instances that may be ejected at once
 * @param maxBufferedBodyBytes largest inference request body read to find its model
 * @param retryBufferBytes largest response of a retriable request held back before the client
 *     sees it, so that an upstream failing mid-body can still be retried
 * @param maxIdleConnections idle keep-alive connections kept per upstream instance
 * @param requireToken whether /svc/{service}/... and model routing need a token with read on the
 *     service (routes say for themselves)
 * @param routes the configured routes
 * @param upstreamCaFile PEM CA bundle for HTTPS upstreams (instances with {@code scheme: https},
 *     routes whose {@code upstream-tls} names none); null for the JVM's trust store
 */
public record ProxyOptions(
        long connectTimeoutMillis,
        long idleTimeoutMillis,
        long timeoutMillis,
        int retries,
        double retryBudgetRatio,
        int retryBudgetMinPerSecond,
        int outlierConsecutiveFailures,
        long outlierBaseEjectionMillis,
        long outlierMaxEjectionMillis,
        double outlierMaxEjectedShare,
        int maxBufferedBodyBytes,
        int retryBufferBytes,
        int maxIdleConnections,
        boolean requireToken,
        List<RouteSpec> routes,
        Path upstreamCaFile) {

    public ProxyOptions {
        routes = List.copyOf(routes);
    }

    /** The documented defaults, no routes. */
    public static ProxyOptions defaults() {
        return new ProxyOptions(
                2_000, 60_000, 60_000, 2, 0.2, 10, 5, 30_000, 300_000, 0.5, 16 << 20, 64 << 10, 64, false, List.of(),
                null);
    }

    /** A copy with other outlier settings (tests and embedded use). */
    public ProxyOptions withOutlier(int consecutiveFailures, long baseEjectionMillis, double maxEjectedShare) {
        return new ProxyOptions(
                connectTimeoutMillis,
                idleTimeoutMillis,
                timeoutMillis,
                retries,
                retryBudgetRatio,
                retryBudgetMinPerSecond,
                consecutiveFailures,
                baseEjectionMillis,
                Math.max(outlierMaxEjectionMillis, baseEjectionMillis),
                maxEjectedShare,
                maxBufferedBodyBytes,
                retryBufferBytes,
                maxIdleConnections,
                requireToken,
                routes,
                upstreamCaFile);
    }

    /** A copy with other default timeouts (tests and embedded use). */
    public ProxyOptions withTimeouts(long connectMillis, long idleMillis, long totalMillis) {
        return new ProxyOptions(
                connectMillis,
                idleMillis,
                totalMillis,
                retries,
                retryBudgetRatio,
                retryBudgetMinPerSecond,
                outlierConsecutiveFailures,
                outlierBaseEjectionMillis,
                outlierMaxEjectionMillis,
                outlierMaxEjectedShare,
                maxBufferedBodyBytes,
                retryBufferBytes,
                maxIdleConnections,
                requireToken,
                routes,
                upstreamCaFile);
    }

    /** A copy with another retry budget (tests and embedded use). */
    public ProxyOptions withRetryBudget(int newRetries, double ratio, int minPerSecond) {
        return new ProxyOptions(
                connectTimeoutMillis,
                idleTimeoutMillis,
                timeoutMillis,
                newRetries,
                ratio,
                minPerSecond,
                outlierConsecutiveFailures,
                outlierBaseEjectionMillis,
                outlierMaxEjectionMillis,
                outlierMaxEjectedShare,
                maxBufferedBodyBytes,
                retryBufferBytes,
                maxIdleConnections,
                requireToken,
                routes,
                upstreamCaFile);
    }

    /** A copy with another CA bundle for HTTPS upstreams (tests and embedded use). */
    public ProxyOptions withUpstreamCaFile(Path caFile) {
        return new ProxyOptions(
                connectTimeoutMillis,
                idleTimeoutMillis,
                timeoutMillis,
                retries,
                retryBudgetRatio,
                retryBudgetMinPerSecond,
                outlierConsecutiveFailures,
                outlierBaseEjectionMillis,
                outlierMaxEjectionMillis,
                outlierMaxEjectedShare,
                maxBufferedBodyBytes,
                retryBufferBytes,
                maxIdleConnections,
                requireToken,
                routes,
                caFile);
    }

    /** A copy with other configured routes. */
    ProxyOptions withRoutes(List<RouteSpec> newRoutes) {
        return new ProxyOptions(
                connectTimeoutMillis,
                idleTimeoutMillis,
                timeoutMillis,
                retries,
                retryBudgetRatio,
                retryBudgetMinPerSecond,
                outlierConsecutiveFailures,
                outlierBaseEjectionMillis,
                outlierMaxEjectionMillis,
                outlierMaxEjectedShare,
                maxBufferedBodyBytes,
                retryBufferBytes,
                maxIdleConnections,
                requireToken,
                newRoutes,
                upstreamCaFile);
    }

    /**
     * Reads the {@code edgegate.proxy} node; a missing key takes its default. Every problem is
     * collected before failing.
     *
     * @throws IllegalArgumentException naming each bad key and value ({@code key=value (why)})
     */
    public static ProxyOptions from(Config proxy) {
        ProxyOptions d = defaults();
        List<String> problems = new ArrayList<>();
        Reader r = new Reader(proxy, problems);
        List<RouteSpec> routes = new ArrayList<>();
        Config list = proxy.get("routes");
        if (list.exists() && list.type() != Config.Type.VALUE) {
            List<Config> nodes = list.asNodeList().orElse(List.of());
            Set<String> names = new HashSet<>();
            for (int i = 0; i < nodes.size(); i++) {
                String prefix = "edgegate.proxy.routes[" + i + "].";
                try {
                    RouteSpec route =
                            RouteCodec.read(RouteCodec.tree(nodes.get(i)), prefix, true, RouteSpec.SOURCE_CONFIG);
                    RouteCodec.checkFiles(route, prefix);
                    if (!names.add(route.name())) {
                        problems.add(prefix + "name=" + route.name() + " (used by another route)");
                    }
                    routes.add(route);
                } catch (ProxyException e) {
                    problems.add(e.getMessage());
                }
            }
        } else if (list.exists() && !list.asString().orElse("").isBlank()) {
            problems.add("edgegate.proxy.routes=" + list.asString().orElse("") + " (must be a list of routes)");
        }
        ProxyOptions options = new ProxyOptions(
                r.millis("connect-timeout", d.connectTimeoutMillis()),
                r.millis("idle-timeout", d.idleTimeoutMillis()),
                r.millis("timeout", d.timeoutMillis()),
                r.integer("retries", d.retries(), 0, RouteCodec.MAX_RETRIES),
                r.share("retry-budget.ratio", d.retryBudgetRatio(), 0, 10),
                r.integer("retry-budget.min-per-second", d.retryBudgetMinPerSecond(), 0, 1_000_000),
                r.integer("outlier.consecutive-failures", d.outlierConsecutiveFailures(), 1, 1_000_000),
                r.millis("outlier.base-ejection-time", d.outlierBaseEjectionMillis()),
                r.millis("outlier.max-ejection-time", d.outlierMaxEjectionMillis()),
                r.share("outlier.max-ejected-share", d.outlierMaxEjectedShare(), 0, 1),
                r.integer("max-buffered-body-bytes", d.maxBufferedBodyBytes(), 1, Integer.MAX_VALUE - 16),
                r.integer("retry-buffer-bytes", d.retryBufferBytes(), 0, 16 << 20),
                r.integer("max-idle-connections", d.maxIdleConnections(), 1, 100_000),
                r.bool("require-token", d.requireToken()),
                routes,
                r.pemBundle("upstream-ca-file"));
        if (options.outlierMaxEjectionMillis() < options.outlierBaseEjectionMillis()) {
            problems.add("edgegate.proxy.outlier.max-ejection-time=" + options.outlierMaxEjectionMillis()
                    + "ms (must not be below outlier.base-ejection-time=" + options.outlierBaseEjectionMillis()
                    + "ms)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid configuration: " + String.join(", ", problems));
        }
        return options;
    }

    /** Reads typed values under {@code edgegate.proxy}, collecting problems. */
    private record Reader(Config config, List<String> problems) {
        private String text(String key) {
            Config node = config.get(key);
            return node.exists() ? node.asString().orElse("").trim() : null;
        }

        long millis(String key, long defaultValue) {
            String text = text(key);
            if (text == null) {
                return defaultValue;
            }
            try {
                long millis = RouteCodec.parseMillis("edgegate.proxy." + key, text);
                if (millis <= 0 || millis > RouteCodec.MAX_TIMEOUT_MILLIS) {
                    problems.add("edgegate.proxy." + key + "=" + text + " (must be 1ms-24h)");
                    return defaultValue;
                }
                return millis;
            } catch (ProxyException e) {
                problems.add("edgegate.proxy." + key + "=" + text + " (not a duration such as 500ms, 2s, 5m)");
                return defaultValue;
            }
        }

        int integer(String key, int defaultValue, int min, int max) {
            String text = text(key);
            if (text == null) {
                return defaultValue;
            }
            try {
                long value = Long.parseLong(text);
                if (value < min || value > max) {
                    problems.add("edgegate.proxy." + key + "=" + text + " (must be " + min + "-" + max + ")");
                    return defaultValue;
                }
                return (int) value;
            } catch (NumberFormatException e) {
                problems.add("edgegate.proxy." + key + "=" + text + " (not an integer)");
                return defaultValue;
            }
        }

        boolean bool(String key, boolean defaultValue) {
            String text = text(key);
            if (text == null) {
                return defaultValue;
            }
            if (text.equals("true") || text.equals("false")) {
                return Boolean.parseBoolean(text);
            }
            problems.add("edgegate.proxy." + key + "=" + text + " (true or false)");
            return defaultValue;
        }

        /** A readable PEM CA bundle, or null when the key is unset or empty. */
        Path pemBundle(String key) {
            String text = text(key);
            if (text == null || text.isEmpty()) {
                return null;
            }
            try {
                Path file = Path.of(text);
                PemFiles.certificates(file);
                return file;
            } catch (TlsMaterialException | InvalidPathException e) {
                problems.add("edgegate.proxy." + key + "=" + text + " (" + e.getMessage() + ")");
                return null;
            }
        }

        double share(String key, double defaultValue, double min, double max) {
            String text = text(key);
            if (text == null) {
                return defaultValue;
            }
            try {
                double value = Double.parseDouble(text);
                if (!(value >= min && value <= max)) {
                    problems.add("edgegate.proxy." + key + "=" + text + " (must be " + min + "-" + max + ")");
                    return defaultValue;
                }
                return value;
            } catch (NumberFormatException e) {
                problems.add("edgegate.proxy." + key + "=" + text + " (not a number)");
                return defaultValue;
            }
        }
    }
}
