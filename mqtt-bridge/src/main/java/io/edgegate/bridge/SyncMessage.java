package io.edgegate.bridge;

/**
 * A decoded payload of the sync protocol. Every payload names its schema version
 * ({@code "v": 1}) and its {@code type}; {@link SyncCodec} reads and writes them.
 */
public sealed interface SyncMessage
        permits InstanceState, InstanceRemoved, NodeStatus, Digest, Manifest, ConfigPush, ConfigRemoved, ResyncCommand {
    /** The schema version this code writes, and the newest it reads. */
    int SCHEMA_VERSION = 1;
}
