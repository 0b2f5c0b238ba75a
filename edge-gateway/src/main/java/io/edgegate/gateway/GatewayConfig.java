package io.edgegate.gateway;

import io.edgegate.acl.AclOptions;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.config.ConfigLoader;
import io.edgegate.gateway.api.ApiException;
import io.edgegate.gateway.api.Durations;
import io.edgegate.gateway.api.Limits;
import io.edgegate.gateway.health.CheckTargetPolicy;
import io.edgegate.gateway.health.Probers;
import io.edgegate.gateway.inference.InferenceOptions;
import io.edgegate.gateway.proxy.ProxyOptions;
import io.edgegate.gateway.registry.ForbiddenAddresses;
import io.edgegate.gateway.registry.RegistryOptions;
import io.edgegate.gateway.sync.SyncOptions;
import io.edgegate.listener.GuardOptions;
import io.edgegate.log.LogOptions;
import io.edgegate.tls.ClientTlsFiles;
import io.edgegate.tls.ServerTlsFiles;
import io.helidon.config.Config;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The gateway's whole configuration: one immutable object, read once at start-up from
 * {@code edgegate.yaml} (defaults on the classpath, documented there), an optional YAML file
 * ({@code EDGEGATE_CONFIG} or {@code --config FILE}), system properties and environment
 * variables, in rising priority. Every key {@code edgegate.a-b.c-d} can be set from the
 * environment as {@code EDGEGATE_A_B_C_D}. Validated here, so a bad value stops the start with
 * a message naming the key.
 */
