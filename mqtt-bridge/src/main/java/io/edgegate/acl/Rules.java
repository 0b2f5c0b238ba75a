package io.edgegate.acl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rules of one or more policies, merged and compiled for lookups. Precedence, as in Consul: an
 * exact {@code service} rule over any {@code service-prefix} rule, a longer prefix over a shorter
 * one; where two policies give the same name or prefix, {@code deny} wins, else the wider access.
 * A resource without a matching rule has none ({@code null}): the default policy decides.
 * Immutable and thread-safe.
 */
final class Rules {
    static final Rules NONE = new Rules(Map.of(), List.of(), null, null, null);
    static final Rules ALL =
            new Rules(Map.of(), List.of(new Prefix("", Access.WRITE)), Access.WRITE, Access.WRITE, Access.WRITE);

    record Prefix(String prefix, Access access) {}

    private final Map<String, Access> services;
    /** Longest first, so the first match is the most specific. */
    private final Prefix[] prefixes;

    private final Access node;
    private final Access agent;
    private final Access operator;

    Rules(Map<String, Access> services, List<Prefix> prefixes, Access node, Access agent, Access operator) {
        this.services = Map.copyOf(services);
        List<Prefix> sorted = new ArrayList<>(prefixes);
        sorted.sort(Comparator.comparingInt((Prefix p) -> p.prefix().length()).reversed());
        this.prefixes = sorted.toArray(Prefix[]::new);
        this.node = node;
        this.agent = agent;
        this.operator = operator;
    }

    /** The access the rules give to service {@code name}, or null when no rule matches. */
    Access service(String name) {
        Access exact = services.get(name);
        if (exact != null) {
            return exact;
        }
        for (Prefix p : prefixes) {
            if (name.startsWith(p.prefix())) {
                return p.access();
            }
        }
        return null;
    }

    Access node() {
        return node;
    }

    Access agent() {
        return agent;
    }

    Access operator() {
        return operator;
    }

    /** The rules of several policies together (see the class comment for precedence). */
    static Rules merge(List<Rules> all) {
        if (all.size() == 1) {
            return all.get(0);
        }
        Map<String, Access> services = new HashMap<>();
        Map<String, Access> prefixes = new HashMap<>();
        Access node = null;
        Access agent = null;
        Access operator = null;
        for (Rules r : all) {
            r.services.forEach((name, access) -> services.merge(name, access, Rules::combine));
            for (Prefix p : r.prefixes) {
                prefixes.merge(p.prefix(), p.access(), Rules::combine);
            }
            node = combine(node, r.node);
            agent = combine(agent, r.agent);
            operator = combine(operator, r.operator);
        }
        List<Prefix> list = new ArrayList<>();
        prefixes.forEach((prefix, access) -> list.add(new Prefix(prefix, access)));
        return new Rules(services, list, node, agent, operator);
    }

    /** Two policies' access to the same thing: deny wins, else the wider. */
    static Access combine(Access a, Access b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        if (a == Access.DENY || b == Access.DENY) {
            return Access.DENY;
        }
        return a.compareTo(b) >= 0 ? a : b;
    }
}
