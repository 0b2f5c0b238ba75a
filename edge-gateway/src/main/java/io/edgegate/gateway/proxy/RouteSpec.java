package io.edgegate.gateway.proxy;

import java.util.List;
import java.util.Map;

/**
 * One routing rule as configured or stored through {@code /v1/routes}: what requests it matches
 * and where it sends them. Immutable and validated by {@link RouteCodec}; compiled into the
 * lookup tables by {@link RouteTable}.
 *
 * @param name unique name, {@code [A-Za-z0-9._-]}, at most 128 characters
 * @param host host to match, case-insensitive and without port; {@code *.example} matches any
 *     subdomain; null matches any host
 * @param pathPrefix path prefix to match on segment boundaries ({@code /llm} matches {@code /llm}
 *     and {@code /llm/x}, not {@code /llmx}); {@code /} matches every path
 * @param headers headers that must be present with exactly these values ({@code *}: present)
 * @param service the service the route sends to
 * @param stripPrefix whether the prefix is removed from the path before forwarding
 * @param policy how instances are chosen and how long and how often to try
 * @param source where the route comes from: {@code config} or {@code api}
 */
record RouteSpec(
        String name,
        String host,
        String pathPrefix,
        Map<String, String> headers,
        String service,
        boolean stripPrefix,
        Policy policy,
        String source) {

    static final String SOURCE_CONFIG = "config";
    static final String SOURCE_API = "api";

    RouteSpec {
        headers = Map.copyOf(headers);
    }

    /** A copy from another source. */
    RouteSpec withSource(String newSource) {
        return new RouteSpec(name, host, pathPrefix, headers, service, stripPrefix, policy, newSource);
    }

    /**
     * How a route picks an instance.
     *
     * @param tags tags every instance must carry (version isolation: {@code version:v2})
     * @param meta metadata every instance must carry with exactly these values
     * @param subsets weighted subsets (canary), empty for one pool of every matching instance
     * @param balancer the balancer; {@link Balancer#DEFAULT} picks least-request for inference
     *     requests and round robin for the rest
     * @param hashHeader the header whose value a {@link Balancer#CONSISTENT_HASH} route hashes
     * @param modelRouting whether the body's {@code model} narrows the instances
     * @param connectTimeoutMillis upstream connect timeout, null for the proxy's default
     * @param idleTimeoutMillis longest upstream silence, null for the proxy's default
     * @param timeoutMillis whole exchange of a non-streaming response, null for the default
     * @param retries attempts beyond the first, null for the proxy's default
     * @param requireToken whether a request needs a token with read on the route's service (the
     *     gateway's token: not forwarded upstream)
     * @param upstreamTls how to reach the instances over TLS; null for what each instance says
     *     (plain HTTP, or HTTPS when its metadata has {@code scheme: https})
     * @param scoring the weights of the {@code score} balancer; null for {@link ScoreWeights#DEFAULT}
     */
    record Policy(
            List<String> tags,
            Map<String, String> meta,
            List<Subset> subsets,
            Balancer balancer,
            String hashHeader,
            ModelRouting modelRouting,
            Long connectTimeoutMillis,
            Long idleTimeoutMillis,
            Long timeoutMillis,
            Integer retries,
            boolean requireToken,
            TlsPolicy upstreamTls,
            ScoreWeights scoring) {

        static final Policy DEFAULT = new Policy(
                List.of(),
                Map.of(),
                List.of(),
                Balancer.DEFAULT,
                null,
                ModelRouting.AUTO,
                null,
                null,
                null,
                null,
                false,
                null,
                null);

        Policy {
            tags = List.copyOf(tags);
            meta = Map.copyOf(meta);
            subsets = List.copyOf(subsets);
        }
    }

    /**
     * A route's {@code upstream-tls}: its instances are reached over TLS.
     *
     * @param caFile PEM CA bundle the upstream certificates must chain to (read again when it
     *     changes); null for the gateway's {@code edgegate.proxy.upstream-ca-file}, else the JVM's
     *     trust store
     * @param serverName the name sent as SNI, checked against the certificate and sent as
     *     {@code Host}; null for the instance's address
     * @param skipVerify accept any certificate for any name (encryption without authentication)
     */
    record TlsPolicy(String caFile, String serverName, boolean skipVerify) {}

    /**
     * A weighted part of a route's instances: those with all of its tags and metadata.
     *
     * @param name name, unique in the route
     * @param weight relative share of requests, 0-10000 (0: only when every other subset is empty)
     * @param tags tags its instances carry
     * @param meta metadata its instances carry
     */
    record Subset(String name, int weight, List<String> tags, Map<String, String> meta) {
        Subset {
            tags = List.copyOf(tags);
            meta = Map.copyOf(meta);
        }
    }

    /** Whether the body's {@code model} narrows the instances. */
    enum ModelRouting {
        /** On inference paths when any instance of the route advertises a model. */
        AUTO("auto"),
        /** On inference paths, always: a model no instance serves is a 404. */
        ON("on"),
        /** Never: the body is not read. */
        OFF("off");

        private final String wireName;

        ModelRouting(String wireName) {
            this.wireName = wireName;
        }

        String wireName() {
            return wireName;
        }

        static ModelRouting parse(String text) {
            for (ModelRouting mode : values()) {
                if (mode.wireName.equals(text)) {
                    return mode;
                }
            }
            return null;
        }
    }
}
