package io.edgegate.gateway.proxy;

/**
 * What the proxy records per request when metrics are on ({@link ProxyService}'s observer is null
 * when they are off, and then no request does any of this). The recorders are resolved once, when
 * a route's or a service's runtime is made, and kept in it: a request calls a method of an object
 * it already holds, with no lookup of labels and no allocation.
 *
 * <p>Everything else the proxy counts (retries, failures, ejections, connections, requests in
 * flight) it already keeps for {@code /v1/status} and is read at scrape time, not recorded here.
 * Implementations are thread-safe: request threads call the recorders concurrently.
 */
public interface ProxyObserver {
    /** The recorder of one route ({@code route} is its name, {@code service} the service it sends to). */
    RouteRecorder route(String route, String service);

    /** The recorder of one service's upstreams. */
    ServiceRecorder service(String service);

    /** Counts the answers of one route by their status. */
    interface RouteRecorder {
        /** The client got (or was about to get, when it went away) {@code status}. */
        void answered(int status);
    }

    /** Times one service's upstreams. */
    interface ServiceRecorder {
        /** An upstream's answer head arrived {@code nanos} after the attempt began. */
        void upstreamAnswered(long nanos);
    }
}
