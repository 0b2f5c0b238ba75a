package io.edgegate.cloud;

import io.edgegate.acl.AclOptions;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.config.ConfigLoader;
import io.edgegate.config.ConfigReader;
import io.edgegate.listener.GuardOptions;
import io.edgegate.log.LogOptions;
import io.edgegate.tls.ServerTlsFiles;
import java.nio.file.Path;
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
     *
     * @throws ConfigException naming every bad key and value
     */
    public static CloudSyncConfig load(Map<String, String> env, Path file) {
        ConfigReader r = LOADER.reader(env, file);
        String clientId = r.text("mqtt.client-id");
        if (clientId.isEmpty()) {
            clientId = "cloud-sync-" + ConfigLoader.hostName("host") + "-"
                    + UUID.randomUUID().toString().substring(0, 8);
        }
        if (r.text("mqtt-url").isEmpty()) {
            r.problem("mqtt-url", "a broker URL is needed: tcp://host:port or ssl://host:port");
        }
        LinkOptions.Builder mqtt = LinkOptions.read(r, r.text("mqtt-url"), clientId);
        CloudSyncConfig config = new CloudSyncConfig(
                r.text("host"),
                r.port("port"),
                r.port("consul-port"),
                // resync commands (paced, at most Fleet.RESYNCS_PER_SECOND) and pushes: their
                // acknowledgements come behind up to MqttLink.RECEIVE_MAXIMUM messages
                mqtt == null ? null : mqtt.maxInFlight(64).build(),
                r.duration("resync.min-interval"),
                r.duration("blocking.default-wait"),
                r.duration("blocking.max-wait"),
                AclOptions.read(r, Path.of(r.text("acl.management-token-file"))),
                r.positive("limits.max-connections"),
                GuardOptions.read(r),
                ServerTlsFiles.read(r),
                LogOptions.read(r),
                r.bool("metrics.enabled"));
        r.done();
        return config;
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A configuration that cannot start cloud-sync. */
    public static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ConfigException(String message) {
            super(message);
        }
    }

    /** Builds a {@link CloudSyncConfig}. Not thread-safe. */
    public static final class Builder {
        private String host;
        private int port;
        private int consulPort;
        private LinkOptions mqtt;
        private long resyncMinIntervalMillis;
        private long defaultWaitMillis;
        private long maxWaitMillis;
        private AclOptions acl;
        private int maxConnections;
        private GuardOptions limits;
        private ServerTlsFiles tls;
        private LogOptions log;
        private boolean metricsEnabled;

        private Builder(CloudSyncConfig c) {
            host = c.host;
            port = c.port;
            consulPort = c.consulPort;
            mqtt = c.mqtt;
            resyncMinIntervalMillis = c.resyncMinIntervalMillis;
            defaultWaitMillis = c.defaultWaitMillis;
            maxWaitMillis = c.maxWaitMillis;
            acl = c.acl;
            maxConnections = c.maxConnections;
            limits = c.limits;
            tls = c.tls;
            log = c.log;
            metricsEnabled = c.metricsEnabled;
        }

        public Builder host(String value) {
            host = value;
            return this;
        }

        /** Both listeners' ports (0 picks free ones). */
        public Builder ports(int apiPort, int consulApiPort) {
            port = apiPort;
            consulPort = consulApiPort;
            return this;
        }

        public Builder mqtt(LinkOptions value) {
            mqtt = value;
            return this;
        }

        public Builder resyncMinIntervalMillis(long value) {
            resyncMinIntervalMillis = value;
            return this;
        }

        public Builder blocking(long defaultWait, long maxWait) {
            defaultWaitMillis = defaultWait;
            maxWaitMillis = maxWait;
            return this;
        }

        public Builder acl(AclOptions value) {
            acl = value;
            return this;
        }

        public Builder maxConnections(int value) {
            maxConnections = value;
            return this;
        }

        public Builder limits(GuardOptions value) {
            limits = value;
            return this;
        }

        public Builder tls(ServerTlsFiles value) {
            tls = value;
            return this;
        }

        public Builder log(LogOptions value) {
            log = value;
            return this;
        }

        public Builder metricsEnabled(boolean value) {
            metricsEnabled = value;
            return this;
        }

        public CloudSyncConfig build() {
            return new CloudSyncConfig(
                    host,
                    port,
                    consulPort,
                    mqtt,
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
    }
}
