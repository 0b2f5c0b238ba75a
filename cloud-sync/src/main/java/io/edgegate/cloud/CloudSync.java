package io.edgegate.cloud;

import io.edgegate.bridge.CloudLink;
import io.edgegate.bridge.Decoded;
import io.edgegate.tls.ListenerTls;
import io.helidon.common.tls.Tls;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import java.util.concurrent.CountDownLatch;

/**
 * The cloud-sync process: one {@link Fleet} fed by one {@link CloudLink}, served by the REST API
 * and the Consul-compatible catalog. Holds no state of its own: a (re)started replica rebuilds
 * the fleet from the broker's retained messages.
 */
public final class CloudSync implements AutoCloseable {
    static final String CONSUL_SOCKET = "consul";

    private final Fleet fleet;
    private final CloudLink link;
    private final WebServer server;

    private CloudSync(CloudSyncConfig config) {
        CloudLink[] holder = new CloudLink[1];
        this.fleet = new Fleet(
                (site, node, command) -> {
                    if (holder[0] != null) {
                        holder[0].requestResync(site, node, command, null);
                    }
                },
                config.resyncMinIntervalMillis());
        this.link = CloudLink.start(config.mqtt(), new CloudLink.Handler() {
            @Override
            public void onMessage(Decoded.Accepted message, boolean retained, long receivedAtMillis) {
                fleet.offer(message, receivedAtMillis);
            }

            @Override
            public void onRejected(Decoded.Rejected rejected) {
                fleet.rejected(rejected);
            }
        });
        holder[0] = link;
        FleetApi api = new FleetApi(fleet, link, config);
        ConsulCatalog consul = new ConsulCatalog(fleet, config);
        // Both listeners share one context; its managers read rotated files again (io.edgegate.tls).
        Tls tls = ListenerTls.of(config.tls());
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .tls(tls)
                .routing(r -> r.register(api)
                        .error(
                                Http.BadRequest.class,
                                (req, res, e) -> Http.error(res, Status.BAD_REQUEST_400, e.getMessage())))
                .putSocket(CONSUL_SOCKET, s -> s.host(config.host())
                        .port(config.consulPort())
                        .tls(tls)
                        .routing(r -> r.register(consul)
                                .error(
                                        Http.BadRequest.class,
                                        (req, res, e) -> Http.error(res, Status.BAD_REQUEST_400, e.getMessage()))))
                .build()
                .start();
    }

    /** Starts a replica: connects to the broker in the background and serves both ports. */
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
        link.close();
        fleet.close();
    }

    public static void main(String[] args) throws InterruptedException {
        CloudSyncConfig config;
        try {
            config = CloudSyncConfig.load(System.getenv(), args);
        } catch (CloudSyncConfig.ConfigException e) {
            System.err.println("cloud-sync: " + e.getMessage());
            System.exit(2);
            return;
        }
        CloudSync sync = start(config);
        Runtime.getRuntime().addShutdownHook(new Thread(sync::close, "cloud-sync-shutdown"));
        String scheme = config.tls() == null ? "http://" : "https://";
        System.out.println("cloud-sync started: api=" + scheme + config.host() + ":" + sync.port() + ", consul="
                + scheme + config.host() + ":" + sync.consulPort() + ", mqtt="
                + config.mqtt().url() + " as "
                + config.mqtt().clientId());
        new CountDownLatch(1).await();
    }
}
