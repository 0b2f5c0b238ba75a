package io.edgegate.gateway.proxy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Right;
import io.edgegate.acl.TokenSource;
import io.edgegate.gateway.proxy.RouteSpec.ModelRouting;
import io.edgegate.gateway.registry.ErrorLog;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.ServiceSnapshot;
import io.edgegate.listener.GuardOptions;
import io.edgegate.ui.StatusPage;
import io.helidon.common.uri.UriPath;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.PathMatcher;
import io.helidon.http.PathMatchers;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The reverse proxy: routes a request, picks an instance and forwards to it. Registered on the
 * gateway's default listener after the native API, so it sees every request the API does not
 * take.
 *
 * <ol>
 *   <li>Routes of the configuration and of {@code /v1/routes}, matched by host, path prefix and
 *       headers (most specific first, {@link RouteTable}).
 *   <li>{@code /svc/{service}/...}: every registered service, without configuration, the prefix
 *       stripped.
 *   <li>{@code POST /v1/chat/completions}, {@code /v1/completions}, {@code /v1/embeddings}: to
 *       the instances of any service advertising the body's {@code model}; {@code GET /v1/models}
 *       lists the models of the healthy instances.
 * </ol>
 *
 * <p>The routing decision (route match and balancer pick) reads immutable tables through
 * volatile fields and allocates nothing; the tables are rebuilt only when the registry publishes
 * another snapshot of the service, or when routes change, and for a large service off the request
 * path at a bounded rate (see {@link RouteRuntime}). Requests run on the web server's
 * virtual threads; a virtual thread watches the registry for route changes made elsewhere.
 */
public final class ProxyService implements HttpService, AutoCloseable {
    private static final String SVC = "/svc/";
    static final HeaderName TOKEN = HeaderNames.create(TokenSource.HEADER);

    private final Registry registry;
    private final ProxyOptions options;
    private final ErrorLog errors;
    private final AclStore acl;
    /** The {@code score} balancer's scorer; null: least-request in its place. */
    private final InstanceScorer scorer;

