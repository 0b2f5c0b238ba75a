package io.edgegate.cloud;

import io.edgegate.acl.AclException;
import io.edgegate.acl.AclFile;
import io.edgegate.acl.AclStore;
import io.edgegate.bridge.CloudLink;
import io.edgegate.bridge.MqttLink;
import io.edgegate.bridge.ResyncCommand;
import io.edgegate.cloud.metrics.CloudMetrics;
import io.edgegate.config.ConfigLoader;
import io.edgegate.listener.ListenerBinding;
import io.edgegate.listener.ListenerGuard;
import io.edgegate.log.Logs;
import io.edgegate.log.Termination;
import io.edgegate.tls.ListenerTls;
import io.edgegate.ui.StatusPage;
import io.helidon.common.socket.SocketOptions;
import io.helidon.common.tls.Tls;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The cloud-sync process: one {@link Fleet} fed by one {@link CloudLink}, served by the REST API
 * and the Consul-compatible catalog. Holds no state of its own: a (re)started replica rebuilds
 * the fleet from the broker's retained messages.
 */
public final class CloudSync implements AutoCloseable {
    static final String CONSUL_SOCKET = "consul";
    private static final Logger LOGGER = Logger.getLogger(CloudSync.class.getName());

    private final Fleet fleet;
    private final CloudLink link;
    private final WebServer server;
    private final AclStore acl;
    private final ListenerGuard apiGuard;
    private final ListenerGuard consulGuard;

    private CloudSync(CloudSyncConfig config) {
        this.acl = AclStore.open(config.acl());
        // set once the link starts (last); read by the applier's resync sink and the API's threads
        AtomicReference<CloudLink> started = new AtomicReference<>();
        this.fleet = new Fleet(
                new Fleet.ResyncSink() {
                    private final AtomicInteger unacknowledged = new AtomicInteger();

                    @Override
                    public boolean requestResync(String site, String node, ResyncCommand command) {
                        CloudLink link = started.get();
                        if (link == null) {
                            return false;
                        }
                        unacknowledged.incrementAndGet();
                        MqttLink.Send sent =
                                link.requestResync(site, node, command, acked -> unacknowledged.decrementAndGet());
                        if (sent == MqttLink.Send.NOT_CONNECTED || sent == MqttLink.Send.WINDOW_FULL) {
                            unacknowledged.decrementAndGet(); // nothing sent: its completion never runs
                        }
                        return sent == MqttLink.Send.SENT;
                    }

                    @Override
                    public int inFlight() {
                        return unacknowledged.get();
                    }
                },
                config.resyncMinIntervalMillis());
        FleetApi api = new FleetApi(fleet, started::get, config, acl);
        ConsulCatalog consul = new ConsulCatalog(fleet, config, acl);
        CloudMetrics metrics = CloudMetrics.create(config.metricsEnabled(), acl);
        // Both listeners share one context; its managers read rotated files again (io.edgegate.tls).
        Tls tls = ListenerTls.of(config.tls());
        this.apiGuard = new ListenerGuard(config.limits());
        this.consulGuard = new ListenerGuard(config.limits());
        // The same HTTP/1.1 settings as the gateway's listeners, behind the same guards.
        Http1Config http1 = Http1Config.builder()
                .validateResponseHeaders(false)
                .sendKeepAliveHeader(false)
                .build();
        SocketOptions accepted = SocketOptions.builder().tcpNoDelay(true).build();
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .maxTcpConnections(config.maxConnections())
                .connectionOptions(accepted)
                .tls(tls)
                .protocolsDiscoverServices(false)
                .addConnectionSelector(apiGuard.selector(http1))
                .directHandlers(apiGuard.directHandlers())
                .routing(r -> r.addFilter(apiGuard.filter())
                        .register(api)
                        .register(StatusPage.of(CloudSync.class, "fleet.js"))
                        .register(metrics.endpoint().service())
                        .error(
                                Http.BadRequest.class,
                                (req, res, e) -> Http.error(res, Status.BAD_REQUEST_400, e.getMessage()))
                        .error(
                                AclException.class,
                                (req, res, e) -> Http.send(res, Status.FORBIDDEN_403, e.errorBody())))
                .putSocket(CONSUL_SOCKET, s -> s.host(config.host())
                        .port(config.consulPort())
                        .maxTcpConnections(config.maxConnections())
                        .connectionOptions(accepted)
                        .tls(tls)
                        .protocolsDiscoverServices(false)
                        .addConnectionSelector(consulGuard.selector(http1))
                        .directHandlers(consulGuard.directHandlers())
                        .routing(r -> r.addFilter(consulGuard.filter())
                                .register(metrics.endpoint().consulService())
                                .register(consul)
                                .error(
                                        Http.BadRequest.class,
                                        (req, res, e) -> Http.error(res, Status.BAD_REQUEST_400, e.getMessage()))
                                .error(AclException.class, (req, res, e) -> res.status(Status.FORBIDDEN_403)
                                        .header(HeaderValues.CONTENT_TYPE_TEXT_PLAIN)
                                        .send(e.consulMessage()))))
                .build()
                .start();
        try {
            // a port another process holds stops the start here, naming it, rather than later as a silent -1
            ListenerBinding.requireRunning(server, listeners(config));
        } catch (ListenerBinding.BindException e) {
            fleet.close();
            acl.close();
            apiGuard.close();
            consulGuard.close();
            throw e;
        }
        // The link last: the broker's replay of the retained state starts once the listeners are up,
        // not while the process is still starting (a new replica rebuilds at full speed).
        // Undecoded: the applier decodes, so Paho's callback thread only hands over (it holds up
        // Paho's reader while it works); it waits while the applier is behind, and the broker
        // keeps the rest (backpressure).
        this.link = CloudLink.startUndecoded(config.mqtt(), new CloudLink.Undecoded() {
            @Override
            public void onMessage(String topic, byte[] payload, boolean retained, long receivedAtMillis) {
                fleet.offer(topic, payload, receivedAtMillis);
            }

            @Override
            public void onConnected() {
                fleet.brokerReconnected();
            }
        });
        started.set(link);
        metrics.bind(fleet, link, Map.of("api", apiGuard, "consul", consulGuard), acl);
    }

