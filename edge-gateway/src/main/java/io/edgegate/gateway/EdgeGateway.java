package io.edgegate.gateway;

import io.edgegate.acl.AclFile;
import io.edgegate.acl.AclStore;
import io.edgegate.bridge.Topics;
import io.edgegate.gateway.api.ApiSettings;
import io.edgegate.gateway.api.ConsulApi;
import io.edgegate.gateway.api.InstanceValidator;
import io.edgegate.gateway.api.Json;
import io.edgegate.gateway.api.NativeApi;
import io.edgegate.gateway.health.CheckTargetPolicy;
import io.edgegate.gateway.health.HealthChecker;
import io.edgegate.gateway.health.HostResolver;
import io.edgegate.gateway.health.Probers;
import io.edgegate.gateway.inference.InferenceRouting;
import io.edgegate.gateway.metrics.GatewayMetrics;
import io.edgegate.gateway.proxy.ProxyService;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.sync.SyncAgent;
import io.edgegate.gateway.sync.SyncOptions;
import io.edgegate.listener.GuardOptions;
import io.edgegate.listener.ListenerBinding;
import io.edgegate.listener.ListenerGuard;
import io.edgegate.log.Logs;
import io.edgegate.log.Termination;
import io.edgegate.tls.ListenerTls;
import io.edgegate.ui.StatusPage;
import io.helidon.common.socket.SocketOptions;
import io.helidon.common.tls.Tls;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The edge gateway process: the registry (with its journal) behind the native API on
 * {@code port} and the Consul-compatible API on {@code consul-port}. Starts with built-in defaults
 * and needs no external service. With {@code edgegate.tls.*} both listeners speak HTTPS (and mTLS
 * with a client CA) from PEM files that are read again when they change.
 */
public final class EdgeGateway implements AutoCloseable {
    private static final Logger LOGGER = Logger.getLogger(EdgeGateway.class.getName());
    static final String CONSUL_SOCKET = "consul";

    private final GatewayConfig config;
    private final Registry registry;
    private final WebServer server;
    private final List<AutoCloseable> parts;

    private EdgeGateway(GatewayConfig config, Registry registry, WebServer server, List<AutoCloseable> parts) {
        this.config = config;
        this.registry = registry;
        this.server = server;
        this.parts = parts;
    }

