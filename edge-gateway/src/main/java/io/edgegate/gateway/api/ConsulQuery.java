package io.edgegate.gateway.api;

import io.helidon.common.uri.UriQuery;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The query parameters of one Consul read, parsed as Consul parses them: {@code index} and
 * {@code wait} (blocking query), {@code hash} (agent blocking), repeated {@code tag} (AND),
 * {@code node-meta}, {@code stale} / {@code consistent}, {@code dc} and {@code filter}. The rest
 * ({@code cached}, {@code near}, {@code ns}, {@code partition}, {@code token}, ...) is accepted and
 * ignored. Immutable.
 *
 * <p>Choices where this gateway cannot do what Consul does: a {@code dc} other than this site is
 * a 500 "No path to datacenter", as Consul answers for an unknown datacenter (our site, in any
 * case, is served); a non-empty {@code filter} is a 400, because answering unfiltered data to a
 * client that asked for a subset would be wrong without saying so.
 *
 * @param index the client's last seen index; 0 for a plain read
 * @param waitMillis the asked wait, null when absent (the default applies)
 * @param hash the agent content hash to block on, null when absent
 * @param tags tags an instance must all carry (case-insensitive, as Consul compares them)
 * @param nodeMeta node metadata the node must carry
 * @param consistency the consistency mode answered in {@code X-Consul-Effective-Consistency}
 */
record ConsulQuery(
        long index, Long waitMillis, String hash, List<String> tags, Map<String, String> nodeMeta, String consistency) {

    /** Parses and validates; 400 naming the parameter (500 for a foreign {@code dc}). */
    static ConsulQuery parse(UriQuery query, String site) {
        String dc = single(query, "dc");
        if (dc != null && !dc.isEmpty() && !dc.equalsIgnoreCase(site)) {
            throw new ApiException(
                    500,
                    "dc",
                    "datacenter",
                    "dc: No path to datacenter (value=" + InstanceValidator.shorten(dc) + ", site=" + site + ")");
        }
        String filter = single(query, "filter");
        if (filter != null && !filter.isBlank()) {
            throw ApiException.bad(
                    "filter",
                    "unsupported",
                    "filter expressions are not supported by this gateway; use tag, passing or node-meta");
        }
        boolean stale = query.contains("stale");
        boolean consistent = query.contains("consistent");
        if (stale && consistent) {
            throw ApiException.bad(
                    "consistent", "consistency", "cannot specify ?stale with ?consistent, conflicting semantics");
        }
        long index = 0;
        String indexText = single(query, "index");
        if (indexText != null && !indexText.isEmpty()) {
            try {
                index = Long.parseUnsignedLong(indexText);
            } catch (NumberFormatException e) {
                throw ApiException.bad(
                        "index",
                        "index",
                        "invalid index (value=" + InstanceValidator.shorten(indexText)
                                + "), expected an unsigned integer");
            }
        }
        Long wait = null;
        String waitText = single(query, "wait");
        if (waitText != null && !waitText.isEmpty()) {
            wait = Durations.parseMillis("wait", waitText);
        }
        String hash = single(query, "hash");
        List<String> tags = query.all("tag", List::of);
        Map<String, String> nodeMeta = Map.of();
        List<String> metaPairs = query.all("node-meta", List::of);
        if (!metaPairs.isEmpty()) {
            nodeMeta = new LinkedHashMap<>();
            for (String pair : metaPairs) {
                int colon = pair.indexOf(':');
                if (colon < 0) {
                    nodeMeta.put(pair, "");
                } else {
                    nodeMeta.put(pair.substring(0, colon), pair.substring(colon + 1));
                }
            }
        }
        return new ConsulQuery(
                index,
                wait,
                hash == null || hash.isEmpty() ? null : hash,
                List.copyOf(tags),
                Map.copyOf(nodeMeta),
                stale ? "stale" : consistent ? "consistent" : "leader");
    }

    /** Whether this read is a blocking query (Consul blocks for any non-zero index). */
    boolean blocking() {
        return index != 0;
    }

    /**
     * {@code passing} as Consul reads it: absent is false, present without a value is true,
     * otherwise Go's {@code strconv.ParseBool}; 400 for anything else.
     */
    static boolean passing(UriQuery query) {
        if (!query.contains("passing")) {
            return false;
        }
        String value = single(query, "passing");
        if (value == null || value.isEmpty()) {
            return true;
        }
        return switch (value) {
            case "1", "t", "T", "true", "TRUE", "True" -> true;
            case "0", "f", "F", "false", "FALSE", "False" -> false;
            default ->
                throw ApiException.bad(
                        "passing",
                        "bool",
                        "failed to parse passing (value=" + InstanceValidator.shorten(value)
                                + "), expected true, false, 1, 0, t or f");
        };
    }

    /** Go's {@code strconv.ParseBool} for a required parameter; 400 naming it otherwise. */
    static boolean requiredBool(UriQuery query, String name) {
        String value = single(query, name);
        if (value == null || value.isEmpty()) {
            throw ApiException.bad(name, "required", "missing value for " + name + ", expected true or false");
        }
        return switch (value) {
            case "1", "t", "T", "true", "TRUE", "True" -> true;
            case "0", "f", "F", "false", "FALSE", "False" -> false;
            default ->
                throw ApiException.bad(
                        name,
                        "bool",
                        "invalid value for " + name + " (value=" + InstanceValidator.shorten(value)
                                + "), expected true or false");
        };
    }

    /** Whether the tags hold every asked tag, compared ignoring case as Consul does. */
    boolean matchesTags(List<String> instanceTags) {
        for (String wanted : tags) {
            boolean found = false;
            for (String tag : instanceTags) {
                if (tag.equalsIgnoreCase(wanted)) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    /** Whether the node metadata holds every asked pair. */
    boolean matchesNodeMeta(Map<String, String> meta) {
        for (Map.Entry<String, String> e : nodeMeta.entrySet()) {
            if (!e.getValue().equals(meta.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** The first value of a parameter, null when absent; present without a value reads as "". */
    static String single(UriQuery query, String name) {
        if (!query.contains(name)) {
            return null;
        }
        return query.first(name).orElse("");
    }
}
