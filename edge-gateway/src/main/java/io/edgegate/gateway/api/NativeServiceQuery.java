package io.edgegate.gateway.api;

import io.edgegate.gateway.registry.Health;
import io.edgegate.gateway.registry.Instance;
import io.helidon.common.uri.UriQuery;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The query of {@code GET /v1/services/{service}}: instance filters and blocking parameters,
 * parsed and checked once per request. Immutable.
 *
 * @param health healths to keep (OR); empty keeps all
 * @param tags tags every kept instance carries (AND)
 * @param meta metadata every kept instance carries (AND)
 * @param routable keep only routable (true) or only unroutable (false) instances; null keeps all
 * @param blocking the blocking parameters
 */
record NativeServiceQuery(
        Set<Health> health, List<String> tags, Map<String, String> meta, Boolean routable, Blocking blocking) {

    private static final Set<String> PARAMETERS = Set.of("health", "tag", "meta", "routable", "index", "wait");

    /**
     * A blocking query's parameters.
     *
     * @param index the index the client knows; null for a plain read
     * @param waitMillis the wait it asked for; null for the default
     */
    record Blocking(Long index, Long waitMillis) {
        private static final Set<String> PARAMETERS = Set.of("index", "wait");

        /** Reads {@code index} and {@code wait} from a query that may carry no other parameter. */
        static Blocking parseStrict(UriQuery query) {
            rejectUnknown(query, PARAMETERS);
            return parse(query);
        }

        static Blocking parse(UriQuery query) {
            Long index = null;
            String indexText = single(query, "index");
            if (indexText != null) {
                try {
                    index = Long.parseLong(indexText);
                } catch (NumberFormatException e) {
                    index = -1L;
                }
                if (index < 0) {
                    throw ApiException.bad(
                            "index",
                            "index",
                            "not a registry index (value=" + InstanceValidator.shorten(indexText)
                                    + "), expected a non-negative integer");
                }
            }
            String waitText = single(query, "wait");
            Long wait = waitText == null ? null : Durations.parseMillis("wait", waitText);
            return new Blocking(index, wait);
        }

        boolean blocks() {
            return index != null;
        }
    }

    static NativeServiceQuery parse(UriQuery query) {
        rejectUnknown(query, PARAMETERS);
        Set<Health> health = EnumSet.noneOf(Health.class);
        for (String value : query.all("health", List::of)) {
            Health h = Health.parse(value);
            if (h == null) {
                throw ApiException.bad(
                        "health",
                        "health",
                        "unknown health (value=" + InstanceValidator.shorten(value)
                                + "), expected passing, warning or critical");
            }
            health.add(h);
        }
        List<String> tags = query.all("tag", List::of);
        for (String tag : tags) {
            if (tag.isEmpty()) {
                throw ApiException.bad("tag", "tag", "empty tag filter");
            }
        }
        Map<String, String> meta = new LinkedHashMap<>();
        for (String pair : query.all("meta", List::of)) {
            int colon = pair.indexOf(':');
            if (colon <= 0) {
                throw ApiException.bad(
                        "meta", "key-value", "expected key:value (value=" + InstanceValidator.shorten(pair) + ")");
            }
            String key = pair.substring(0, colon);
            String value = pair.substring(colon + 1);
            String previous = meta.put(key, value);
            if (previous != null && !previous.equals(value)) {
                throw ApiException.bad(
                        "meta",
                        "key-value",
                        "two values for one key can never both match (key=" + InstanceValidator.shorten(key) + ")");
            }
        }
        Boolean routable = null;
        String routableText = single(query, "routable");
        if (routableText != null) {
            routable = bool("routable", routableText);
        }
        return new NativeServiceQuery(health, List.copyOf(tags), Map.copyOf(meta), routable, Blocking.parse(query));
    }

    /** Whether the instance passes every filter. */
    boolean matches(Instance instance) {
        if (!health.isEmpty() && !health.contains(instance.health())) {
            return false;
        }
        if (routable != null && instance.routable() != routable) {
            return false;
        }
        List<String> instanceTags = instance.spec().tags();
        for (String tag : tags) {
            if (!instanceTags.contains(tag)) {
                return false;
            }
        }
        Map<String, String> instanceMeta = instance.spec().meta();
        for (Map.Entry<String, String> e : meta.entrySet()) {
            if (!e.getValue().equals(instanceMeta.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** {@code true} or {@code false}, else a 400 naming the parameter. */
    static boolean bool(String field, String text) {
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default ->
                throw ApiException.bad(
                        field, "boolean", "expected true or false (value=" + InstanceValidator.shorten(text) + ")");
        };
    }

    /** The parameter's only value, null when absent; 400 when given twice (which one would win?). */
    static String single(UriQuery query, String name) {
        List<String> values = query.all(name, List::of);
        if (values.isEmpty()) {
            return null;
        }
        if (values.size() > 1) {
            throw ApiException.bad(name, "single", "given " + values.size() + " times, expected once");
        }
        return values.get(0);
    }

    /** A misspelt filter ({@code tags=}) would silently match everything: refuse it. */
    static void rejectUnknown(UriQuery query, Set<String> known) {
        for (String name : query.names()) {
            if (!known.contains(name)) {
                throw ApiException.bad(
                        name,
                        "unknown-parameter",
                        "unknown query parameter (name=" + InstanceValidator.shorten(name) + "), expected one of "
                                + new java.util.TreeSet<>(known));
            }
        }
    }
}
