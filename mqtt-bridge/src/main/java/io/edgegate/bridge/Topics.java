package io.edgegate.bridge;

import java.util.Objects;

/**
 * The sync protocol's topic tree, {@code edgegate/v1/{site}/{node}/...}.
 *
 * <p>Site and node names become topic levels, so they must not contain the MQTT level separator
 * or wildcards; {@link #validLevel(String)} is the one rule both ends apply. Immutable and
 * thread-safe.
 */
public final class Topics {
    /** Protocol version carried in every topic; a consumer subscribes to the versions it reads. */
    public static final String ROOT = "edgegate/v1";

    /** The level that holds site-wide configuration; reserved, so no node may be named so. */
    public static final String CONFIG = "config";

    private final String site;
    private final String node;
    private final String nodePrefix;

    /**
     * Topics of one edge node.
     *
     * @throws IllegalArgumentException naming the bad level when site or node is not a valid
     *     topic level
     */
    public Topics(String site, String node) {
        this.site = requireLevel("site", site);
        this.node = requireLevel("node", node);
        if (node.equals(CONFIG)) {
            throw new IllegalArgumentException(
                    "invalid topic level: node=" + node + " (reserved for site configuration)");
        }
        this.nodePrefix = ROOT + '/' + site + '/' + node + '/';
    }

    public String site() {
        return site;
    }

    public String node() {
        return node;
    }

    /** Retained state of one instance; an empty retained payload deletes it. */
    public String instance(String instanceId) {
        return nodePrefix + "instances/" + requireLevel("instance id", instanceId);
    }

    /** Retained node status, also the topic of the node's will. */
    public String status() {
        return nodePrefix + "status";
    }

    /** Digests of the node's registrations (retained: the latest is what the node holds). */
    public String digest() {
        return nodePrefix + "digest";
    }

    /** Manifests of buckets, sent after a resync of them. */
    public String manifest() {
        return nodePrefix + "manifest";
    }

    /** Resync commands from cloud-sync to this node (not retained). */
    public String resync() {
        return nodePrefix + "cmd/resync";
    }

    /** Retained configuration pushed to this node only. */
    public String nodeConfig(String kind, String name) {
        return nodePrefix + "config/" + requireLevel("config kind", kind) + '/' + requireLevel("config name", name);
    }

    /** Retained configuration pushed to every node of a site. */
    public static String siteConfig(String site, String kind, String name) {
        return ROOT + '/' + requireLevel("site", site) + "/" + CONFIG + "/" + requireLevel("config kind", kind) + '/'
                + requireLevel("config name", name);
    }

    /** What an edge node subscribes to: its resync commands, its own and its site's configuration. */
    public java.util.List<String> downlinkFilters() {
        return java.util.List.of(resync(), nodePrefix + "config/#", ROOT + '/' + site + "/" + CONFIG + "/#");
    }

    /** This node's retained instances (an edge node reads them back to clear ones it no longer has). */
    public String instancesFilter() {
        return nodePrefix + "instances/+";
    }

    /** What cloud-sync subscribes to: instances, status and digests of every node of every site. */
    public static java.util.List<String> uplinkFilters() {
        return java.util.List.of(
                ROOT + "/+/+/instances/+", ROOT + "/+/+/status", ROOT + "/+/+/digest", ROOT + "/+/+/manifest");
    }

    /** Subscription that receives every node of every site. */
    public static String allNodes() {
        return ROOT + "/+/+/#";
    }

    /**
     * Whether {@code level} can be one topic level: non-empty, at most 128 characters, none of
     * {@code / + #}, no control characters.
     */
    public static boolean validLevel(String level) {
        return level != null && validLevel(level, 0, level.length());
    }

    /** {@link #validLevel(String)} of the characters of {@code topic} from {@code start} to {@code end}. */
    static boolean validLevel(String topic, int start, int end) {
        if (end == start || end - start > 128) {
            return false;
        }
        for (int i = start; i < end; i++) {
            char c = topic.charAt(i);
            if (c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static String requireLevel(String what, String level) {
        Objects.requireNonNull(level, what);
        if (!validLevel(level)) {
            throw new IllegalArgumentException("invalid topic level: " + what + "=" + level
                    + " (1-128 characters, none of / + # or control characters)");
        }
        return level;
    }
}
