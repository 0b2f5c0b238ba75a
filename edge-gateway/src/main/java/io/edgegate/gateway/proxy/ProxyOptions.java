package io.edgegate.gateway.proxy;

import io.edgegate.tls.PemFiles;
import io.edgegate.tls.TlsMaterialException;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.yaml.YamlConfigParser;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The proxy's configuration ({@code edgegate.proxy.*}, documented with its defaults in
 * {@code edgegate.yaml}): the defaults every route inherits, the retry budget, passive outlier
 * detection and the routes of the configuration. Immutable; read once at start-up by {@link #from}
 * (the gateway's configuration holds the result); {@link #builder()} makes variants.
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
 * @param leanPlatformThreads lean connections served by a platform thread each, at most this many
 *     at once (the next ones by their virtual thread); 0: every lean connection on its virtual thread
 * @param eventLoops event loops serving plain-HTTP lean connections ({@link EventLoops}); 0: none,
 *     every lean connection on its own thread
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
        Path upstreamCaFile,
        int leanPlatformThreads,
        int eventLoops) {

    public ProxyOptions {
        routes = List.copyOf(routes);
    }

    /**
     * The documented defaults: {@code edgegate.proxy} of the bundled {@code edgegate.yaml}, the one
     * place where each key's default and its doc live, read once on first use.
     */
    public static ProxyOptions defaults() {
        return Documented.OPTIONS;
    }

    /** Holds the defaults read from the bundled file (initialised on first use). */
    private static final class Documented {
        static final ProxyOptions OPTIONS = read(
                Config.builder()
                        .disableEnvironmentVariablesSource()
                        .disableSystemPropertiesSource()
                        .disableParserServices()
                        .addParser(YamlConfigParser.create())
                        .addSource(ConfigSources.classpath("edgegate.yaml"))
                        .build()
                        .get("edgegate.proxy"),
                null);
    }

    /** The most event loops ({@code event-loops}). */
    static final int MAX_EVENT_LOOPS = 256;

    /** What a read starts from before it sets every component; never used as a value. */
    private static final ProxyOptions UNSET =
            new ProxyOptions(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, List.of(), null, 0, 0);

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return defaults().toBuilder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builds {@link ProxyOptions}; one setter a component. Not thread-safe. */
    public static final class Builder {
        private long connectTimeoutMillis;
        private long idleTimeoutMillis;
        private long timeoutMillis;
        private int retries;
        private double retryBudgetRatio;
        private int retryBudgetMinPerSecond;
        private int outlierConsecutiveFailures;
        private long outlierBaseEjectionMillis;
        private long outlierMaxEjectionMillis;
        private double outlierMaxEjectedShare;
        private int maxBufferedBodyBytes;
        private int retryBufferBytes;
        private int maxIdleConnections;
        private boolean requireToken;
        private List<RouteSpec> routes;
        private Path upstreamCaFile;
        private int leanPlatformThreads;
        private int eventLoops;

        private Builder(ProxyOptions o) {
            connectTimeoutMillis = o.connectTimeoutMillis;
            idleTimeoutMillis = o.idleTimeoutMillis;
            timeoutMillis = o.timeoutMillis;
            retries = o.retries;
            retryBudgetRatio = o.retryBudgetRatio;
            retryBudgetMinPerSecond = o.retryBudgetMinPerSecond;
            outlierConsecutiveFailures = o.outlierConsecutiveFailures;
            outlierBaseEjectionMillis = o.outlierBaseEjectionMillis;
            outlierMaxEjectionMillis = o.outlierMaxEjectionMillis;
            outlierMaxEjectedShare = o.outlierMaxEjectedShare;
            maxBufferedBodyBytes = o.maxBufferedBodyBytes;
            retryBufferBytes = o.retryBufferBytes;
            maxIdleConnections = o.maxIdleConnections;
            requireToken = o.requireToken;
            routes = o.routes;
            upstreamCaFile = o.upstreamCaFile;
            leanPlatformThreads = o.leanPlatformThreads;
            eventLoops = o.eventLoops;
        }

        public Builder connectTimeoutMillis(long value) {
            connectTimeoutMillis = value;
            return this;
        }

        public Builder idleTimeoutMillis(long value) {
            idleTimeoutMillis = value;
            return this;
        }

        public Builder timeoutMillis(long value) {
            timeoutMillis = value;
            return this;
        }

        public Builder retries(int value) {
            retries = value;
            return this;
        }

        public Builder retryBudgetRatio(double value) {
            retryBudgetRatio = value;
            return this;
        }

        public Builder retryBudgetMinPerSecond(int value) {
            retryBudgetMinPerSecond = value;
            return this;
        }

        public Builder outlierConsecutiveFailures(int value) {
            outlierConsecutiveFailures = value;
            return this;
        }

        public Builder outlierBaseEjectionMillis(long value) {
            outlierBaseEjectionMillis = value;
            return this;
        }

        public Builder outlierMaxEjectionMillis(long value) {
            outlierMaxEjectionMillis = value;
            return this;
        }

        public Builder outlierMaxEjectedShare(double value) {
            outlierMaxEjectedShare = value;
            return this;
        }

        public Builder maxBufferedBodyBytes(int value) {
            maxBufferedBodyBytes = value;
            return this;
        }

        public Builder retryBufferBytes(int value) {
            retryBufferBytes = value;
            return this;
        }

        public Builder maxIdleConnections(int value) {
            maxIdleConnections = value;
            return this;
        }

        public Builder requireToken(boolean value) {
            requireToken = value;
            return this;
        }

        public Builder routes(List<RouteSpec> value) {
            routes = value;
            return this;
        }

        public Builder upstreamCaFile(Path value) {
            upstreamCaFile = value;
            return this;
        }

        public Builder leanPlatformThreads(int value) {
            leanPlatformThreads = value;
            return this;
        }

        public Builder eventLoops(int value) {
            eventLoops = value;
            return this;
        }

        /** The three default timeouts: connect, idle, and the whole exchange. */
        public Builder timeouts(long connectMillis, long idleMillis, long totalMillis) {
            return connectTimeoutMillis(connectMillis)
                    .idleTimeoutMillis(idleMillis)
                    .timeoutMillis(totalMillis);
        }

        /** Outlier ejection; the longest ejection is raised to the base one when below it. */
        public Builder outlier(int consecutiveFailures, long baseEjectionMillis, double maxEjectedShare) {
            return outlierConsecutiveFailures(consecutiveFailures)
                    .outlierBaseEjectionMillis(baseEjectionMillis)
                    .outlierMaxEjectionMillis(Math.max(outlierMaxEjectionMillis, baseEjectionMillis))
                    .outlierMaxEjectedShare(maxEjectedShare);
        }

        /** Retries beyond the first attempt, and the budget they draw on. */
        public Builder retryBudget(int newRetries, double ratio, int minPerSecond) {
            return retries(newRetries).retryBudgetRatio(ratio).retryBudgetMinPerSecond(minPerSecond);
        }

        public ProxyOptions build() {
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
                    upstreamCaFile,
                    leanPlatformThreads,
                    eventLoops);
        }
    }

    /**
     * Reads the {@code edgegate.proxy} node; a missing key takes its default. Every problem is
     * collected before failing.
     *
     * @throws IllegalArgumentException naming each bad key and value ({@code key=value (why)})
     */
    public static ProxyOptions from(Config proxy) {
        return read(proxy, defaults());
    }

    /**
     * Reads {@code edgegate.proxy}; a key that is absent takes its value from {@code d}, or, when
     * {@code d} is null (reading the documented defaults themselves), is a problem.
     */
    private static ProxyOptions read(Config proxy, ProxyOptions fallback) {
        ProxyOptions d = fallback == null ? UNSET : fallback;
        List<String> problems = new ArrayList<>();
        Reader r = new Reader(proxy, problems, fallback == null);
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
        ProxyOptions options = new Builder(UNSET)
                .connectTimeoutMillis(r.millis("connect-timeout", d.connectTimeoutMillis()))
                .idleTimeoutMillis(r.millis("idle-timeout", d.idleTimeoutMillis()))
                .timeoutMillis(r.millis("timeout", d.timeoutMillis()))
                .retries(r.integer("retries", d.retries(), 0, RouteCodec.MAX_RETRIES))
                .retryBudgetRatio(r.share("retry-budget.ratio", d.retryBudgetRatio(), 0, 10))
                .retryBudgetMinPerSecond(
                        r.integer("retry-budget.min-per-second", d.retryBudgetMinPerSecond(), 0, 1_000_000))
                .outlierConsecutiveFailures(
                        r.integer("outlier.consecutive-failures", d.outlierConsecutiveFailures(), 1, 1_000_000))
                .outlierBaseEjectionMillis(r.millis("outlier.base-ejection-time", d.outlierBaseEjectionMillis()))
                .outlierMaxEjectionMillis(r.millis("outlier.max-ejection-time", d.outlierMaxEjectionMillis()))
                .outlierMaxEjectedShare(r.share("outlier.max-ejected-share", d.outlierMaxEjectedShare(), 0, 1))
                .maxBufferedBodyBytes(
                        r.integer("max-buffered-body-bytes", d.maxBufferedBodyBytes(), 1, Integer.MAX_VALUE - 16))
                .retryBufferBytes(r.integer("retry-buffer-bytes", d.retryBufferBytes(), 0, 16 << 20))
                .maxIdleConnections(r.integer("max-idle-connections", d.maxIdleConnections(), 1, 100_000))
                .requireToken(r.bool("require-token", d.requireToken()))
                .routes(routes)
                .upstreamCaFile(r.pemBundle("upstream-ca-file"))
                .leanPlatformThreads(r.integer("lean-platform-threads", d.leanPlatformThreads(), 0, 100_000))
                .eventLoops(r.loops("event-loops", d.eventLoops()))
                .build();
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
    private record Reader(Config config, List<String> problems, boolean required) {
        private String text(String key) {
            Config node = config.get(key);
            if (!node.exists() && required) {
                problems.add("edgegate.proxy." + key + " (missing from the documented defaults)");
            }
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

        /** A count of event loops (0 to 256), or {@code auto}: one per available processor. */
        int loops(String key, int defaultValue) {
            String text = text(key);
            if (text == null) {
                return defaultValue;
            }
            if (text.equals("auto")) {
                return Math.min(MAX_EVENT_LOOPS, Runtime.getRuntime().availableProcessors());
            }
            try {
                int value = Integer.parseInt(text);
                if (value >= 0 && value <= MAX_EVENT_LOOPS) {
                    return value;
                }
            } catch (NumberFormatException e) {
                // named below
            }
            problems.add("edgegate.proxy." + key + "=" + text + " (auto, or 0-" + MAX_EVENT_LOOPS + ")");
            return defaultValue;
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
