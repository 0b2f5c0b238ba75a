package io.edgegate.acl;

/**
 * Where a request's token is, in the order Consul reads it: the {@code X-Consul-Token} header,
 * then {@code Authorization: Bearer <token>}, then the {@code token} query parameter. An empty
 * value is no token (Spring Cloud Consul sends {@code token=} on every call when none is set).
 */
public final class TokenSource {
    /** The header Consul clients send their token in. */
    public static final String HEADER = "X-Consul-Token";

    private static final String BEARER = "Bearer ";

    private TokenSource() {}

    /**
     * The token of a request, or null for none.
     *
     * @param header the {@code X-Consul-Token} header's value, or null
     * @param authorization the {@code Authorization} header's value, or null
     * @param query the {@code token} query parameter's value, or null
     */
    public static String token(String header, String authorization, String query) {
        if (header != null && !header.isBlank()) {
            return header.strip();
        }
        String bearer = bearer(authorization);
        if (bearer != null) {
            return bearer;
        }
        if (query != null && !query.isBlank()) {
            return query.strip();
        }
        return null;
    }

    /** The token of an {@code Authorization: Bearer} value, or null when it is not one. */
    public static String bearer(String authorization) {
        if (authorization != null
                && authorization.length() > BEARER.length()
                && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            String token = authorization.substring(BEARER.length()).strip();
            return token.isEmpty() ? null : token;
        }
        return null;
    }
}
