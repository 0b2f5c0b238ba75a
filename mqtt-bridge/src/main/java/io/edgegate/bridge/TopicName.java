package io.edgegate.bridge;

/**
 * A parsed sync topic: what it carries and for whom. {@link #parse(String)} answers null for any
 * topic outside the protocol, so a consumer counts and ignores it. Immutable.
 *
 * @param kind what the topic carries
 * @param site the site level
 * @param node the node level; null for site-wide configuration
 * @param key the instance id for {@link Kind#INSTANCE}, the config kind for configuration, else null
 * @param name the config name for configuration, else null
 */
public record TopicName(Kind kind, String site, String node, String key, String name) {

    /** The kinds of topic in {@code edgegate/v1}. */
    public enum Kind {
        /** {@code {site}/{node}/instances/{id}}, retained. */
        INSTANCE,
        /** {@code {site}/{node}/status}, retained, also the will. */
        STATUS,
        /** {@code {site}/{node}/digest}, retained. */
        DIGEST,
        /** {@code {site}/{node}/manifest}, not retained: a bucket's manifest after a resync. */
        MANIFEST,
        /** {@code {site}/{node}/cmd/resync}, not retained, cloud to edge. */
        RESYNC,
        /** {@code {site}/{node}/config/{kind}/{name}}, retained, cloud to edge. */
        NODE_CONFIG,
        /** {@code {site}/config/{kind}/{name}}, retained, cloud to every node of the site. */
        SITE_CONFIG
    }

    /** Parses a topic of this protocol version; null when it is not one. */
    public static TopicName parse(String topic) {
        if (topic == null || !topic.startsWith(Topics.ROOT + '/')) {
            return null;
        }
        // The levels after the root, read in place (no split): every one must be valid, and only
        // those a topic names are made strings.
        int from = Topics.ROOT.length() + 1;
        int[] ends = new int[MAX_LEVELS];
        int levels = 0;
        int start = from;
        while (true) {
            int slash = topic.indexOf('/', start);
            int end = slash < 0 ? topic.length() : slash;
            if (levels == MAX_LEVELS || !Topics.validLevel(topic, start, end)) {
                return null;
            }
            ends[levels++] = end;
            if (slash < 0) {
                break;
            }
            start = slash + 1;
        }
        if (levels < 3) {
            return null;
        }
        String site = topic.substring(from, ends[0]);
        int second = ends[0] + 1;
        int third = ends[1] + 1;
        if (is(topic, second, ends[1], Topics.CONFIG)) {
            return levels == 4
                    ? new TopicName(
                            Kind.SITE_CONFIG,
                            site,
                            null,
                            topic.substring(third, ends[2]),
                            topic.substring(ends[2] + 1, ends[3]))
                    : null;
        }
        String node = topic.substring(second, ends[1]);
        int fourth = ends[2] + 1;
        if (is(topic, third, ends[2], "instances")) {
            return levels == 4 ? new TopicName(Kind.INSTANCE, site, node, topic.substring(fourth), null) : null;
        }
        if (is(topic, third, ends[2], "status")) {
            return levels == 3 ? new TopicName(Kind.STATUS, site, node, null, null) : null;
        }
        if (is(topic, third, ends[2], "digest")) {
            return levels == 3 ? new TopicName(Kind.DIGEST, site, node, null, null) : null;
        }
        if (is(topic, third, ends[2], "manifest")) {
            return levels == 3 ? new TopicName(Kind.MANIFEST, site, node, null, null) : null;
        }
        if (is(topic, third, ends[2], "cmd")) {
            return levels == 4 && is(topic, fourth, ends[3], "resync")
                    ? new TopicName(Kind.RESYNC, site, node, null, null)
                    : null;
        }
        if (is(topic, third, ends[2], "config")) {
            return levels == 5
                    ? new TopicName(
                            Kind.NODE_CONFIG,
                            site,
                            node,
                            topic.substring(fourth, ends[3]),
                            topic.substring(ends[3] + 1))
                    : null;
        }
        return null;
    }

    /** The most levels after the root a topic of the protocol has. */
    private static final int MAX_LEVELS = 5;

    /** Whether {@code topic}'s characters from {@code start} to {@code end} are {@code level}. */
    private static boolean is(String topic, int start, int end, String level) {
        return end - start == level.length() && topic.startsWith(level, start);
    }
}
