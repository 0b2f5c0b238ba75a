package io.edgegate.gateway.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgegate.acl.Acl;
import io.edgegate.acl.AclFile;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.Right;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Tokens in Consul's shape ({@code GET /v1/acl/token/self}, {@code GET /v1/acl/tokens}), on both
 * listeners. A token is shown by its accessor id, description and policies; its secret is never
 * echoed (Consul returns {@code SecretID} here; Edgegate leaves it out). Stateless.
 */
final class AclViews {
    /** Consul's id of the built-in policy that grants everything. */
    static final String GLOBAL_MANAGEMENT_ID = "00000000-0000-0000-0000-000000000001";

    private AclViews() {}

    /** The caller's own token: any caller may read it, the anonymous one included. */
    static void consulTokenSelf(ServerResponse res, Authorizer caller) {
        Json.send(res, Status.OK_200, token(caller));
    }

    /** Every issued token; needs {@code operator:read}. */
    static void consulTokens(ServerResponse res, Authorizer caller, Acl acl) {
        caller.require(Right.operatorRead());
        ArrayNode list = Json.MAPPER.createArrayNode();
        for (Authorizer token : acl.tokens()) {
            list.add(token(token));
        }
        Json.send(res, Status.OK_200, list);
    }

    private static ObjectNode token(Authorizer token) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("AccessorID", token.accessorId());
        out.put("Description", token.description());
        ArrayNode policies = out.putArray("Policies");
        for (String name : token.policies()) {
            policies.addObject().put("ID", policyId(name)).put("Name", name);
        }
        out.put("Local", true);
        out.put("CreateIndex", 0);
        out.put("ModifyIndex", 0);
        return out;
    }

    /** A stable id for a policy name (Consul gives policies UUIDs; the token file gives names). */
    static String policyId(String name) {
        return name.equals(AclFile.GLOBAL_MANAGEMENT)
                ? GLOBAL_MANAGEMENT_ID
                : UUID.nameUUIDFromBytes(("edgegate-policy:" + name).getBytes(StandardCharsets.UTF_8))
                        .toString();
    }
}
