package io.edgegate.cloud;

import io.edgegate.bridge.Digest;
import io.edgegate.bridge.NodeStatus;
import io.edgegate.bridge.SyncOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One edge node as the fleet holds it.
 *
 * <p>Threads: the applier thread writes everything. Request threads read {@link #instances} (a
 * concurrent map: iteration is weakly consistent, each record is one consistent instance),
 * {@link #head} (replaced whole once per batch that changed the node) and {@link #lastSeen};
 * every other field is the applier's alone.
 */
final class FleetNode {
    /**
     * The node-level state readers see, replaced whole by {@link Fleet}'s publication after a
     * batch that changed the node: a reader that takes it once sees one consistent status.
     *
     * @param online from its retained status; false when it has none yet
     * @param offlineSince epoch millis it went offline (0 while online)
     * @param epoch its epoch, from its newest message
     * @param index the highest index applied from it
     * @param address its advertised address
     */
    record Head(boolean online, long offlineSince, long epoch, long index, String address) {
        static final Head NONE = new Head(false, 0, 0, 0, "");
    }

    final String site;
    final String node;
    /** Instances by id; written by the applier only. */
    final ConcurrentHashMap<String, InstanceRecord> instances = new ConcurrentHashMap<>();
    /** What readers see of the node's status and version. */
    volatile Head head = Head.NONE;
    /** Epoch millis (this replica's clock) of the node's last message: moves with every message, duplicates too. */
    volatile long lastSeen;

    // ---- the applier thread's alone
    final Map<String, long[]> tombstones = new HashMap<>();
    final Digest.Accumulator accumulator = new Digest.Accumulator();
    final Map<Integer, PartialManifest> manifests = new HashMap<>();
    NodeStatus status;
    /** The node's newest digest, compared once its stream is quiet. */
    Digest digest;

    long quietSince;
    /** Whether the last instance message or digest applied from the node was a digest. */
    boolean digestLast;
    /** When the node's digest began waiting for comparison. */
    long digestDueSince;

    boolean resyncQueued;
    List<Integer> resyncBuckets = List.of();
    /** Buckets asked for since the divergence began, within the minimum interval. */
    final Set<Integer> askedBuckets = new HashSet<>();

    int mismatches;
    /** The newest instance version applied from it (digests older than this are not compared). */
    long instanceEpoch;

    long instanceIndex;
    long offlineSince;
    long lastResyncAt = Long.MIN_VALUE / 2;
    long highEpoch;
    long highIndex;
    /** This node's part of the fleet index at the last publication. */
    long term;
    /** The {@link #indexBase()} at which this replica last held exactly what the node's digest says. */
    long matchedBase = -1;
    /** Whether it changed since the last publication (it is then in the applier's list of changed nodes). */
    boolean changed;

    FleetNode(String site, String node) {
        this.site = site;
        this.node = node;
    }

    /** The address this node's last instance had: instances of one host often share it. */
    private String lastAddress = "";

    /**
     * An instance's address, as the same string as the node's last instance's or its status's
     * when equal (instances on the node's own address, or several ports of one pod), else its
     * own: addresses are mostly unique per instance or per node, so a fleet-wide table of them
     * would cost more than it shares.
     */
    String address(String address) {
        if (address.equals(lastAddress)) {
            return lastAddress;
        }
        if (status != null && address.equals(status.address())) {
            return status.address();
        }
        lastAddress = address;
        return address;
    }

    /** Raises the node's high version; whether it moved. */
    boolean raise(long epoch, long idx) {
        if (SyncOrder.isNewer(epoch, idx, highEpoch, highIndex)) {
            highEpoch = epoch;
            highIndex = idx;
            return true;
        }
        return false;
    }

    /**
     * This node's part of the fleet index: twice its {@link #indexBase()}, plus one once this
     * replica holds exactly what the node's newest digest describes. Replicas that received the
     * node's newest messages and hold the same instances agree on it; one still holding an
     * instance the node removed while it did not listen is one behind, and moves when a manifest
     * removes it (the removal has no index of its own to move it). A removal received live does
     * not lower it (the match held at this base stays): the digest that follows raises the base.
     * About 2^49.7 for epochs and sessions in milliseconds of this century, so the fleet index
     * stays within a long for about ten thousand nodes.
     */
    long indexTerm() {
        long base = indexBase();
        if (digest != null && accumulator.matches(digest)) {
            matchedBase = base;
        }
        return 2 * base + (matchedBase == base ? 1 : 0);
    }

    /**
     * The node's high version ({@link Fleet#version}), plus its status session twice and one
     * while offline. A pure function of the node's newest messages, and it only grows: a
     * version, a new session (online again) and going offline each raise it.
     */
    long indexBase() {
        long base = Fleet.version(highEpoch, highIndex);
        if (status != null) {
            base += 2 * status.session() + (status.online() ? 0 : 1);
        }
        return base;
    }

    /** The head readers should see now. */
    Head currentHead() {
        boolean online = status != null && status.online();
        return new Head(
                online, online ? 0 : offlineSince, highEpoch, highIndex, status == null ? "" : status.address());
    }

    /** The parts of one bucket's manifest received so far. */
    static final class PartialManifest {
        final long epoch;
        final long index;
        final int parts;
        final Set<Integer> received = new HashSet<>();
        /** Listed ids and the index of each. */
        final Map<String, Long> ids = new HashMap<>();

        PartialManifest(long epoch, long index, int parts) {
            this.epoch = epoch;
            this.index = index;
            this.parts = parts;
        }
    }
}
