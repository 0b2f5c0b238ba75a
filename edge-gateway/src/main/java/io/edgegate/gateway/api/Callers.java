package io.edgegate.gateway.api;

import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.edgegate.gateway.registry.CheckKind;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Instance;
import io.edgegate.gateway.registry.InstanceSpec;
import io.edgegate.listener.Requests;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Who sent a request to the gateway's APIs and what it may change: the rights of its token
 * ({@link Requests}), and the registry's rules on top (write on an instance's service, operator for
 * exec checks). Stateless.
 */
public final class Callers {

    private Callers() {}

    /**
     * The rights of the request's token (see {@link Requests#caller}).
     *
     * @throws AclException for a token nobody issued (403, "ACL not found")
     */
    public static Authorizer of(ServerRequest req, AclStore acl) {
        return Requests.caller(req, acl);
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
        Requests.markFiltered(res, filtered);
    }
}
