package io.edgegate.acl;

import java.util.Locale;

/** What a rule grants on a resource, ordered: {@code WRITE} implies {@code READ}. */
public enum Access {
    DENY,
    READ,
    WRITE;

    /** Whether this grants at least {@code needed}. */
    public boolean allows(Access needed) {
        return compareTo(needed) >= 0;
    }

    /** The name used in token files and in refusals: {@code deny}, {@code read}, {@code write}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code deny}, {@code read} or {@code write}; null for anything else. */
    public static Access parse(String text) {
        if (text == null) {
            return null;
        }
        return switch (text) {
            case "deny" -> DENY;
            case "read" -> READ;
            case "write" -> WRITE;
            default -> null;
        };
    }
}
