package io.edgegate.cloud;

import io.edgegate.bridge.Digest;
import io.edgegate.bridge.InstanceState;
import io.edgegate.bridge.SyncHealth;
import java.util.List;
import java.util.Map;

/**
 * One instance as the fleet holds it: about 72 bytes of fields, the id the only string of its own;
 * service, address, tags and metadata are the {@link SharedValues} copies every instance with the
 * same value points to. The node's informative timestamp is not kept (no API shows it).
 *
 * <p>Immutable but for {@link #lastSeen}: the applier thread makes a new record for every change
 * and replaces the old one in its node's map, so a reader holding a record sees one consistent
 * instance state. {@code lastSeen} moves in place when the same version arrives again (a
 * duplicate confirms the state without changing it).
 */
final class InstanceRecord {
    private static final SyncHealth[] HEALTH = SyncHealth.values();

    final String id;
    final String service;
    final String address;
    final List<String> tags;
    final Map<String, String> meta;
    final long epoch;
    final long index;
    /** The version the instance appeared at ({@link Fleet#version}), kept across its changes. */
    final long createIndex;

    final int port;
    private final byte health;
    /** Its digest bucket ({@link Digest#bucketOf}), so a bucket's manifest finds its instances without hashing. */
    final byte bucket;
    /** Epoch millis (this replica's clock) its state last arrived or was confirmed. */
    volatile long lastSeen;

    /** @param address the instance's address, already shared where it repeats (see {@link FleetNode#address}) */
    InstanceRecord(InstanceState s, SharedValues shared, String address, long createIndex, long lastSeen) {
        this.id = s.id();
        this.service = shared.string(s.service());
        this.address = address;
        this.tags = shared.list(s.tags());
        this.meta = shared.map(s.meta());
        this.epoch = s.epoch();
        this.index = s.index();
        this.createIndex = createIndex;
        this.port = s.port();
        this.health = (byte) s.health().ordinal();
        this.bucket = (byte) Digest.bucketOf(s.id());
        this.lastSeen = lastSeen;
    }

    SyncHealth health() {
        return HEALTH[health];
    }

    /** The version of its last change ({@link Fleet#version}): Consul's ModifyIndex. */
    long modifyIndex() {
        return Fleet.version(epoch, index);
    }

    /** The wire form of its state (timestamp 0: not kept); made on each call, for a reader. */
    InstanceState state() {
        return new InstanceState(service, id, address, port, tags, meta, health(), epoch, index, 0);
    }
}