    /**
     * Checks that the data directory can be written ({@link DataDirectory}), opens the registry from
     * it and starts both listeners.
     *
     * @throws ListenerBinding.BindException when a listener cannot bind its address (a port in
     *     use), naming it; what had started is closed again
     */
    public static EdgeGateway start(GatewayConfig config) {
        ErrorLog errors = new ErrorLog();
        // a data directory the gateway cannot write stops the start with what to do, not a journal stack trace
        DataDirectory.requireWritable(config.server().dataDir());
        Registry registry = Registry.open(config.server().dataDir(), config.registry(), errors);
        // Closed in reverse order at shutdown, the registry last.
        List<AutoCloseable> parts = new ArrayList<>();
        try {
            AclStore acl = AclStore.open(config.acl());
            parts.add(acl);
            CheckTargetPolicy checkTargets = config.health().checkTargets();
            Probers probers = new Probers(config.health().probes(), checkTargets, HostResolver.system());
            parts.add(probers);
            HealthChecker checker =
                    new HealthChecker(registry, probers, config.health().maxConcurrentProbes(), errors);
            parts.add(checker.start());
            GatewayMetrics metrics = GatewayMetrics.create(config.metricsEnabled(), acl);
            SyncOptions sync = config.sync();
            if (sync != null) {
                parts.add(SyncAgent.start(
                        registry,
                        sync,
                        new Topics(config.server().site(), config.server().node()),
                        config.server().advertiseAddress(),
                        config.server().dataDir(),
                        errors));
            }
            ApiSettings settings = new ApiSettings(
                    config.server().node(),
                    config.server().site(),
                    config.server().advertiseAddress(),
                    new InstanceValidator(
                            config.limits(), config.health().probes().execEnabled(), checkTargets),
                    config.blocking().defaultWaitMillis(),
                    config.blocking().maxWaitMillis(),
                    acl);
            NativeApi nativeApi = new NativeApi(registry, settings);
            ConsulApi consulApi = new ConsulApi(registry, settings);
            // Inference routing: the proxy's scorer first, its scraper once the proxy counts requests.
            InferenceRouting inference = new InferenceRouting(config.inference());
            ProxyService proxy = new ProxyService(
                    registry, config.proxy(), errors, acl, inference.scorer(), metrics.proxyObserver());
            parts.add(proxy);
            parts.add(inference.start(registry, probers, checker, proxy::inFlight, errors));
            nativeApi.statusSection("inference", inference::status);
            // Graceful deregistration waits for the proxy's requests in flight to that instance.
            registry.drainWith(proxy::inFlight);
            nativeApi.statusSection("proxy", proxy::stats);
            nativeApi.serviceTraffic(proxy::traffic);
            for (AutoCloseable part : parts) {
                if (part instanceof SyncAgent agent) {
                    nativeApi.statusSection(
                            "sync",
                            () -> Map.ofEntries(
                                    Map.entry("connected", agent.connected()),
                                    Map.entry("connected-since", agent.connectedSinceMillis()),
                                    Map.entry("pending", agent.pending()),
                                    Map.entry("published", agent.published()),
                                    Map.entry("acknowledged", agent.acknowledged()),
                                    Map.entry("acknowledged-index", agent.acknowledgedIndex()),
                                    Map.entry("epoch", agent.epoch()),
                                    Map.entry("stale-cleared", agent.staleCleared()),
                                    Map.entry("republished", agent.republished()),
                                    Map.entry("digests", agent.digests()),
                                    Map.entry("resyncs", agent.resyncs()),
                                    Map.entry("refused", agent.refused())));
                }
            }
            // Bodies are bounded by the APIs themselves (a JSON 413 naming the limit); the
            // listener's own cap is a backstop well above it.
            long payloadCap = Math.max(config.limits().maxBodyBytes() * 4L, 16L << 20);
            // Response headers are checked where they are made: the proxy's upstream client refuses
            // a field name or value the server could not write (a 502), and the APIs write their
            // own. Helidon checking every header of every answer again is CPU on the data path. No
            // "Connection: keep-alive" on HTTP/1.1 answers either: it is the default (RFC 9112).
            Http1Config http1 = Http1Config.builder()
                    .validateResponseHeaders(false)
                    .sendKeepAliveHeader(false)
                    .build();
            // TCP_NODELAY on accepted connections (Helidon's default is off): a streamed answer is
            // written event by event, and with Nagle's algorithm an event written while the previous
            // one is unacknowledged would wait for the client's delayed ACK (40 ms and more) and
            // reach it in clumps. Whole answers go out in one write, so this costs them nothing.
            SocketOptions accepted = SocketOptions.builder().tcpNoDelay(true).build();
            // Each listener has its guard: connections per client address, request-head time and
            // size, keep-alive idle time, the HTTP/1.0 answer and Connection: close.
            ListenerGuard apiGuard = new ListenerGuard(config.listeners().guard());
            ListenerGuard consulGuard = new ListenerGuard(config.listeners().guard());
            parts.add(apiGuard);
            parts.add(consulGuard);
            int maxConnections = config.listeners().maxConnections();
            // The lean connections: the proxy's and the native API's hot writes on the main
            // listener, the Consul API's on its own (sharing the event loops).
            boolean lean = config.listeners().leanProxyConnections();
            GuardOptions guard = config.listeners().guard();
            // Both listeners share one context; its managers read rotated files again (io.edgegate.tls).
            Tls tls = ListenerTls.of(config.tls());
            WebServer server = WebServer.builder()
                    .host(config.server().host())
                    .port(config.server().port())
                    .maxPayloadSize(payloadCap)
                    .maxTcpConnections(maxConnections)
                    .connectionOptions(accepted)
                    .tls(tls)
                    .protocolsDiscoverServices(false)
                    .addConnectionSelector(
                            lean
                                    ? apiGuard.selector(http1, proxy.leanConnections(guard, nativeApi))
                                    : apiGuard.selector(http1))
                    .directHandlers(apiGuard.directHandlers())
                    .routing(routing -> Json.installErrorHandlers(routing.addFilter(apiGuard.filter())
                            .route(proxy.outsideApiRoute())
                            .register(nativeApi)
                            .register(StatusPage.of(EdgeGateway.class, "gateway.js"))
                            .register(metrics.endpoint().service())
                            .register(proxy)))
                    .putSocket(CONSUL_SOCKET, socket -> socket.host(
                                    config.server().host())
                            .port(config.server().consulPort())
                            .maxPayloadSize(payloadCap)
                            .maxTcpConnections(maxConnections)
                            .connectionOptions(accepted)
                            .tls(tls)
                            .protocolsDiscoverServices(false)
                            .addConnectionSelector(
                                    lean
                                            ? consulGuard.selector(http1, proxy.leanApiConnections(guard, consulApi))
                                            : consulGuard.selector(http1))
                            .directHandlers(consulGuard.directHandlers())
                            .routing(routing -> Json.installConsulErrorHandlers(routing.addFilter(consulGuard.filter())
                                    .register(metrics.endpoint().consulService())
                                    .register(consulApi))))
                    .build()
                    .start();
            // a port another process holds stops the start here, naming it, rather than later as a silent -1
            ListenerBinding.requireRunning(server, listeners(config.server()));
            nativeApi.statusSection(
                    "listeners", () -> Map.of("api", guardStats(apiGuard), "consul", guardStats(consulGuard)));
            metrics.bind(
                    registry,
                    checker,
                    proxy,
                    syncAgent(parts),
                    Map.of("api", apiGuard, "consul", consulGuard),
                    acl,
                    errors);
            return new EdgeGateway(config, registry, server, parts);
        } catch (RuntimeException e) {
            closeAll(parts);
            registry.close();
            throw e;
        }
    }

