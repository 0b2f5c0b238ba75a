package io.edgegate.gateway.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The configured and stored routes compiled for matching, most specific first: routes with an
 * exact host, then with a wildcard host (longer suffix first), then without; within those the
 * longer path prefix first, then the one with more header conditions, then by name. The first
 * route whose host, prefix and headers all match wins.
 *
 * <p>Immutable; replaced whole when routes change. {@link #match} allocates nothing: it compares
 * regions of the request's strings and looks headers up by precomputed names.
 */
final class RouteTable {
    static final RouteTable EMPTY = new RouteTable(List.of());

    private final Entry[] entries;
    private final Map<String, RouteRuntime> byName;

    /** One compiled route. */
    private record Entry(
            String host,
            boolean wildcard,
            String prefix,
            HeaderName[] headerNames,
            String[] headerValues,
            RouteRuntime runtime) {}

    RouteTable(List<RouteRuntime> routes) {
        List<Entry> list = new ArrayList<>();
        Map<String, RouteRuntime> names = new LinkedHashMap<>();
        for (RouteRuntime runtime : routes) {
            RouteSpec spec = runtime.spec;
            String host = spec.host();
            boolean wildcard = host != null && host.startsWith("*.");
            if (wildcard) {
                host = host.substring(1); // ".example.com": matched as a suffix
            }
            HeaderName[] headerNames = new HeaderName[spec.headers().size()];
            String[] headerValues = new String[headerNames.length];
            int i = 0;
            for (Map.Entry<String, String> h : spec.headers().entrySet()) {
                headerNames[i] = HeaderNames.create(h.getKey());
                headerValues[i] = h.getValue();
                i++;
            }
            list.add(new Entry(host, wildcard, spec.pathPrefix(), headerNames, headerValues, runtime));
            names.put(spec.name(), runtime);
        }
        list.sort(Comparator.comparingInt((Entry e) -> e.host == null ? 2 : e.wildcard ? 1 : 0)
                .thenComparing(e -> e.host == null ? 0 : -e.host.length())
                .thenComparing(e -> -e.prefix.length())
                .thenComparing(e -> -e.headerNames.length)
                .thenComparing(e -> e.runtime.spec.name()));
        this.entries = list.toArray(new Entry[0]);
        this.byName = Map.copyOf(names);
    }

    /** The routes by name. */
    Map<String, RouteRuntime> byName() {
        return byName;
    }

    int size() {
        return entries.length;
    }

    /** A request's fields, as route matching reads them. */
    interface Fields {
        /** The first value of a field, or null when the request has none. */
        String header(HeaderName name);
    }

    /**
     * The first route matching the request, or null.
     *
     * @param authority the request's {@code Host} (with or without port), or null
     * @param path the request's raw path
     * @param headers the request's headers
     */
    RouteRuntime match(String authority, String path, Headers headers) {
        Entry[] all = entries;
        for (Entry e : all) {
            if (e.host != null && !hostMatches(e, authority)) {
                continue;
            }
            if (!prefixMatches(e.prefix, path)) {
                continue;
            }
            if (!headersMatch(e, headers)) {
                continue;
            }
            return e.runtime;
        }
        return null;
    }

    /** As {@link #match(String, String, Headers)}, for a request read by either server ({@link ClientExchange}). */
    RouteRuntime match(String authority, String path, Fields fields) {
        Entry[] all = entries;
        for (Entry e : all) {
            if (e.host != null && !hostMatches(e, authority)) {
                continue;
            }
            if (!prefixMatches(e.prefix, path)) {
                continue;
            }
            if (!fieldsMatch(e, fields)) {
                continue;
            }
            return e.runtime;
        }
        return null;
    }

    private static boolean hostMatches(Entry e, String authority) {
        if (authority == null) {
            return false;
        }
        int end = hostEnd(authority);
        int len = e.host.length();
        if (e.wildcard) {
            // ".example.com" needs at least one character before it.
            return end > len && authority.regionMatches(true, end - len, e.host, 0, len);
        }
        return end == len && authority.regionMatches(true, 0, e.host, 0, len);
    }

    /** Where the host ends in {@code host[:port]} or {@code [v6]:port}. */
    private static int hostEnd(String authority) {
        if (!authority.isEmpty() && authority.charAt(0) == '[') {
            int close = authority.indexOf(']');
            return close < 0 ? authority.length() : close + 1;
        }
        int colon = authority.indexOf(':');
        return colon < 0 ? authority.length() : colon;
    }

    /** Prefix match on segment boundaries: {@code /llm} matches {@code /llm} and {@code /llm/x}, not {@code /llmx}. */
    static boolean prefixMatches(String prefix, String path) {
        int len = prefix.length();
        if (len == 1) {
            return true; // "/"
        }
        return path.startsWith(prefix) && (path.length() == len || path.charAt(len) == '/');
    }

    private static boolean headersMatch(Entry e, Headers headers) {
        HeaderName[] names = e.headerNames;
        for (int i = 0; i < names.length; i++) {
            if (!headers.contains(names[i])) {
                return false;
            }
            String expected = e.headerValues[i];
            if (!"*".equals(expected) && !expected.equals(headers.get(names[i]).get())) {
                return false;
            }
        }
        return true;
    }

    private static boolean fieldsMatch(Entry e, Fields fields) {
        HeaderName[] names = e.headerNames;
        for (int i = 0; i < names.length; i++) {
            String value = fields.header(names[i]);
            if (value == null) {
                return false;
            }
            String expected = e.headerValues[i];
            if (!"*".equals(expected) && !expected.equals(value)) {
                return false;
            }
        }
        return true;
    }

    /** The path to forward: the prefix removed when the route strips it ({@code /} if nothing is left). */
    static String forwardPath(RouteRuntime route, String path) {
        if (!route.spec.stripPrefix() || route.spec.pathPrefix().length() == 1) {
            return path;
        }
        int len = route.spec.pathPrefix().length();
        return path.length() == len ? "/" : path.substring(len);
    }
}
