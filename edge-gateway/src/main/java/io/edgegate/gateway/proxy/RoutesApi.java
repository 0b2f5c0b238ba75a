package io.edgegate.gateway.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Right;
import io.edgegate.gateway.registry.Change;
import io.edgegate.gateway.registry.Registry;
import io.edgegate.gateway.registry.RegistryException;
import io.edgegate.listener.Requests;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.List;

/**
 * {@code GET /v1/routes}, and {@code GET, PUT, DELETE /v1/routes/{name}}: the routes in force,
 * and the routes stored at run time. A stored route is a registry configuration entry of kind
 * {@code route} (journaled, acknowledged once durable, synced like the rest of the registry); the
 * proxy applies it before answering. Routes of the configuration file are read-only here (409).
 * Every refusal names the field: {@code {"error","field","rule"}}.
 */
final class RoutesApi {
    static final String KIND = "route";
    static final int MAX_BODY_BYTES = 64 * 1024;
    static final int MAX_STORED_ROUTES = 1_024;

    private final Registry registry;
    private final ProxyService proxy;
    private final AclStore acl;

    RoutesApi(Registry registry, ProxyService proxy, AclStore acl) {
        this.registry = registry;
        this.proxy = proxy;
        this.acl = acl;
    }

    /** Refuses unless the caller's token has {@code right} (routes are the operator's). */
    private void require(ServerRequest req, Right right) {
        Requests.caller(req, acl).require(right);
    }

    /** {@code /v1/routes}. */
    void collection(ServerRequest req, ServerResponse res) {
        try {
            if (req.prologue().method() != Method.GET) {
                throw methodNotAllowed(req, "/v1/routes", "GET");
            }
            require(req, Right.operatorRead());
            ObjectNode body = ProxyJson.MAPPER.createObjectNode();
            body.put("index", registry.configIndex(KIND));
            ArrayNode list = body.putArray("routes");
            List<RouteSpec> routes = proxy.routeSpecs().stream()
                    .sorted(Comparator.comparing(RouteSpec::name))
                    .toList();
            for (RouteSpec route : routes) {
                list.add(RouteCodec.write(route).put("source", route.source()));
            }
            ProxyJson.send(res, Status.OK_200, body);
        } catch (ProxyException e) {
            ProxyJson.sendError(res, e);
        } catch (AclException e) {
            ProxyJson.send(res, Status.FORBIDDEN_403, e.errorBody());
        }
    }

    /** {@code /v1/routes/{name}}. */
    void item(ServerRequest req, ServerResponse res) {
        try {
            String name = req.path().pathParameters().get("name");
            Method method = req.prologue().method();
            if (method == Method.GET) {
                require(req, Right.operatorRead());
                get(name, res);
            } else if (method == Method.PUT) {
                require(req, Right.operatorWrite());
                put(name, req, res);
            } else if (method == Method.DELETE) {
                require(req, Right.operatorWrite());
                delete(name, res);
            } else {
                throw methodNotAllowed(req, "/v1/routes/{name}", "GET, PUT, DELETE");
            }
        } catch (ProxyException e) {
            ProxyJson.sendError(res, e);
        } catch (AclException e) {
            ProxyJson.send(res, Status.FORBIDDEN_403, e.errorBody());
        } catch (RegistryException e) {
            ProxyJson.sendError(res, new ProxyException(e.status(), e.field(), e.rule(), e.getMessage(), null, null));
        }
    }

    private void get(String name, ServerResponse res) {
        RouteSpec route = find(name);
        if (route == null) {
            throw notFound(name);
        }
        ProxyJson.send(res, Status.OK_200, RouteCodec.write(route).put("source", route.source()));
    }

