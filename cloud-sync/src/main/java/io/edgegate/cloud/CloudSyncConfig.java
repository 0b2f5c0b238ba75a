package io.edgegate.cloud;

import io.edgegate.acl.AclOptions;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.config.ConfigLoader;
import io.edgegate.config.GoDuration;
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
import java.util.UUID;

/**
 * The whole configuration of cloud-sync: one immutable object read once at start-up from
 * {@code cloudsync.yaml} (defaults on the classpath, documented there), an optional YAML file
 * ({@code CLOUDSYNC_CONFIG} or {@code --config FILE}), system properties and environment
 * variables, in rising priority. Key {@code cloudsync.a-b.c-d} is {@code CLOUDSYNC_A_B_C_D} in
 * the environment: {@code CLOUDSYNC_MQTT_URL}, {@code CLOUDSYNC_PORT},
 * {@code CLOUDSYNC_CONSUL_PORT}.
 *
 * <p>{@code tls} holds the listeners' TLS files ({@code cloudsync.tls.*}), null when TLS is off;
 * {@code metricsEnabled} is {@code cloudsync.metrics.enabled} ({@code /metrics}).
 */
public record CloudSyncConfig(
        String host,
        int port,
        int consulPort,
        LinkOptions mqtt,
        long resyncMinIntervalMillis,
        long defaultWaitMillis,
        long maxWaitMillis,
        AclOptions acl,
        int maxConnections,
        GuardOptions limits,
        ServerTlsFiles tls,
        LogOptions log,
        boolean metricsEnabled) {

    /** Reads the defaults, a file, system properties and the environment: the gateway's loader. */
    private static final ConfigLoader LOADER = new ConfigLoader("cloudsync", "cloudsync.yaml", ConfigException::new);

    /** Every key this version reads, taken from the bundled defaults (every option has one there). */
    static final List<String> KEYS = LOADER.keys();

    static String envName(String key) {
        return ConfigLoader.envName(key);
    }

    /** Loads from the process environment and the command line ({@code --config FILE}). */
    public static CloudSyncConfig load(Map<String, String> env, String[] args) {
        return load(env, LOADER.file(env, args, "CLOUDSYNC_CONFIG", "cloud-sync [--config FILE]"));
    }

    /**
     * Loads with the given environment and optional YAML file; a file with keys this version does
     * not read is refused, naming them.
     */
    public static CloudSyncConfig load(Map<String, String> env, Path file) {
        return from(LOADER.load(env, file));
    }

    private static CloudSyncConfig from(Config c) {
        List<String> problems = new ArrayList<>();
        String clientId = text(c, "mqtt.client-id");
        if (clientId.isEmpty()) {
            clientId = "cloud-sync-" + hostName() + "-"
                    + UUID.randomUUID().toString().substring(0, 8);
        }
        long backoffInitial = duration(c, "mqtt.reconnect-backoff-initial", problems);
        long backoffMax = duration(c, "mqtt.reconnect-backoff-max", problems);
        if (backoffMax < backoffInitial) {
            problems.add("cloudsync.mqtt.reconnect-backoff-max=" + text(c, "mqtt.reconnect-backoff-max")
                    + " (at least cloudsync.mqtt.reconnect-backoff-initial="
                    + text(c, "mqtt.reconnect-backoff-initial") + ")");
            backoffMax = backoffInitial;
        }
        LinkOptions mqtt = null;
        try {
            mqtt = LinkOptions.of(text(c, "mqtt-url"), clientId)
                    .withProtocol(LinkOptions.Protocol.parse(text(c, "mqtt.protocol")))
                    .withBackoff(backoffInitial, backoffMax)
                    // resync commands (paced, at most Fleet.RESYNCS_PER_SECOND) and pushes: their
                    // acknowledgements come behind up to MqttLink.RECEIVE_MAXIMUM messages
                    .withMaxInFlight(64);
            if (!text(c, "mqtt.username").isEmpty()
                    || !text(c, "mqtt.password-file").isEmpty()) {
                mqtt = mqtt.withCredentials(
                        text(c, "mqtt.username").isEmpty() ? null : text(c, "mqtt.username"),
                        path(c, "mqtt.password-file"));
            }
            if (!text(c, "mqtt.trust-store").isEmpty()) {
                mqtt = mqtt.withTrustStore(path(c, "mqtt.trust-store"), path(c, "mqtt.trust-store-password-file"));
            }
            ClientTlsFiles files = ClientTlsFiles.parse(
                    "cloudsync.mqtt.", text(c, "mqtt.ca-file"), text(c, "mqtt.cert-file"), text(c, "mqtt.key-file"));
            if (files != null) {
                mqtt = mqtt.withTls(files);
            }
        } catch (IllegalArgumentException e) {
            problems.add("cloudsync.mqtt-url=" + text(c, "mqtt-url") + " / cloudsync.mqtt.* (" + e.getMessage() + ")");
        }
        AclOptions acl = null;
        String policy = text(c, "acl.default-policy");
        if (!policy.equals("deny") && !policy.equals("allow")) {
            problems.add("cloudsync.acl.default-policy=" + policy + " (deny or allow)");
        } else {
            acl = new AclOptions(
                    policy.equals("deny"),
                    path(c, "acl.tokens-file"),
                    Path.of(text(c, "acl.management-token-file")),
                    duration(c, "acl.reload-interval", problems));
        }
        GuardOptions limits = null;
        int maxConnections = positive(c, "limits.max-connections", problems);
        try {
            limits = new GuardOptions(
                    positive(c, "limits.max-connections-per-client", problems),
                    duration(c, "limits.request-head-timeout", problems),
                    duration(c, "limits.keep-alive-timeout", problems),
                    positive(c, "limits.max-request-line-bytes", problems),
                    positive(c, "limits.max-header-bytes", problems));
        } catch (IllegalArgumentException e) {
            // each bad value is already named in problems
        }
        ServerTlsFiles tls = null;
        try {
            tls = ServerTlsFiles.parse(
                    "cloudsync.tls.",
                    text(c, "tls.cert-file"),
                    text(c, "tls.key-file"),
                    text(c, "tls.client-ca-file"),
                    text(c, "tls.client-auth"));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        LogOptions log = null;
        try {
            log = LogOptions.parse(text(c, "log.format"), text(c, "log.level"));
        } catch (IllegalArgumentException e) {
            problems.add("cloudsync." + e.getMessage());
        }
        CloudSyncConfig config = new CloudSyncConfig(
                text(c, "host"),
                port(c, "port", problems),
                port(c, "consul-port", problems),
                mqtt,
                duration(c, "resync.min-interval", problems),
                duration(c, "blocking.default-wait", problems),
                duration(c, "blocking.max-wait", problems),
                acl,
                maxConnections,
                limits,
                tls,
                log,
                bool(c, "metrics.enabled", problems));
        if (!problems.isEmpty()) {
            throw new ConfigException("invalid configuration: " + String.join(", ", problems));
        }
        return config;
    }

    /** A copy with other ports and broker (tests and embedded use). */
    public CloudSyncConfig with(int newPort, int newConsulPort, LinkOptions newMqtt) {
        return new CloudSyncConfig(
                host,
                newPort,
                newConsulPort,
                newMqtt,
                resyncMinIntervalMillis,
                defaultWaitMillis,
                maxWaitMillis,
                acl,
                maxConnections,
                limits,
                tls,
                log,
                metricsEnabled);
    }

    private static String text(Config c, String key) {
        return c.get(key).asString().orElse("").trim();
    }

    private static Path path(Config c, String key) {
        String t = text(c, key);
        return t.isEmpty() ? null : Path.of(t);
    }

    private static int port(Config c, String key, List<String> problems) {
        String t = text(c, key);
        try {
            int p = Integer.parseInt(t);
            if (p >= 0 && p <= 65_535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        problems.add("cloudsync." + key + "=" + t + " (0-65535, 0 picks a free port)");
        return 0;
    }

    private static int positive(Config c, String key, List<String> problems) {
        String t = text(c, key);
        try {
            int value = Integer.parseInt(t);
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        problems.add("cloudsync." + key + "=" + t + " (must be a positive integer)");
        return 1;
    }

    private static boolean bool(Config c, String key, List<String> problems) {
        String t = text(c, key);
        if (t.equals("true") || t.equals("false")) {
            return t.equals("true");
        }
        problems.add("cloudsync." + key + "=" + t + " (true or false)");
        return true;
    }

    private static long duration(Config c, String key, List<String> problems) {
        String t = text(c, key);
        try {
            long millis = GoDuration.parseMillis(t);
            if (millis > 0) {
                return millis;
            }
            problems.add("cloudsync." + key + "=" + t + " (must be positive)");
        } catch (IllegalArgumentException e) {
            problems.add("cloudsync." + key + "=" + t + " (" + e.getMessage() + ")");
        }
        return 1;
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isEmpty()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "host";
        }
    }

    /** A configuration that cannot start cloud-sync. */
    public static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ConfigException(String message) {
            super(message);
        }
    }
}
