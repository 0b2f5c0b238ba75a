package io.edgegate.bridge;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * Configuration pushed by cloud-sync, retained on {@code {site}/config/{kind}/{name}} (whole site)
 * or {@code {site}/{node}/config/{kind}/{name}} (one node). The node applies it and keeps it
 * locally; a node-level item overrides the site-level item of the same kind and name. An empty
 * retained payload withdraws it ({@link ConfigRemoved}).
 *
 * @param kind what it configures, e.g. {@code routing} or {@code weights}; equals the topic level
 * @param name which item, e.g. a route or service name; equals the topic level
 * @param version increases with every push of this item (newer wins)
 * @param timestamp epoch milliseconds of the push
 * @param body the configuration itself, a JSON object the edge interprets per kind; do not mutate
 */
public record ConfigPush(String kind, String name, long version, long timestamp, JsonNode body) implements SyncMessage {
    public ConfigPush {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(body, "body");
    }
}
