package io.edgegate.acl;

import java.util.List;

/**
 * What one token may do: its identity (never its secret) and its merged policy rules, with the
 * default policy for anything no rule names. Answers in a few field reads and, for services, one
 * map lookup plus a scan of the token's prefixes: cheap enough for every request. Immutable and
 * thread-safe.
 */
public final class Authorizer {
    /** The accessor id Consul gives the anonymous token. */
    public static final String ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002";

    private final String accessorId;
    private final String description;
    private final List<String> policies;
    private final Rules rules;
    private final Access fallback;
    private final boolean anonymous;

    Authorizer(
            String accessorId,
            String description,
            List<String> policies,
            Rules rules,
            Access fallback,
            boolean anonymous) {
        this.accessorId = accessorId;
        this.description = description;
        this.policies = List.copyOf(policies);
        this.rules = rules;
        this.fallback = fallback;
        this.anonymous = anonymous;
    }

    /** Allows everything: what every request is when enforcement is off ({@code default-policy: allow}, no token). */
    static Authorizer allowAll(String accessorId, String description, List<String> policies, boolean anonymous) {
        return new Authorizer(accessorId, description, policies, Rules.NONE, Access.WRITE, anonymous);
    }

    /** The token's public id (Consul's AccessorID); safe to log and show. */
    public String accessorId() {
        return accessorId;
    }

    public String description() {
        return description;
    }

    /** Names of the policies the token carries. */
    public List<String> policies() {
        return policies;
    }

    /** Whether this is the rights of requests that carry no token. */
    public boolean anonymous() {
        return anonymous;
    }

    public boolean allows(Right right) {
        Access granted =
                switch (right.resource()) {
                    case Right.SERVICE -> rules.service(right.name());
                    case Right.NODE -> rules.node();
                    case Right.AGENT -> rules.agent();
                    case Right.OPERATOR -> rules.operator();
                    default -> Access.DENY;
                };
        return (granted == null ? fallback : granted).allows(right.access());
    }

    public boolean canReadService(String service) {
        Access granted = rules.service(service);
        return (granted == null ? fallback : granted).allows(Access.READ);
    }

    public boolean canWriteService(String service) {
        Access granted = rules.service(service);
        return (granted == null ? fallback : granted).allows(Access.WRITE);
    }

    /** Throws the refusal naming {@code right} unless this token has it. */
    public void require(Right right) {
        if (!allows(right)) {
            throw new AclException(right, accessorId);
        }
    }

    @Override
    public String toString() {
        return "Authorizer[accessor=" + accessorId + ", policies=" + policies + "]";
    }
}