    /** Both listeners as configured, for the message of a start that cannot bind one. */
    private static List<ListenerBinding.Listener> listeners(GatewayConfig.Server server) {
        return List.of(
                new ListenerBinding.Listener("api", "edgegate.port", server.host(), server.port()),
                new ListenerBinding.Listener(
                        CONSUL_SOCKET, "edgegate.consul-port", server.host(), server.consulPort()));
    }

    private static Map<String, Long> guardStats(ListenerGuard guard) {
        return Map.of(
                "open-connections", (long) guard.openConnections(),
                "refused-too-many-per-client", guard.refusedTooMany(),
                "closed-head-timeout", guard.headTimeouts(),
                "closed-keep-alive-timeout", guard.idleTimeouts(),
                "refused-http10", guard.refusedHttp10());
    }

    public GatewayConfig config() {
        return config;
    }

    public Registry registry() {
        return registry;
    }

    /** The sync with the cloud, or null when no broker is configured. */
    public SyncAgent sync() {
        return syncAgent(parts);
    }

    private static SyncAgent syncAgent(List<AutoCloseable> parts) {
        for (AutoCloseable part : parts) {
            if (part instanceof SyncAgent agent) {
                return agent;
            }
        }
        return null;
    }

    /** The native API's bound port (differs from the configured one when that was 0). */
    public int port() {
        return server.port();
    }

    /** The Consul API's bound port. */
    public int consulPort() {
        return server.port(CONSUL_SOCKET);
    }

    @Override
    public void close() {
        server.stop();
        closeAll(parts);
        registry.close();
    }

    private static void closeAll(List<AutoCloseable> parts) {
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (Exception e) {
                LOGGER.warning("closing " + parts.get(i) + ": " + e);
            }
        }
    }

    public static void main(String[] args) {
        GatewayConfig config;
        try {
            config = GatewayConfig.load(System.getenv(), args);
        } catch (GatewayConfig.ConfigException e) {
            System.err.println("edgegate: " + e.getMessage());
            System.exit(2);
            return;
        }
        Logs.configure(
                config.log(),
                Logs.fields(
                        "node", config.server().node(), "site", config.server().site()));
        EdgeGateway gateway;
        try {
            gateway = start(config);
        } catch (AclFile.AclFileException
                | DataDirectory.DataDirectoryException
                | ListenerBinding.BindException
                | java.io.UncheckedIOException e) {
            System.err.println("edgegate: " + e.getMessage());
            System.exit(2);
            return;
        }
        Termination.install(LOGGER, "Edgegate", gateway::close);
        String scheme = gateway.server.hasTls() ? "https://" : "http://";
        LOGGER.info(() -> "Edgegate started: node=" + config.server().node() + ", site="
                + config.server().site() + ", api=" + scheme
                + config.server().host() + ":" + gateway.port() + ", consul=" + scheme
                + config.server().host() + ":"
                + gateway.consulPort()
                + ", data-dir=" + config.server().dataDir().toAbsolutePath() + ", instances="
                + gateway.registry().instanceCount()
                + ", index=" + gateway.registry().index());
        Termination.park();
    }
}
