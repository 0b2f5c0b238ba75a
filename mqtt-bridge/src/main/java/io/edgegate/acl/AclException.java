package io.edgegate.acl;

/**
 * A request refused by the ACL: answered 403 with nothing changed. Either the token lacks a
 * {@link #needs() right}, or the request carried a token that no one issued
 * ({@link #tokenNotFound()}, Consul's {@code ACL not found}). Carries the caller's accessor id
 * (safe to show), never a secret.
 */
public final class AclException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Right needs;
    private final String accessorId;

    AclException(Right needs, String accessorId) {
        super("permission denied: token lacks " + needs, null, false, false);
        this.needs = needs;
        this.accessorId = accessorId;
    }

    private AclException(String message) {
        super(message, null, false, false);
        this.needs = null;
        this.accessorId = "";
    }

    /** A token was given that matches none: the same answer whether it never existed or was revoked. */
    static AclException notFound() {
        return new AclException("ACL not found: the token is not known (revoked, mistyped or from another cluster)");
    }

    /** The right the token lacks; null when the token itself was not found. */
    public Right needs() {
        return needs;
    }

    public boolean tokenNotFound() {
        return needs == null;
    }

    public String accessorId() {
        return accessorId;
    }

    /**
     * The JSON error body of the native APIs: {@code {"error", "field": "token", "rule": "acl",
     * "needs": "service:llm-infer:write", "accessor"}} ({@code needs} and {@code accessor} only when
     * a known token lacks a right).
     */
    public java.util.Map<String, Object> errorBody() {
        java.util.Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("error", getMessage());
        body.put("field", "token");
        body.put("rule", "acl");
        if (needs != null) {
            body.put("needs", needs.toString());
            body.put("accessor", accessorId);
        }
        return body;
    }

    /** The message in Consul's wording, for the Consul-compatible APIs (plain text, 403). */
    public String consulMessage() {
        return needs == null ? "ACL not found" : needs.consulDenial(accessorId);
    }
}
