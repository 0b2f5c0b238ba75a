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
        String[] l = topic.substring(Topics.ROOT.length() + 1).split("/", -1);
        for (String level : l) {
            if (!Topics.validLevel(level)) {
                return null;
            }
        }
        if (l.length < 3) {
            return null;
        }
        String site = l[0];
        if (l[1].equals(Topics.CONFIG)) {
            return l.length == 4 ? new TopicName(Kind.SITE_CONFIG, site, null, l[2], l[3]) : null;
        }
        String node = l[1];
        return switch (l[2]) {
            case "instances" -> l.length == 4 ? new TopicName(Kind.INSTANCE, site, node, l[3], null) : null;
            case "status" -> l.length == 3 ? new TopicName(Kind.STATUS, site, node, null, null) : null;
            case "digest" -> l.length == 3 ? new TopicName(Kind.DIGEST, site, node, null, null) : null;
            case "manifest" -> l.length == 3 ? new TopicName(Kind.MANIFEST, site, node, null, null) : null;
            case "cmd" ->
                l.length == 4 && l[3].equals("resync") ? new TopicName(Kind.RESYNC, site, node, null, null) : null;
            case "config" -> l.length == 5 ? new TopicName(Kind.NODE_CONFIG, site, node, l[3], l[4]) : null;
            default -> null;
        };
    }
}
