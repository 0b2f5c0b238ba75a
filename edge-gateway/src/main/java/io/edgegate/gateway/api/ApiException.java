package io.edgegate.gateway.api;

/**
 * Input refused at an API boundary: the status to answer, the field at fault and the rule it
 * broke. Answered as {@code {"error": message, "field": field, "rule": rule}}.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String field;
    private final String rule;

    public ApiException(int status, String field, String rule, String message) {
        super(message, null, false, false);
        this.status = status;
        this.field = field;
        this.rule = rule;
    }

    /** A 400 naming the field, the rule and the bad value: {@code field: rule (value=...)}. */
    public static ApiException bad(String field, String rule, String detail) {
        return new ApiException(400, field, rule, field + ": " + detail);
    }

    public int status() {
        return status;
    }

    public String field() {
        return field;
    }

    public String rule() {
        return rule;
    }
}
