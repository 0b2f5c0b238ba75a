package io.edgegate.gateway;

import io.edgegate.acl.AclOptions;
import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.Topics;
import io.edgegate.config.ConfigLoader;
import io.edgegate.config.ConfigReader;
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
import io.edgegate.tls.ServerTlsFiles;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The gateway's whole configuration: typed sections, each parsed once at start-up from
 * {@code edgegate.yaml} (every key's default and its documentation are there, and only there), an
 * optional YAML file ({@code EDGEGATE_CONFIG} or {@code --config FILE}), system properties and
 * environment variables, in rising priority (see {@link ConfigLoader}). Every key
 * {@code edgegate.a-b.c-d} can be set from the environment as {@code EDGEGATE_A_B_C_D}; a file
 * with a key this version does not read is refused. Every bad value is named, with its key, in one
 * message that stops the start. Immutable; {@link #toBuilder()} makes variants (tests, embedding).
 *
 * @param server the listeners' address and ports, the data directory and the node's identity
 * @param limits what one request may carry ({@code edgegate.limits.*})
 * @param registry the registry's tuning ({@code edgegate.registry.*}, {@code limits.max-instances})
 * @param blocking blocking queries' waits ({@code edgegate.blocking.*})
 * @param health active checks ({@code edgegate.health.*})
 * @param listeners what each listener holds its connections to ({@code edgegate.limits.*}) and
 *     whether the proxy's own connection handler serves them ({@code edgegate.proxy.lean-connections})
 * @param tls the TLS files of both listeners ({@code edgegate.tls.*}), read once to check them;
 *     null when TLS is off
 * @param acl access control ({@code edgegate.acl.*}); without a token file, the management token
 *     is kept in the data directory ({@value #MANAGEMENT_TOKEN_FILE})
 * @param log how the gateway logs ({@code edgegate.log.*})
 * @param metricsEnabled whether {@code /metrics} serves Prometheus metrics ({@code edgegate.metrics.enabled})
 * @param sync the sync with the cloud ({@code edgegate.mqtt.*}, {@code edgegate.sync.*}); null
 *     when {@code edgegate.mqtt.url} is empty: the gateway then runs on its own
 * @param inference inference routing: engine scrapes and the score balancer ({@code edgegate.inference.*})
 * @param proxy the proxy ({@code edgegate.proxy.*}, its routes included)
 */
public record GatewayConfig(
        Server server,
        Limits limits,
        RegistryOptions registry,
        Blocking blocking,
        Health health,
        Listeners listeners,
        ServerTlsFiles tls,
        AclOptions acl,
        LogOptions log,
        boolean metricsEnabled,
        SyncOptions sync,
        InferenceOptions inference,
        ProxyOptions proxy) {

    /** Reads the defaults, a file, system properties and the environment (see {@link ConfigLoader}). */
    private static final ConfigLoader LOADER = new ConfigLoader("edgegate", "edgegate.yaml", ConfigException::new);

    /** Every key this version reads, taken from the bundled defaults (every option has one there). */
    static final List<String> KEYS = LOADER.keys();

    /** The file in the data directory that holds the management token of a gateway without a token file. */
    public static final String MANAGEMENT_TOKEN_FILE = "management-token";

    /**
     * Where the gateway listens and who it is.
     *
     * @param host bind address of both listeners
     * @param port the native API's (and the proxy's) port; 0 picks a free one
     * @param consulPort the Consul-compatible API's port; 0 picks a free one
     * @param dataDir the journal's directory
     * @param node this node's name (the host name when the key is empty)
     * @param site this site's name (Consul datacenter)
     * @param advertiseAddress given to instances registered without an address
     */
    public record Server(
            String host, int port, int consulPort, Path dataDir, String node, String site, String advertiseAddress) {}

    /** Blocking queries: the wait when a client names none, and its cap. */
    public record Blocking(long defaultWaitMillis, long maxWaitMillis) {}

    /**
     * Active health checks.
     *
     * @param maxConcurrentProbes probes running at once
     * @param checkTargets where HTTP, TCP and gRPC checks may connect
     * @param probes output kept and whether exec checks run
     */
    public record Health(int maxConcurrentProbes, CheckTargetPolicy checkTargets, Probers.Options probes) {}

    /**
     * Both listeners' connections.
     *
     * @param maxConnections connections each listener holds open at once; past it the next waits
     * @param guard per-client connections, request-head and keep-alive times, request sizes
     * @param leanProxyConnections whether proxied requests are served by the proxy's own HTTP/1.1
     *     handler; false: by the web server's, as the API's
     */
    public record Listeners(int maxConnections, GuardOptions guard, boolean leanProxyConnections) {}

    /** The environment variable for a key: upper case, dots and dashes to underscores. */
    static String envName(String key) {
        return ConfigLoader.envName(key);
    }

    /** Loads from the process environment and the command line ({@code --config FILE}). */
    public static GatewayConfig load(Map<String, String> env, String[] args) {
        return load(env, LOADER.file(env, args, "EDGEGATE_CONFIG", "edge-gateway [--config FILE]"));
    }

    /**
     * Loads with the given environment and optional YAML file.
     *
     * @throws ConfigException naming every bad key and value, or the file's unknown keys
     */
    public static GatewayConfig load(Map<String, String> env, Path file) {
        ConfigReader r = LOADER.reader(env, file);
        Server server = server(r);
        GatewayConfig config = new GatewayConfig(
                server,
                new Limits(
                        r.positive("limits.max-body-bytes"),
                        r.positive("limits.max-batch"),
                        r.positive("limits.max-name-length"),
                        r.positive("limits.max-tags"),
                        r.positive("limits.max-tag-length"),
                        r.positive("limits.max-meta"),
                        r.positive("limits.max-meta-key-length"),
                        r.positive("limits.max-meta-value-length"),
                        r.positive("limits.max-checks")),
                new RegistryOptions(
                        r.positive("registry.queue-capacity"),
                        r.positive("registry.max-write-batch"),
                        r.positive("limits.max-instances"),
                        r.duration("registry.write-timeout"),
                        r.positive("registry.compact-after-bytes"),
                        r.durationOrZero("registry.drain-timeout")),
                new Blocking(r.duration("blocking.default-wait"), r.duration("blocking.max-wait")),
                new Health(
                        r.positive("health.max-concurrent-probes"),
                        r.parse("health.allowed-check-networks", CheckTargetPolicy::parse),
                        Probers.Options.builder()
                                .execEnabled(r.bool("health.enable-exec-checks"))
                                .maxOutputBytes(r.integer("health.max-output-bytes", 1, 1 << 20))
                                .build()),
                new Listeners(
                        r.positive("limits.max-connections"), GuardOptions.read(r), r.bool("proxy.lean-connections")),
                ServerTlsFiles.read(r),
                AclOptions.read(r, server.dataDir().resolve(MANAGEMENT_TOKEN_FILE)),
                LogOptions.read(r),
                r.bool("metrics.enabled"),
                sync(r, server),
                InferenceOptions.from(r),
                r.section(r.key("proxy: "), () -> ProxyOptions.from(r.node("proxy"))));
        r.done();
        return config;
    }

    private static Server server(ConfigReader r) {
        String node = r.text("node");
        if (node.isEmpty()) {
            node = ConfigLoader.hostName("edge-node");
        }
        Server server = new Server(
                r.text("host"),
                r.port("port"),
                r.port("consul-port"),
                Path.of(r.text("data-dir")),
                node,
                r.text("site"),
                r.text("advertise-address"));
        if (!Topics.validLevel(server.node())) {
            r.problem(r.key("node") + "=" + server.node() + " (1-128 characters, none of / + #)");
        }
        if (!Topics.validLevel(server.site())) {
            r.problem("site", "1-128 characters, none of / + #");
        }
        InetAddress advertised = r.parse("advertise-address", ForbiddenAddresses::literal);
        String why = advertised == null ? null : ForbiddenAddresses.why(advertised);
        if (why != null) {
            r.problem("advertise-address", why + ": never a service's address");
        }
        return server;
    }

    /** The sync with the cloud, null without a broker URL; the backoff keys are checked all the same. */
    private static SyncOptions sync(ConfigReader r, Server server) {
        String clientId = r.text("mqtt.client-id");
        LinkOptions.Builder link = LinkOptions.read(
                r,
                r.text("mqtt.url"),
                clientId.isEmpty() ? "edgegate-" + server.site() + "-" + server.node() : clientId);
        long publishRate = r.positive("sync.publish-rate");
        long digestInterval = r.duration("sync.digest-interval");
        return link == null ? null : new SyncOptions(link.build(), publishRate, digestInterval);
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A configuration that cannot start the gateway. */
    public static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ConfigException(String message) {
            super(message);
        }
    }

    /** Builds a {@link GatewayConfig} section by section. Not thread-safe. */
    public static final class Builder {
        private Server server;
        private Limits limits;
        private RegistryOptions registry;
        private Blocking blocking;
        private Health health;
        private Listeners listeners;
        private ServerTlsFiles tls;
        private AclOptions acl;
        private LogOptions log;
        private boolean metricsEnabled;
        private SyncOptions sync;
        private InferenceOptions inference;
        private ProxyOptions proxy;

        private Builder(GatewayConfig c) {
            server = c.server;
            limits = c.limits;
            registry = c.registry;
            blocking = c.blocking;
            health = c.health;
            listeners = c.listeners;
            tls = c.tls;
            acl = c.acl;
            log = c.log;
            metricsEnabled = c.metricsEnabled;
            sync = c.sync;
            inference = c.inference;
            proxy = c.proxy;
        }

        /** Other ports for both listeners (0 picks free ones). */
        public Builder ports(int port, int consulPort) {
            server = new Server(
                    server.host(),
                    port,
                    consulPort,
                    server.dataDir(),
                    server.node(),
                    server.site(),
                    server.advertiseAddress());
            return this;
        }

        /** Another data directory, the management token's file with it. */
        public Builder dataDir(Path dataDir) {
            server = new Server(
                    server.host(),
                    server.port(),
                    server.consulPort(),
                    dataDir,
                    server.node(),
                    server.site(),
                    server.advertiseAddress());
            acl = new AclOptions(
                    acl.enforced(),
                    acl.tokensFile(),
                    dataDir.resolve(MANAGEMENT_TOKEN_FILE),
                    acl.reloadIntervalMillis());
            return this;
        }

        public Builder server(Server value) {
            server = value;
            return this;
        }

        public Builder limits(Limits value) {
            limits = value;
            return this;
        }

        public Builder registry(RegistryOptions value) {
            registry = value;
            return this;
        }

        public Builder blocking(Blocking value) {
            blocking = value;
            return this;
        }

        public Builder health(Health value) {
            health = value;
            return this;
        }

        public Builder listeners(Listeners value) {
            listeners = value;
            return this;
        }

        public Builder tls(ServerTlsFiles value) {
            tls = value;
            return this;
        }

        public Builder acl(AclOptions value) {
            acl = value;
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

        public Builder sync(SyncOptions value) {
            sync = value;
            return this;
        }

        public Builder inference(InferenceOptions value) {
            inference = value;
            return this;
        }

        public Builder proxy(ProxyOptions value) {
            proxy = value;
            return this;
        }

        public GatewayConfig build() {
            return new GatewayConfig(
                    server,
                    limits,
                    registry,
                    blocking,
                    health,
                    listeners,
                    tls,
                    acl,
                    log,
                    metricsEnabled,
                    sync,
                    inference,
                    proxy);
        }
    }
}
