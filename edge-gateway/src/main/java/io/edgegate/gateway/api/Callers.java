package io.edgegate.gateway.api;

import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.edgegate.acl.TokenSource;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Who sent a request: the rights of its token (header {@code X-Consul-Token}, then
 * {@code Authorization: Bearer}, then {@code ?token=}; see {@link TokenSource}), and the header that
 * tells a client a list was filtered by those rights. Stateless.
 */
public final class Callers {
    /** The header Consul clients send their token in. */
    public static final HeaderName TOKEN = HeaderNames.create(TokenSource.HEADER);
    /** Consul's mark on a list from which the caller's rights left something out. */
    public static final HeaderName FILTERED = HeaderNames.create("X-Consul-Results-Filtered-By-ACLs");

    private Callers() {}

    /**
     * The rights of the request's token.
     *
     * @throws AclException for a token nobody issued (403, "ACL not found")
     */
    public static Authorizer of(ServerRequest req, AclStore acl) {
        Headers headers = req.headers();
        String header = headers.first(TOKEN).orElse(null);
        String authorization =
                header == null ? headers.first(HeaderNames.AUTHORIZATION).orElse(null) : null;
        String query = header == null && authorization == null
                ? req.query().first("token").orElse(null)
                : null;
        return acl.authorize(TokenSource.token(header, authorization, query));
    }

    /**
     * Refuses a registration the caller may not make: {@code write} on the instance's service,
     * and {@code operator:write} for an exec check (a command run on this node).
     */
    public static void requireRegistration(Authorizer caller, InstanceSpec spec) {
        caller.require(Right.serviceWrite(spec.service()));
        for (CheckSpec check : spec.checks()) {
            if (check.kind() == CheckKind.EXEC) {
                caller.require(Right.operatorWrite());
                return;
            }
        }
    }

    /**
     * Refuses a change to an instance unless the caller may write its service. An unknown
     * instance is left to the registry, which answers 404 and changes nothing.
     */
    public static void requireInstanceWrite(Authorizer caller, Instance instance) {
        if (instance != null) {
            caller.require(Right.serviceWrite(instance.service()));
        }
    }

    /** Marks a list answer as filtered, when it was. */
    public static void markFiltered(ServerResponse res, boolean filtered) {
        if (filtered) {
            res.header(FILTERED, "true");
        }
    }
}
