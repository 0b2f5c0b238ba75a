package io.edgegate.gateway.sync;

import io.edgegate.bridge.LinkOptions;

/**
 * How the node syncs with the cloud. Immutable.
 *
 * @param link the broker connection (URL, credentials, TLS, protocol, backoff, in-flight window)
 * @param publishRatePerSecond the most instance messages sent per second, so a reconnect after a
 *     long outage does not flood the broker
 * @param digestIntervalMillis how often the node publishes a digest the cloud checks its copy against
 */
public record SyncOptions(LinkOptions link, long publishRatePerSecond, long digestIntervalMillis) {}
