package io.edgegate.gateway.proxy;

/**
 * A request the proxy answers itself: a refused route definition (4xx naming the field) or a
 * request it cannot route or forward (404, 503, 502, 504 naming the service and why). Carries the
 * whole answer; answered as {@code {"error", "field", "rule"}} plus {@code service} and
 * {@code route} when known. Without a stack trace: it is control flow on a wire path.
 */
final class ProxyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String field;
    private final String rule;
    private final String service;
    private final String route;

    ProxyException(int status, String field, String rule, String message, String service, String route) {
        super(message, null, false, false);
        this.status = status;
        this.field = field;
        this.rule = rule;
        this.service = service;
        this.route = route;
    }

    /** A 400 naming the field: {@code field: detail}. */
    static ProxyException bad(String field, String rule, String detail) {
        return new ProxyException(400, field, rule, field + ": " + detail, null, null);
    }

    int status() {
        return status;
    }

    String field() {
        return field;
    }

    String rule() {
        return rule;
    }

    /** The service the request was for, or null. */
    String service() {
        return service;
    }

    /** The route that matched, or null. */
    String route() {
        return route;
    }
}