    private final ConcurrentHashMap<String, Upstream> upstreams = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ServiceRuntime> services = new ConcurrentHashMap<>();
    private final AtomicLong ejections = new AtomicLong();
    private final ServiceDirectory implicitRoutes = new ServiceDirectory();
    private final ModelDirectory models;
    /** Rebuilds the tables of large services off the request path (see {@link RouteRuntime}). */
    private final ScheduledExecutorService tableRebuilds = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("edgegate-proxy-tables").daemon(true).factory());

    private final Forwarder forwarder;
    /** How requests routed by model are forwarded: the proxy's defaults (each named for its model). */
    private final Forwarder.Route byModel;

    private final RoutesApi routesApi;
    private final Set<String> configuredNames = new HashSet<>();
    private final Thread routeWatcher;
    private volatile RouteTable routes = RouteTable.EMPTY;
    /** The lean connection handler of the listener, when it has one (its counters are in {@link #stats}). */
    private volatile LeanConnections lean;
    /** Records requests when metrics are on, else null (see {@link ProxyObserver}). */
    private final ProxyObserver observer;
    /** The recorder of model routing (requests without a route, by their body's model). */
    private final ProxyObserver.RouteRecorder modelRecorder;
    /** The route name model routing's requests are counted under. */
    public static final String MODEL_ROUTE = "model";

    private volatile boolean closed;

    public ProxyService(Registry registry, ProxyOptions options, ErrorLog errors, AclStore acl) {
        this(registry, options, errors, acl, null, null);
    }

    /**
     * @param scorer the {@code score} balancer's scorer (the inference routing's), the default
     *     balancer of inference requests; null for least-request in its place
     * @param observer records its requests (metrics); null records nothing
     */
    public ProxyService(
            Registry registry,
            ProxyOptions options,
            ErrorLog errors,
            AclStore acl,
            InstanceScorer scorer,
            ProxyObserver observer) {
        this.scorer = scorer;
        this.observer = observer;
        this.modelRecorder = observer == null ? null : observer.route(MODEL_ROUTE, "");
        this.registry = registry;
        this.options = options;
        this.acl = acl;
        this.errors = errors;
        this.forwarder = new Forwarder(options, errors);
        this.byModel = Forwarder.Route.defaults(options);
        this.models = new ModelDirectory(registry, this::runtime, tableRebuilds);
        this.routesApi = new RoutesApi(registry, this, acl);
        for (RouteSpec route : options.routes()) {
            configuredNames.add(route.name());
        }
        long known = registry.configIndex(RoutesApi.KIND);
        refreshRoutes();
        this.routeWatcher = Thread.ofVirtual().name("edgegate-proxy-routes").start(() -> watchRoutes(known));
    }

    @Override
    public void routing(HttpRules rules) {
        rules.any("/v1/routes", routesApi::collection)
                .any("/v1/routes/{name}", routesApi::item)
                .any(this::proxy);
    }

    /**
     * The proxy's route for every path outside the gateway's own API ({@code /v1/...},
     * {@code /openapi}), to be registered before the API: a proxied request is then routed by one
     * prefix test instead of being matched against each of the API's path templates first (regular
     * expressions, a third of the routing's allocation). Paths under {@code /v1/} that the API
     * does not serve (the inference endpoints, {@code /v1/routes}) still reach the proxy through
     * {@link #routing}.
     */
    public HttpRoute outsideApiRoute() {
        PathMatcher any = PathMatchers.any();
        PathMatcher outside = new PathMatcher() {
            @Override
            public PathMatchers.MatchResult match(UriPath path) {
                return gatewayApi(path.rawPath()) ? PathMatchers.MatchResult.notAccepted() : any.match(path);
            }

            @Override
            public PathMatchers.PrefixMatchResult prefixMatch(UriPath path) {
                return gatewayApi(path.rawPath())
                        ? PathMatchers.PrefixMatchResult.notAccepted()
                        : any.prefixMatch(path);
            }
        };
        return HttpRoute.builder().path(outside).handler(this::proxy).build();
    }

    /**
     * The proxy's lean HTTP/1.1 connection handler for a listener with these limits, to install
     * with {@code ListenerGuard#selector(Http1Config, ConnectionHandler)}: proxied requests, and
     * {@code api}'s requests (null for none), are then served without Helidon's request machinery;
     * other requests reach this listener's routing.
     */
    public LeanConnections leanConnections(GuardOptions limits, LeanApi api) {
        if (lean != null) {
            throw new IllegalStateException("the main listener's lean connections are made once");
        }
        LeanConnections handler = new LeanConnections(
                this,
                api,
                errors,
                limits,
                options.leanPlatformThreads(),
                options.eventLoops(),
                options.maxIdleConnections());
        lean = handler;
        return handler;
    }

    /**
     * A lean connection handler for another listener, after {@link #leanConnections}: it proxies
     * nothing, answers {@code api}'s requests itself (the Consul API's hot writes) and hands the
     * rest to that listener's routing, on the same event loops and threads. Its answers count in
     * {@code lean-api-requests}.
     */
    public LeanConnections leanApiConnections(GuardOptions limits, LeanApi api) {
        LeanConnections main = lean;
        if (main == null) {
            throw new IllegalStateException("no lean connections on the main listener");
        }
        return main.forApiListener(limits, api);
    }

    /** Whether a path is in the gateway's own API namespace (its status page at {@code /ui/} included). */
    static boolean gatewayApi(String rawPath) {
        return rawPath.startsWith("/v1/")
                || rawPath.equals("/v1")
                || rawPath.startsWith("/openapi")
                || rawPath.equals("/livez")
                || rawPath.equals("/readyz")
                || rawPath.equals("/metrics")
                || StatusPage.owns(rawPath);
    }

    /** Requests in flight through the proxy to this instance (the registry's drain polls it). */
    public int inFlight(String instanceId) {
        Upstream u = upstreams.get(instanceId);
        return u == null ? 0 : u.inFlight();
    }

    /** Whether passive outlier detection has this instance ejected now. */
    public boolean ejected(String instanceId) {
        Upstream u = upstreams.get(instanceId);
        return u != null && u.ejected(System.nanoTime());
    }

    /** Counters since start: retries, retries refused by the budget, upstream failures, ejections. */
    public Map<String, Long> stats() {
        Map<String, Long> stats = new LinkedHashMap<>();
        stats.put("retries", forwarder.retries.sum());
        stats.put("retries-refused-by-budget", forwarder.retriesRefused.sum());
        stats.put("upstream-failures", forwarder.upstreamFailures.sum());
        stats.put("aborted-mid-body", forwarder.abortedMidBody.sum());
        stats.put("clients-gone", forwarder.clientsGone.sum());
        ConnectionPools.Counters connections = forwarder.pools.counters;
        stats.put("upstream-connections-opened", connections.opened.sum());
        stats.put("upstream-connections-reused", connections.reused.sum());
        LeanConnections handler = lean;
        long loopsIdle = handler == null ? 0 : handler.idleUpstreamConnections();
        stats.put("upstream-connections-idle", forwarder.pools.idle() + loopsIdle);
        stats.put("upstream-connections-stale", connections.stale.sum());
        stats.put("upstream-stale-resends", connections.staleRetries.sum());
        stats.put("upstream-connections-expired", connections.expired.sum());
        stats.put("upstream-connections-forbidden", connections.forbidden.sum());
        stats.put("ejections", ejections.get());
        stats.put("routes", (long) routes.size());
        stats.put("lean-requests", handler == null ? 0 : handler.requests());
        stats.put("lean-api-requests", handler == null ? 0 : handler.apiRequests());
        stats.put("lean-handed-off", handler == null ? 0 : handler.handedOff());
        stats.put("lean-platform-thread-connections", handler == null ? 0 : handler.onPlatformThreads());
        stats.put("lean-platform-threads-busy", handler == null ? 0 : handler.platformThreadsBusy());
        stats.put("lean-event-loop-connections", handler == null ? 0 : handler.onEventLoops());
        return stats;
    }

    /**
     * The proxy's traffic to one service since start: {@code requests} forwarded to its instances
     * (a retry is not another request), {@code failures} of its instances (connect, reset, timeout,
     * a 502, 503 or 504 answer: what passive outlier detection counts), {@code unavailable} (answered
     * 503 for want of a healthy instance) and {@code in-flight}. Zeros for a service the proxy has
     * not routed to. Read by {@code GET /v1/services}: sums of a few counters, one short lock.
     */
    public Map<String, Long> traffic(String service) {
        ServiceRuntime runtime = services.get(service);
        Map<String, Long> traffic = new LinkedHashMap<>();
        traffic.put("requests", runtime == null ? 0 : runtime.requests.sum());
        traffic.put("failures", runtime == null ? 0 : runtime.failures.sum());
        traffic.put("unavailable", runtime == null ? 0 : runtime.unavailable.sum());
        traffic.put("in-flight", runtime == null ? 0 : (long) runtime.inFlight());
        return traffic;
    }

    // ---------------------------------------------------------------- routing

    private void proxy(ServerRequest req, ServerResponse res) {
        serve(new HelidonExchange(req, res));
    }

    /** Routes and forwards one request, or answers it with the proxy's own error. */
    void serve(ClientExchange ex) {
        try {
            route(ex);
        } catch (ProxyException e) {
            if (!ex.isSent()) {
                ProxyJson.sendError(ex, e);
            }
        } catch (AclException e) {
            ProxyJson.send(ex, Status.FORBIDDEN_403.code(), e.errorBody());
        }
    }

    /**
     * Refuses a request to a route that needs a token, unless its token may read the service. The
     * token is the gateway's: from {@code X-Consul-Token} (never forwarded) or, failing that,
     * {@code Authorization: Bearer} (then not forwarded either, see {@link Forwarder}). The query
     * is the upstream's and is not read.
     *
     * @return whether the token came in {@code Authorization}, which is then not forwarded
     */
    private boolean requireReader(ClientExchange ex, String service) {
        String header = ex.header(TOKEN);
        String token = header != null
                ? TokenSource.token(header, null, null)
                : TokenSource.bearer(ex.header(HeaderNames.AUTHORIZATION));
        acl.authorize(token).require(Right.serviceRead(service));
        return header == null && token != null;
    }

    private void route(ClientExchange ex) {
        String path = ex.rawPath();
        RouteRuntime route = routes.match(ex.authority(), path, ex);
        if (route != null) {
            forward(ex, route, RouteTable.forwardPath(route, path));
            return;
        }
        if (path.startsWith(SVC)) {
            int end = path.indexOf('/', SVC.length());
            if (end < 0) {
                end = path.length();
            }
            if (end == SVC.length()) {
                throw ProxyException.bad("service", "required", "missing in /svc/{service}/...");
            }
            route = implicitRoutes.find(path, SVC.length(), end);
            if (route == null) {
                route = implicitRoute(path.substring(SVC.length(), end));
            }
            forward(ex, route, end == path.length() ? "/" : ex.rawPathFrom(end));
            return;
        }
        Method method = ex.method();
        if (ModelExtractor.inferencePath(path)) {
            if (method != Method.POST) {
                throw methodNotAllowed(method, path, "POST");
            }
            forwardByModel(ex, path);
            return;
        }
        if (path.equals("/v1/models")) {
            if (method != Method.GET) {
                throw methodNotAllowed(method, path, "GET");
            }
            listModels(ex);
            return;
        }
        throw new ProxyException(
                404,
                "path",
                "no-route",
                "path: no route for " + method.text() + " " + path
                        + " (routes match host, path prefix and headers; every service is at /svc/{service}/...)",
                null,
                null);
    }

    /** Forwards through a route (configured, stored or implicit), counting its answer when metrics are on. */
    private void forward(ClientExchange ex, RouteRuntime route, String forwardPath) {
        recorded(ex, route.recorder, () -> forwardTo(ex, route, forwardPath));
    }

    /**
     * Runs the work that answers a request and tells the recorder (when there is one) the status
     * the client got; an answer deferred to an event loop, or to the connection's thread, is
     * recorded where it ends ({@link ClientExchange#deferred}).
     */
    private static void recorded(ClientExchange ex, ProxyObserver.RouteRecorder recorder, Runnable work) {
        if (recorder == null) {
            work.run();
            return;
        }
        try {
            work.run();
        } catch (RuntimeException e) {
            recorder.answered(answerStatus(e));
            throw e;
        }
        if (ex.deferred()) {
            ex.deferRecorder(recorder);
        } else {
            recorder.answered(ex.status());
        }
    }

    /**
     * Forwards a request that an event loop decided and left to the connection's thread (its
     * upstream needs TLS or a name lookup), answering a failure as {@link #serve} does.
     */
    void forwardDecided(ClientExchange ex, Forwarder.Call call, ProxyObserver.RouteRecorder recorder) {
        try {
            recorded(ex, recorder, () -> forwarder.forward(ex, call));
        } catch (ProxyException e) {
            if (!ex.isSent()) {
                ProxyJson.sendError(ex, e);
            }
        }
    }

    /** The status a request that threw {@code e} is answered with (499: the client went away). */
    private static int answerStatus(RuntimeException e) {
        if (e instanceof ProxyException p) {
            return p.status();
        }
        if (e instanceof AclException) {
            return 403;
        }
        // The client went away (nginx's 499), or the web server answers an error of its own.
        return e instanceof CloseConnectionException ? 499 : 500;
    }

    private void forwardTo(ClientExchange ex, RouteRuntime route, String forwardPath) {
        String service = route.service.name;
        boolean gatewayAuthorization = route.requireToken && requireReader(ex, service);
        RouteRuntime.Table table = route.table(registry.service(service));
        boolean inference = ModelExtractor.inferencePath(forwardPath) && ex.method() == Method.POST;
        long hash = 0;
        boolean hashed = false;
        String key = route.hashHeader == null ? null : ex.header(route.hashHeader);
        if (key != null) {
            hash = Pool.hash(key);
            hashed = true;
        }
        int subset = table.choose(hashed, hash);
        if (subset < 0) {
            route.service.unavailable.increment();
            throw unavailable(route, table);
        }
        Pool pool = table.pools[subset];
        byte[] body = null;
        String model = null;
        if (inference
                && (route.modelRouting == ModelRouting.ON
                        || route.modelRouting == ModelRouting.AUTO && table.advertisesModels)) {
            body = ModelExtractor.readBody(ex, options.maxBufferedBodyBytes());
            model = requireModel(body);
            pool = table.modelPool(subset, model);
            if (pool == null) {
                throw unknownModel(
                        model,
                        "service " + service + " serves: " + String.join(", ", table.models()),
                        service,
                        route.name);
            }
        }
        Balancer balancer = route.balancer;
        if (balancer == Balancer.DEFAULT) {
            balancer = inference ? Balancer.SCORE : Balancer.ROUND_ROBIN;
        }
        InstanceScorer.Scored scored = null;
        if (balancer == Balancer.SCORE) {
            if (scorer == null) {
                balancer = Balancer.LEAST_REQUEST;
            } else {
                if (inference && body == null) {
                    // The scorer hashes the prompt's leading chunks: the body is read (bounded) and
                    // forwarded from that array, as for model routing.
                    body = ModelExtractor.readBody(ex, options.maxBufferedBodyBytes());
                    model = modelOrNull(body);
                }
                scored = scorer.describe(model, body, route.scoring);
            }
        }
        forwarder.forward(
                ex,
                new Forwarder.Call(
                        route.forwarding,
                        pool,
                        balancer,
                        hash,
                        hashed,
                        forwardPath,
                        ex.rawQuery(),
                        body,
                        gatewayAuthorization,
                        scored));
    }

    /** An OpenAI-compatible request without a route: to whichever service serves its model. */
    private void forwardByModel(ClientExchange ex, String path) {
        recorded(ex, modelRecorder, () -> forwardByModelTo(ex, path));
    }

    private void forwardByModelTo(ClientExchange ex, String path) {
        byte[] body = ModelExtractor.readBody(ex, options.maxBufferedBodyBytes());
        String model = requireModel(body);
        ModelDirectory.Table table = models.table();
        Pool pool = table.pools().get(model);
        if (pool == null) {
            List<String> served = new ArrayList<>();
            for (ModelDirectory.Model m : table.models()) {
                served.add(m.id());
            }
            throw unknownModel(model, "healthy instances serve: " + String.join(", ", served), null, null);
        }
        String service = null;
        boolean gatewayAuthorization = false;
        for (ModelDirectory.Model m : table.models()) {
            if (m.id().equals(model)) {
                service = String.join(",", m.services());
                if (options.requireToken()) {
                    for (String s : m.services()) {
                        gatewayAuthorization = requireReader(ex, s);
                    }
                }
            }
        }
        forwarder.forward(
                ex,
                new Forwarder.Call(
                        byModel.named(service, "model:" + model),
                        pool,
                        scorer == null ? Balancer.LEAST_REQUEST : Balancer.SCORE,
                        0,
                        false,
                        path,
                        ex.rawQuery(),
                        body,
                        gatewayAuthorization,
                        scorer == null ? null : scorer.describe(model, body, ScoreWeights.DEFAULT)));
    }

    private void listModels(ClientExchange ex) {
        ObjectNode body = ProxyJson.MAPPER.createObjectNode();
        body.put("object", "list");
        ArrayNode data = body.putArray("data");
        for (ModelDirectory.Model model : models.table().models()) {
            ObjectNode entry = data.addObject();
            entry.put("id", model.id());
            entry.put("object", "model");
            entry.put("created", 0);
            entry.put(
                    "owned_by", model.services().size() == 1 ? model.services().get(0) : "edgegate");
            ArrayNode svc = entry.putArray("services");
            model.services().forEach(svc::add);
            entry.put("instances", model.instances());
        }
        ProxyJson.send(ex, Status.OK_200.code(), body);
    }

    /** The body's model for scoring, or null when it names none or is not a JSON object (forwarded as it is). */
    private static String modelOrNull(byte[] body) {
        try {
            return ModelExtractor.model(body);
        } catch (ProxyException e) {
            return null;
        }
    }

    private static String requireModel(byte[] body) {
        String model = ModelExtractor.model(body);
        if (model == null || model.isEmpty()) {
            throw ProxyException.bad("model", "required", "the request names no model");
        }
        return model;
    }

    private static ProxyException unknownModel(String model, String served, String service, String route) {
        return new ProxyException(
                404,
                "model",
                "unknown-model",
                "model: no healthy instance serves model " + RouteCodec.shorten(model) + " (" + served + ")",
                service,
                route);
    }

    private static ProxyException unavailable(RouteRuntime route, RouteRuntime.Table table) {
        String service = route.service.name;
        String rule;
        String why;
        if (table.registered == 0) {
            rule = "no-instance";
            why = "service " + service + " has no registered instance";
        } else if (table.routable == 0) {
            rule = "no-healthy-instance";
            why = "no healthy instance of service " + service + " (registered=" + table.registered + ", healthy=0)";
        } else if (table.matching == 0) {
            rule = "no-matching-instance";
            RouteSpec.Policy p = route.spec.policy();
            why = "no healthy instance of service " + service + " matches route " + route.name + " (tags=" + p.tags()
                    + ", meta=" + p.meta() + "; healthy=" + table.routable + ")";
        } else {
            rule = "no-matching-instance";
            why = "no healthy instance of service " + service + " is in a subset of route " + route.name
                    + " (healthy and matching=" + table.matching + ")";
        }
        return new ProxyException(503, "service", rule, why, service, route.name);
    }

    private static ProxyException methodNotAllowed(Method method, String path, String allowed) {
        return new ProxyException(
                405,
                "method",
                "method-not-allowed",
                "method: " + method.text() + " not allowed on " + path + " (allowed: " + allowed + ")",
                null,
                null);
    }

    /** Creates the implicit route of a service seen for the first time under {@code /svc/}. */
    private RouteRuntime implicitRoute(String rawName) {
        String name = decode(rawName);
        ServiceSnapshot snapshot = registry.service(name);
        if (snapshot == null) {
            throw new ProxyException(
                    404,
                    "service",
                    "unknown-service",
                    "service: not registered (value=" + RouteCodec.shorten(name) + ")",
                    name,
                    null);
        }
        RouteRuntime route = observed(
                new RouteRuntime(RouteRuntime.implicit(name), "svc:" + name, runtime(name), options, forwarder));
        return implicitRoutes.add(rawName, route);
    }

    /** Percent-decoding of a path segment ({@code +} stays a plus). */
    static String decode(String raw) {
        if (raw.indexOf('%') < 0) {
            return raw;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length()) {
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write(hi << 4 | lo);
                    i += 2;
                    continue;
                }
            }
            byte[] bytes = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
            out.write(bytes, 0, bytes.length);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The runtime of a service, created once. */
    ServiceRuntime runtime(String service) {
        ServiceRuntime runtime = services.get(service);
        if (runtime != null) {
            return runtime;
        }
        return services.computeIfAbsent(
                service, name -> observed(new ServiceRuntime(name, options, upstreams, ejections, tableRebuilds)));
    }

    /** Gives a new service runtime its recorder (before it is published). */
    private ServiceRuntime observed(ServiceRuntime runtime) {
        runtime.recorder = observer == null ? null : observer.service(runtime.name);
        return runtime;
    }

    /** Gives a new route runtime its recorder (before it is published). */
    private RouteRuntime observed(RouteRuntime route) {
        route.recorder = observer == null ? null : observer.route(route.name, route.service.name);
        return route;
    }

    // ---------------------------------------------------------------- routes

    /** The routes in force: the configuration's and the stored ones. */
    List<RouteSpec> routeSpecs() {
        List<RouteSpec> specs = new ArrayList<>();
        for (RouteRuntime route : routes.byName().values()) {
            specs.add(route.spec);
        }
        return specs;
    }

    /**
     * Recompiles the route table from the configuration and the registry's stored routes. A route
     * whose definition did not change keeps its runtime (cursors, tables). A stored route that no
     * longer reads is skipped and reported to the error log; a stored route named like a
     * configured one is shadowed by it.
     */
    synchronized void refreshRoutes() {
        List<RouteSpec> specs = new ArrayList<>(options.routes());
        for (Map.Entry<String, String> e : registry.config(RoutesApi.KIND).entrySet()) {
            if (configuredNames.contains(e.getKey())) {
                continue;
            }
            try {
                specs.add(RouteCodec.read(ProxyJson.MAPPER.readTree(e.getValue()), "", false, RouteSpec.SOURCE_API));
            } catch (IOException | RuntimeException ex) {
                errors.record(new IllegalStateException("stored route " + e.getKey() + " skipped: " + ex.getMessage()));
            }
        }
        Map<String, RouteRuntime> previous = routes.byName();
        List<RouteRuntime> runtimes = new ArrayList<>(specs.size());
        for (RouteSpec spec : specs) {
            RouteRuntime old = previous.get(spec.name());
            if (old != null && old.spec.equals(spec)) {
                runtimes.add(old);
            } else {
                runtimes.add(
                        observed(new RouteRuntime(spec, spec.name(), runtime(spec.service()), options, forwarder)));
            }
        }
        routes = new RouteTable(runtimes);
        ProxyEvents.routesChanged(previous, routes.byName());
        Set<RouteSpec.TlsPolicy> tls = new HashSet<>();
        for (RouteSpec spec : specs) {
            if (spec.policy().upstreamTls() != null) {
                tls.add(spec.policy().upstreamTls());
            }
        }
        forwarder.keepTls(tls);
    }

    private void watchRoutes(long known) {
        while (!closed) {
            try {
                long index = registry.awaitChange(
                        known, TimeUnit.MINUTES.toMillis(1), () -> registry.configIndex(RoutesApi.KIND));
                if (index != known) {
                    known = index;
                    refreshRoutes();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                errors.record(e);
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        LeanConnections handler = lean;
        if (handler != null) {
            handler.close();
        }
        routeWatcher.interrupt();
        tableRebuilds.shutdownNow();
        forwarder.close();
    }
}