public record GatewayConfig(
        String host,
        int port,
        int consulPort,
        Path dataDir,
        String node,
        String site,
        String advertiseAddress,
        Limits limits,
        int maxInstances,
        int queueCapacity,
        int maxWriteBatch,
        long writeTimeoutMillis,
        long compactAfterBytes,
        long defaultWaitMillis,
        long maxWaitMillis,
        long drainTimeoutMillis,
        int maxConcurrentProbes,
        boolean execChecksEnabled,
        long syncPublishRate,
        long syncDigestIntervalMillis,
        Config edgegate) {

    /** Reads the defaults, a file, system properties and the environment (see {@link ConfigLoader}). */
    private static final ConfigLoader LOADER = new ConfigLoader("edgegate", "edgegate.yaml", ConfigException::new);

    /** Every key this version reads, taken from the bundled defaults (every option has one there). */
    static final List<String> KEYS = LOADER.keys();

    /** The environment variable for a key: upper case, dots and dashes to underscores. */
    static String envName(String key) {
        return ConfigLoader.envName(key);
    }

    /** Loads from the process environment and the command line ({@code --config FILE}). */
    public static GatewayConfig load(Map<String, String> env, String[] args) {
        return load(env, LOADER.file(env, args, "EDGEGATE_CONFIG", "edge-gateway [--config FILE]"));
    }

    /** Loads with the given environment and optional YAML file. */
    public static GatewayConfig load(Map<String, String> env, Path file) {
        return from(LOADER.load(env, file));
    }

    private static GatewayConfig from(Config c) {
        List<String> problems = new ArrayList<>();
        Reader r = new Reader(c, problems);
        String node = r.text("node");
        if (node.isEmpty()) {
            node = hostName();
        }
        Limits limits = new Limits(
                r.positive("limits.max-body-bytes"),
                r.positive("limits.max-batch"),
                r.positive("limits.max-name-length"),
                r.positive("limits.max-tags"),
                r.positive("limits.max-tag-length"),
                r.positive("limits.max-meta"),
                r.positive("limits.max-meta-key-length"),
                r.positive("limits.max-meta-value-length"),
                r.positive("limits.max-checks"));
        GatewayConfig config = new GatewayConfig(
                r.text("host"),
                r.port("port"),
                r.port("consul-port"),
                Path.of(r.text("data-dir")),
                node,
                r.text("site"),
                r.text("advertise-address"),
                limits,
                r.positive("limits.max-instances"),
                r.positive("registry.queue-capacity"),
                r.positive("registry.max-write-batch"),
                r.duration("registry.write-timeout"),
                r.positive("registry.compact-after-bytes"),
                r.duration("blocking.default-wait"),
                r.duration("blocking.max-wait"),
                r.durationOrZero("registry.drain-timeout"),
                r.positive("health.max-concurrent-probes"),
                r.bool("health.enable-exec-checks"),
                r.positive("sync.publish-rate"),
                r.duration("sync.digest-interval"),
                c);
        if (!io.edgegate.bridge.Topics.validLevel(node)) {
            problems.add("edgegate.node=" + node + " (1-128 characters, none of / + #)");
        }
        if (!io.edgegate.bridge.Topics.validLevel(config.site())) {
            problems.add("edgegate.site=" + config.site() + " (1-128 characters, none of / + #)");
        }
        long backoffInitial = r.duration("mqtt.reconnect-backoff-initial");
        long backoffMax = r.duration("mqtt.reconnect-backoff-max");
        if (backoffMax < backoffInitial) {
            problems.add("edgegate.mqtt.reconnect-backoff-max=" + r.text("mqtt.reconnect-backoff-max")
                    + " (at least edgegate.mqtt.reconnect-backoff-initial="
                    + r.text("mqtt.reconnect-backoff-initial") + ")");
        }
        try {
            config.syncOptions();
        } catch (IllegalArgumentException e) {
            problems.add("edgegate.mqtt: " + e.getMessage());
        }
        try {
            InetAddress advertised = ForbiddenAddresses.literal(config.advertiseAddress());
            String why = advertised == null ? null : ForbiddenAddresses.why(advertised);
            if (why != null) {
                problems.add("edgegate.advertise-address=" + config.advertiseAddress() + " (" + why
                        + ": never a service's address)");
            }
        } catch (IllegalArgumentException e) {
            problems.add("edgegate.advertise-address=" + config.advertiseAddress() + " (" + e.getMessage() + ")");
        }
        try {
            config.checkTargetPolicy();
        } catch (IllegalArgumentException e) {
            problems.add(CheckTargetPolicy.ALLOWED_NETWORKS_KEY + "="
                    + config.edgegate
                            .get("health.allowed-check-networks")
                            .asString()
                            .orElse("") + " ("
                    + e.getMessage() + ")");
        }
        try {
            config.probeOptions();
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        r.bool("proxy.lean-connections");
        try {
            ProxyOptions.from(config.proxy());
        } catch (IllegalArgumentException e) {
            problems.add("edgegate.proxy: " + e.getMessage());
        }
        try {
            config.inferenceOptions();
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        r.positive("limits.max-connections");
        r.positive("limits.max-connections-per-client");
        r.duration("limits.request-head-timeout");
        r.duration("limits.keep-alive-timeout");
        r.positive("limits.max-request-line-bytes");
        r.positive("limits.max-header-bytes");
        try {
            config.logOptions();
        } catch (IllegalArgumentException e) {
            problems.add("edgegate." + e.getMessage());
        }
        String policy = r.text("acl.default-policy").trim();
        if (!policy.equals("deny") && !policy.equals("allow")) {
            problems.add("edgegate.acl.default-policy=" + policy + " (deny or allow)");
        }
        r.duration("acl.reload-interval");
        r.bool("metrics.enabled");
        try {
            config.tls();
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new ConfigException("invalid configuration: " + String.join(", ", problems));
        }
        return config;
    }

    /** The registry's options from this configuration. */
    public RegistryOptions registryOptions() {
        return new RegistryOptions(
                queueCapacity, maxWriteBatch, maxInstances, writeTimeoutMillis, compactAfterBytes, drainTimeoutMillis);
    }

    /** A copy with other ports and data directory (tests and embedded use). */
    public GatewayConfig withPortsAndDataDir(int newPort, int newConsulPort, Path newDataDir) {
        return new GatewayConfig(
                host,
                newPort,
                newConsulPort,
                newDataDir,
                node,
                site,
                advertiseAddress,
                limits,
                maxInstances,
                queueCapacity,
                maxWriteBatch,
                writeTimeoutMillis,
                compactAfterBytes,
                defaultWaitMillis,
                maxWaitMillis,
                drainTimeoutMillis,
                maxConcurrentProbes,
                execChecksEnabled,
                syncPublishRate,
                syncDigestIntervalMillis,
                edgegate);
    }

    /**
     * The sync with the cloud, or null when {@code edgegate.mqtt.url} ({@code EDGEGATE_MQTT_URL})
     * is unset: the gateway then runs on its own.
     */
    public SyncOptions syncOptions() {
        String url = edgegate.get("mqtt.url").asString().orElse("").trim();
        if (url.isEmpty()) {
            return null;
        }
        String clientId = edgegate.get("mqtt.client-id").asString().orElse("").trim();
        LinkOptions link = LinkOptions.of(url, clientId.isEmpty() ? "edgegate-" + site + "-" + node : clientId)
                .withProtocol(LinkOptions.Protocol.parse(
                        edgegate.get("mqtt.protocol").asString().orElse("5")));
        String user = edgegate.get("mqtt.username").asString().orElse("");
        if (!user.isEmpty()) {
            link = link.withCredentials(
                    user, Path.of(edgegate.get("mqtt.password-file").asString().orElse("")));
        }
        String trustStore = edgegate.get("mqtt.trust-store").asString().orElse("");
        if (!trustStore.isEmpty()) {
            link = link.withTrustStore(
                    Path.of(trustStore),
                    Path.of(edgegate.get("mqtt.trust-store-password-file")
                            .asString()
                            .orElse("")));
        }
        ClientTlsFiles tls = ClientTlsFiles.parse(
                "edgegate.mqtt.",
                edgegate.get("mqtt.ca-file").asString().orElse(""),
                edgegate.get("mqtt.cert-file").asString().orElse(""),
                edgegate.get("mqtt.key-file").asString().orElse(""));
        if (tls != null) {
            link = link.withTls(tls);
        }
        long backoffInitial = backoffMillis("reconnect-backoff-initial", 1_000);
        link = link.withBackoff(
                backoffInitial, Math.max(backoffInitial, backoffMillis("reconnect-backoff-max", 30_000)));
        return new SyncOptions(link, syncPublishRate, syncDigestIntervalMillis);
    }

    /**
     * A reconnect backoff bound in milliseconds; {@code fallback} when it does not parse or is not
     * positive (start-up has refused such a value already, naming the key).
     */
    private long backoffMillis(String key, long fallback) {
        try {
            long millis = Durations.parseMillis(
                    "edgegate.mqtt." + key,
                    edgegate.get("mqtt." + key).asString().orElse(""));
            return millis > 0 ? millis : fallback;
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    /**
     * Access control: the default policy, the token file (re-read when it changes) or, without one,
     * the management token kept in the data directory ({@code management-token}).
     */
    public AclOptions aclOptions() {
        String tokens = edgegate.get("acl.tokens-file").asString().orElse("").trim();
        return new AclOptions(
                !edgegate.get("acl.default-policy")
                        .asString()
                        .orElse("deny")
                        .trim()
                        .equals("allow"),
                tokens.isEmpty() ? null : Path.of(tokens),
                dataDir.resolve(MANAGEMENT_TOKEN_FILE),
                Durations.parseMillis(
                        "edgegate.acl.reload-interval",
                        edgegate.get("acl.reload-interval").asString().orElse("5s")));
    }

    /** Whether {@code /metrics} serves Prometheus metrics ({@code edgegate.metrics.enabled}, checked at load). */
    public boolean metricsEnabled() {
        return edgegate.get("metrics.enabled").asString().orElse("true").trim().equals("true");
    }

    /** How the gateway logs ({@code edgegate.log.format}, {@code edgegate.log.level}). */
    public LogOptions logOptions() {
        return LogOptions.parse(
                edgegate.get("log.format").asString().orElse(""),
                edgegate.get("log.level").asString().orElse(""));
    }

    /** What each listener holds its connections to ({@code edgegate.limits}). */
    public GuardOptions guardOptions() {
        return new GuardOptions(
                intValue("limits.max-connections-per-client"),
                Durations.parseMillis(
                        "edgegate.limits.request-head-timeout",
                        edgegate.get("limits.request-head-timeout").asString().orElse("")),
                Durations.parseMillis(
                        "edgegate.limits.keep-alive-timeout",
                        edgegate.get("limits.keep-alive-timeout").asString().orElse("")),
                intValue("limits.max-request-line-bytes"),
                intValue("limits.max-header-bytes"));
    }

    /** Connections each listener holds open at once; past it the next waits to be accepted. */
    public int maxConnections() {
        return intValue("limits.max-connections");
    }

    private int intValue(String key) {
        return Integer.parseInt(edgegate.get(key).asString().orElse("").trim());
    }

    /** The file in the data directory that holds the management token of a gateway without a token file. */
    public static final String MANAGEMENT_TOKEN_FILE = "management-token";

    /** Where health checks may connect: {@code edgegate.health.allowed-check-networks}. */
    public CheckTargetPolicy checkTargetPolicy() {
        return CheckTargetPolicy.parse(
                edgegate.get("health.allowed-check-networks").asString().orElse(""));
    }

    /** How probes run: {@code edgegate.health.max-output-bytes} and whether exec checks run. */
    public Probers.Options probeOptions() {
        String text =
                edgegate.get("health.max-output-bytes").asString().orElse("").trim();
        int bytes;
        try {
            bytes = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("edgegate.health.max-output-bytes=" + text + " (not an integer)");
        }
        if (bytes < 1 || bytes > 1 << 20) {
            throw new IllegalArgumentException("edgegate.health.max-output-bytes=" + text + " (1-1048576)");
        }
        return Probers.Options.defaults().withExecEnabled(execChecksEnabled).withMaxOutputBytes(bytes);
    }

    /**
     * The TLS files of both listeners ({@code edgegate.tls.*}), checked by reading them; null when
     * TLS is off (no {@code cert-file} and {@code key-file}).
     *
     * @throws IllegalArgumentException naming each bad key and value
     */
    public ServerTlsFiles tls() {
        return ServerTlsFiles.parse(
                "edgegate.tls.",
                edgegate.get("tls.cert-file").asString().orElse(""),
                edgegate.get("tls.key-file").asString().orElse(""),
                edgegate.get("tls.client-ca-file").asString().orElse(""),
                edgegate.get("tls.client-auth").asString().orElse(""));
    }

    /** Inference routing: engine scrapes and the score balancer ({@code edgegate.inference}). */
    public InferenceOptions inferenceOptions() {
        return InferenceOptions.from(edgegate.get("inference"));
    }

    /** The {@code edgegate.proxy} section, read by the proxy. */
    public Config proxy() {
        return edgegate.get("proxy");
    }

    /**
     * Whether the proxy serves its connections with its own HTTP/1.1 handler
     * ({@code edgegate.proxy.lean-connections}, validated at load); false: Helidon's, as the API.
     */
    public boolean proxyLeanConnections() {
        return edgegate.get("proxy.lean-connections")
                .asString()
                .orElse("true")
                .trim()
                .equals("true");
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isEmpty()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "edge-node";
        }
    }

    /** A configuration that cannot start the gateway. */
    public static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ConfigException(String message) {
            super(message);
        }
    }

    /** Reads typed values, collecting every problem instead of stopping at the first. */
    private record Reader(Config config, List<String> problems) {
        String text(String key) {
            return config.get(key).asString().orElse("");
        }

        int port(String key) {
            int value = integer(key);
            if (value < 0 || value > 65_535) {
                problems.add("edgegate." + key + "=" + value + " (0-65535, 0 picks a free port)");
            }
            return value;
        }

        int positive(String key) {
            long value = integer(key);
            if (value <= 0 || value > Integer.MAX_VALUE) {
                problems.add("edgegate." + key + "=" + value + " (must be a positive integer)");
                return 1;
            }
            return (int) value;
        }

        int integer(String key) {
            String text = text(key);
            try {
                return Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                problems.add("edgegate." + key + "=" + text + " (not an integer)");
                return 1;
            }
        }

        long duration(String key) {
            String text = text(key);
            try {
                long millis = Durations.parseMillis("edgegate." + key, text);
                if (millis <= 0) {
                    problems.add("edgegate." + key + "=" + text + " (must be positive)");
                }
                return millis;
            } catch (ApiException e) {
                problems.add("edgegate." + key + "=" + text + " (not a duration such as 5s, 10m)");
                return 1;
            }
        }

        long durationOrZero(String key) {
            String text = text(key);
            try {
                return Durations.parseMillis("edgegate." + key, text);
            } catch (ApiException e) {
                problems.add("edgegate." + key + "=" + text + " (not a duration such as 30s; 0 for none)");
                return 0;
            }
        }

        boolean bool(String key) {
            String text = text(key).trim();
            if (text.equals("true") || text.equals("false")) {
                return Boolean.parseBoolean(text);
            }
            problems.add("edgegate." + key + "=" + text + " (true or false)");
            return false;
        }
    }
}
