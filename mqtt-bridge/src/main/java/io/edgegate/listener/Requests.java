package io.edgegate.listener;

import io.edgegate.acl.AclException;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Authorizer;
import io.edgegate.acl.TokenSource;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Who sent a request to either service's APIs: the rights of its token, read where Consul's
 * clients put it ({@link TokenSource}: {@code X-Consul-Token}, then {@code Authorization: Bearer},
 * then {@code ?token=}), and Consul's mark on a list the caller's rights filtered. Stateless.
 */
public final class Requests {
    /** The header Consul clients send their token in. */
    public static final HeaderName TOKEN = HeaderNames.create(TokenSource.HEADER);
    /** Consul's mark on a list from which the caller's rights left something out. */
    public static final HeaderName FILTERED = HeaderNames.create("X-Consul-Results-Filtered-By-ACLs");

    private Requests() {}

    /**
     * The rights of the request's token.
     *
     * @throws AclException for a token nobody issued (403, "ACL not found")
     */
    public static Authorizer caller(ServerRequest req, AclStore acl) {
        Headers headers = req.headers();
        String header = headers.first(TOKEN).orElse(null);
        String authorization =
                header == null ? headers.first(HeaderNames.AUTHORIZATION).orElse(null) : null;
        // The query is parsed only when it can hold a token: most requests carry it in a header.
        String query = header == null
                        && authorization == null
                        && req.query().rawValue().contains("token=")
                ? req.query().first("token").orElse(null)
                : null;
        return acl.authorize(TokenSource.token(header, authorization, query));
    }

    /** Marks a list answer as filtered, when it was. */
    public static void markFiltered(ServerResponse res, boolean filtered) {
        if (filtered) {
            res.header(FILTERED, "true");
        }
    }
}
