package io.edgegate.gateway.proxy;

import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.listener.GuardOptions;
import io.edgegate.listener.ListenerGuard;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * The proxy's lean HTTP/1.1 connection handler, installed on the gateway's main listener behind
 * its {@link ListenerGuard} ({@code ListenerGuard#selector(Http1Config, ConnectionHandler)}): every
 * connection the guard admits is served by a {@link LeanConnection}, which forwards proxied
 * requests itself and hands the connection to Helidon's HTTP/1.1 (and so to the API's routing) at
 * the first request that is not the proxy's. {@code edgegate.proxy.lean-connections: false} leaves
 * every connection to Helidon, as before.
 *
 * <p>Why: Helidon's request path alone (parsing into header objects, routing, the response's
 * machinery) cost more CPU per request than nginx's whole proxy on the same machine; the proxy
 * needs a request line, a few fields and a byte-for-byte copy of the rest (see the benchmarks'
 * README for the figures).
 *
 * <p>Thread-safe: one instance per listener; its counters are written by every connection's thread.
 */
public final class LeanConnections implements ListenerGuard.ConnectionHandler {
    final ProxyService proxy;
    final ErrorLog errors;
    /** The listener's limits: a head beyond them is Helidon's (and the guard's) to refuse. */
    final int maxRequestLineBytes;

    final int maxHeaderBytes;
    /** Requests served on lean connections. */
    final LongAdder requests = new LongAdder();
    /** Connections handed to Helidon's HTTP/1.1 (an API request, or a head the lean parser left to it). */
    final LongAdder handedOff = new LongAdder();

    LeanConnections(ProxyService proxy, ErrorLog errors, GuardOptions limits) {
        this.proxy = proxy;
        this.errors = errors;
        this.maxRequestLineBytes = limits.maxRequestLineBytes();
        this.maxHeaderBytes = limits.maxHeaderBytes();
    }

    @Override
    public ServerConnection connection(
            ConnectionContext ctx,
            ListenerGuard.Deadlines deadlines,
            Function<ConnectionContext, ServerConnection> http1) {
        return new LeanConnection(this, ctx, deadlines, http1);
    }

    /**
     * Whether a request for this path is the proxy's: everything outside the gateway's own API
     * ({@link ProxyService#gatewayApi}), and the OpenAI-compatible endpoints under {@code /v1/}
     * (which the API does not serve). Other paths under {@code /v1/} (the API, {@code /v1/routes},
     * a route whose prefix is under {@code /v1/}) are left to Helidon's routing, which reaches the
     * proxy for those the API does not take.
     */
    static boolean serves(String rawPath) {
        return !ProxyService.gatewayApi(rawPath)
                || ModelExtractor.inferencePath(rawPath)
                || rawPath.equals("/v1/models");
    }

    /** Requests served on lean connections since start. */
    public long requests() {
        return requests.sum();
    }

    /** Connections handed to Helidon's HTTP/1.1 since start. */
    public long handedOff() {
        return handedOff.sum();
    }
}
