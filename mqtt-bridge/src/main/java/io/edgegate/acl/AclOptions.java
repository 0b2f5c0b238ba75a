package io.edgegate.acl;

import io.edgegate.config.ConfigReader;
import java.nio.file.Path;

/**
 * How a service enforces access. Immutable.
 *
 * @param enforced the default policy: true for deny (the default: a request needs a token whose
 *     policies grant what it does), false for {@code allow} (no enforcement; a lab's explicit opt-out)
 * @param tokensFile the token file (YAML or JSON, see {@link AclFile}), re-read when it changes;
 *     null for none: then a management token is made on the first start at {@code managementTokenFile}
 * @param managementTokenFile where the management token of a service without a token file is kept
 *     (created with mode 0600 when missing; the secret is never logged)
 * @param reloadIntervalMillis how often the token file and its secret files are checked for changes
 */
public record AclOptions(boolean enforced, Path tokensFile, Path managementTokenFile, long reloadIntervalMillis) {
    public AclOptions {
        if (tokensFile == null && managementTokenFile == null) {
            throw new IllegalArgumentException("acl: a tokens file or a management token file is needed");
        }
        if (reloadIntervalMillis <= 0) {
            throw new IllegalArgumentException(
                    "acl: reload-interval must be positive (millis=" + reloadIntervalMillis + ")");
        }
    }

    /**
     * Reads {@code acl.default-policy} ({@code deny} or {@code allow}), {@code acl.tokens-file} and
     * {@code acl.reload-interval}; problems are collected by {@code r}.
     *
     * @param managementTokenFile where the management token is kept without a token file
     */
    public static AclOptions read(ConfigReader r, Path managementTokenFile) {
        return new AclOptions(
                r.oneOf("acl.default-policy", "deny", "allow").equals("deny"),
                r.path("acl.tokens-file"),
                managementTokenFile,
                r.duration("acl.reload-interval"));
    }
}