    private void put(String name, ServerRequest req, ServerResponse res) {
        RouteCodec.requireName("name", name);
        requireNotConfigured(name);
        JsonNode node = readBody(req);
        if (!(node instanceof ObjectNode object)) {
            throw ProxyException.bad("body", "type", "expected a route object");
        }
        JsonNode bodyName = object.get("name");
        if (bodyName == null || bodyName.isNull()) {
            object.put("name", name);
        } else if (!bodyName.isTextual() || !bodyName.textValue().equals(name)) {
            throw ProxyException.bad(
                    "name",
                    "path-match",
                    "differs from the name in the path (value=" + bodyName + ", path=" + name + ")");
        }
        RouteSpec route = RouteCodec.read(object, "", false, RouteSpec.SOURCE_API);
        RouteCodec.checkFiles(route, "");
        if (!registry.config(KIND).containsKey(name) && registry.config(KIND).size() >= MAX_STORED_ROUTES) {
            throw new ProxyException(
                    422,
                    "name",
                    "max-routes",
                    "name: too many stored routes (count="
                            + registry.config(KIND).size() + ", max=" + MAX_STORED_ROUTES + ")",
                    null,
                    null);
        }
        String json;
        try {
            json = ProxyJson.MAPPER.writeValueAsString(RouteCodec.write(route));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode route", e);
        }
        Change change = registry.await(registry.putConfig(KIND, name, json));
        proxy.refreshRoutes();
        ObjectNode body = ProxyJson.MAPPER.createObjectNode();
        body.put("name", name);
        body.put("index", change.index());
        body.set("route", RouteCodec.write(route).put("source", route.source()));
        ProxyJson.send(res, Status.OK_200, body);
    }

    private void delete(String name, ServerResponse res) {
        requireNotConfigured(name);
        Change change = registry.await(registry.putConfig(KIND, name, null));
        proxy.refreshRoutes();
        ObjectNode body = ProxyJson.MAPPER.createObjectNode();
        body.put("name", name);
        body.put("index", change.index());
        body.put("deleted", true);
        ProxyJson.send(res, Status.OK_200, body);
    }

    private RouteSpec find(String name) {
        for (RouteSpec route : proxy.routeSpecs()) {
            if (route.name().equals(name)) {
                return route;
            }
        }
        return null;
    }

    private void requireNotConfigured(String name) {
        RouteSpec route = find(name);
        if (route != null && route.source().equals(RouteSpec.SOURCE_CONFIG)) {
            throw new ProxyException(
                    409,
                    "name",
                    "config-route",
                    "name: route " + name + " comes from the configuration file and cannot be changed at run time",
                    null,
                    name);
        }
    }

    private static ProxyException notFound(String name) {
        return new ProxyException(404, "name", "unknown", "not found: route=" + name, null, null);
    }

    private static ProxyException methodNotAllowed(ServerRequest req, String path, String allowed) {
        return new ProxyException(
                405,
                "method",
                "method-not-allowed",
                "method: " + req.prologue().method().text() + " not allowed on " + path + " (allowed: " + allowed + ")",
                null,
                null);
    }

    private static JsonNode readBody(ServerRequest req) {
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > MAX_BODY_BYTES) {
            throw tooLarge(declared);
        }
        byte[] body;
        try (InputStream in = req.content().inputStream()) {
            body = in.readNBytes(MAX_BODY_BYTES + 1);
        } catch (IOException | UncheckedIOException e) {
            throw ProxyException.bad("body", "readable", "cannot read the request body: " + e.getMessage());
        }
        if (body.length > MAX_BODY_BYTES) {
            throw tooLarge(body.length);
        }
        if (body.length == 0) {
            throw ProxyException.bad("body", "required", "a route object is required");
        }
        try {
            return ProxyJson.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ProxyException.bad("body", "json", "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ProxyException.bad("body", "json", "malformed JSON: " + e.getMessage());
        }
    }

    private static ProxyException tooLarge(long size) {
        return new ProxyException(
                413,
                "body",
                "max-body-bytes",
                "body: too large (bytes=" + size + ", max=" + MAX_BODY_BYTES + ")",
                null,
                null);
    }
}
