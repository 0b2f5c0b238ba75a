package io.edgegate.listener;

import io.edgegate.config.ConfigReader;

/**
 * The bounds a {@link ListenerGuard} holds every connection of one listener to. Immutable.
 *
 * @param maxConnectionsPerClient open connections one client address may hold at once; the next
 *     is answered 429 and closed ({@code limits.max-connections-per-client})
 * @param headTimeoutMillis longest a connection may take, from its start, to send a whole request
 *     head (request line and header fields); then it is closed ({@code limits.request-head-timeout})
 * @param keepAliveTimeoutMillis longest a kept-alive connection may take, from the end of one
 *     answer, to send the whole head of the next request; then it is closed
 *     ({@code limits.keep-alive-timeout})
 * @param maxRequestLineBytes longest request line (method, target, version) ({@code
 *     limits.max-request-line-bytes}); longer is answered 414
 * @param maxHeaderBytes largest block of header fields ({@code limits.max-header-bytes}); larger
 *     is answered 400 naming the limit
 */
public record GuardOptions(
        int maxConnectionsPerClient,
        long headTimeoutMillis,
        long keepAliveTimeoutMillis,
        int maxRequestLineBytes,
        int maxHeaderBytes) {
    public GuardOptions {
        if (maxConnectionsPerClient <= 0
                || headTimeoutMillis <= 0
                || keepAliveTimeoutMillis <= 0
                || maxRequestLineBytes <= 0
                || maxHeaderBytes <= 0) {
            throw new IllegalArgumentException("listener limits must be positive: " + this);
        }
    }

    /**
     * Reads {@code limits.max-connections-per-client}, {@code limits.request-head-timeout},
     * {@code limits.keep-alive-timeout}, {@code limits.max-request-line-bytes} and
     * {@code limits.max-header-bytes}; problems are collected by {@code r}.
     */
    public static GuardOptions read(ConfigReader r) {
        return new GuardOptions(
                r.positive("limits.max-connections-per-client"),
                r.duration("limits.request-head-timeout"),
                r.duration("limits.keep-alive-timeout"),
                r.positive("limits.max-request-line-bytes"),
                r.positive("limits.max-header-bytes"));
    }

    /** The documented defaults. */
    public static GuardOptions defaults() {
        return new GuardOptions(256, 10_000, 60_000, 8_192, 16_384);
    }
}
