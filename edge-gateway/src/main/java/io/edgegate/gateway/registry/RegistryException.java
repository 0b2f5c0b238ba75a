package io.edgegate.gateway.registry;

/**
 * A registry operation that was refused. Carries the decision the API needs: the HTTP status,
 * the field at fault and the rule it broke.
 */
public final class RegistryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String field;
    private final String rule;

    public RegistryException(int status, String field, String rule, String message) {
        super(message, null, false, false);
        this.status = status;
        this.field = field;
        this.rule = rule;
    }

    static RegistryException notFound(String field, String value) {
        return new RegistryException(404, field, "unknown", "not found: " + field + "=" + value);
    }

    static RegistryException conflict(String field, String message) {
        return new RegistryException(409, field, "conflict", message);
    }

    static RegistryException unavailable(String rule, String message) {
        return new RegistryException(503, "", rule, message);
    }

    /** HTTP status for the answer (4xx: the caller's fault; 503: try again). */
    public int status() {
        return status;
    }

    /** The input field at fault, empty when none. */
    public String field() {
        return field;
    }

    /** Short name of the rule that was broken. */
    public String rule() {
        return rule;
    }
}
