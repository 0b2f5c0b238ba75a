package io.edgegate.bridge;

/** Health of an instance on the wire, with Consul's names. */
public enum SyncHealth {
    PASSING("passing"),
    WARNING("warning"),
    CRITICAL("critical");

    private final String wireName;

    SyncHealth(String wireName) {
        this.wireName = wireName;
    }

    /** The lower-case name written in payloads. */
    public String wireName() {
        return wireName;
    }

    /** Parses a wire name; null when it is none of them. */
    public static SyncHealth parse(String wireName) {
        if (wireName == null) {
            return null;
        }
        return switch (wireName) {
            case "passing" -> PASSING;
            case "warning" -> WARNING;
            case "critical" -> CRITICAL;
            default -> null;
        };
    }
}
