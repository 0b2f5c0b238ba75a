package io.edgegate.cloud;

import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.TokenSource;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Who sent a request: the rights of its token, read as the gateway and Consul read it
 * ({@link TokenSource}: {@code X-Consul-Token}, {@code Authorization: Bearer}, {@code ?token=}).
 * Stateless.
 */
final class Callers {
    static final HeaderName TOKEN = HeaderNames.create(TokenSource.HEADER);
    static final HeaderName FILTERED = HeaderNames.create("X-Consul-Results-Filtered-By-ACLs");

    private Callers() {}

    /** The rights of the request's token; throws the 403 "ACL not found" for a token nobody issued. */
    static Authorizer of(ServerRequest req, AclStore acl) {
        Headers headers = req.headers();
        String header = headers.first(TOKEN).orElse(null);
        String authorization =
                header == null ? headers.first(HeaderNames.AUTHORIZATION).orElse(null) : null;
        String query = header == null && authorization == null
                ? req.query().first("token").orElse(null)
                : null;
        return acl.authorize(TokenSource.token(header, authorization, query));
    }

    static void markFiltered(ServerResponse res, boolean filtered) {
        if (filtered) {
            res.header(FILTERED, "true");
        }
    }
}