    /** Both listeners as configured, for the message of a start that cannot bind one. */
    private static List<ListenerBinding.Listener> listeners(CloudSyncConfig config) {
        return List.of(
                new ListenerBinding.Listener("api", "cloudsync.port", config.host(), config.port()),
                new ListenerBinding.Listener(
                        CONSUL_SOCKET, "cloudsync.consul-port", config.host(), config.consulPort()));
    }

    /** The access rules in force (the token file, or the management token made on a first start). */
    public AclStore acl() {
        return acl;
    }

    /**
     * Starts a replica: connects to the broker in the background and serves both ports.
     *
     * @throws ListenerBinding.BindException when a listener cannot bind its address (a port in
     *     use), naming it; what had started is closed again
     */
    public static CloudSync start(CloudSyncConfig config) {
        return new CloudSync(config);
    }

    public Fleet fleet() {
        return fleet;
    }

    public CloudLink link() {
        return link;
    }

    public int port() {
        return server.port();
    }

    public int consulPort() {
        return server.port(CONSUL_SOCKET);
    }

    @Override
    public void close() {
        server.stop();
        // The fleet first: a reader waiting for room in its queue gives up, so the link can close.
        fleet.close();
        link.close();
        acl.close();
        apiGuard.close();
        consulGuard.close();
    }

    public static void main(String[] args) {
        CloudSyncConfig config;
        try {
            config = CloudSyncConfig.load(System.getenv(), args);
        } catch (CloudSyncConfig.ConfigException e) {
            System.err.println("cloud-sync: " + e.getMessage());
            System.exit(2);
            return;
        }
        Logs.configure(config.log(), Map.of("node", ConfigLoader.hostName("cloud-sync")));
        CloudSync sync;
        try {
            sync = start(config);
        } catch (AclFile.AclFileException | ListenerBinding.BindException | java.io.UncheckedIOException e) {
            System.err.println("cloud-sync: " + e.getMessage());
            System.exit(2);
            return;
        }
        Termination.install(LOGGER, "cloud-sync", sync::close);
        String scheme = config.tls() == null ? "http://" : "https://";
        LOGGER.info(() -> "cloud-sync started: api=" + scheme + config.host() + ":" + sync.port() + ", consul="
                + scheme + config.host() + ":" + sync.consulPort() + ", mqtt="
                + config.mqtt().url() + " as "
                + config.mqtt().clientId());
        Termination.park();
    }
}
