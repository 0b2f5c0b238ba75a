package io.edgegate.gateway.registry;

/**
 * Health of a check or of an instance, with Consul's names and ordering: an instance is as
 * healthy as its worst check.
 */
public enum Health {
    PASSING("passing"),
    WARNING("warning"),
    CRITICAL("critical");

    private final String wireName;

    Health(String wireName) {
        this.wireName = wireName;
    }

    /** The lower-case name used on both APIs and in the journal ({@code passing}, ...). */
    public String wireName() {
        return wireName;
    }

    /** The worse of the two (critical beats warning beats passing). */
    public Health worst(Health other) {
        return other.ordinal() > ordinal() ? other : this;
    }

    /** Parses a wire name; {@code null} when it is none of them. */
    public static Health parse(String wireName) {
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
