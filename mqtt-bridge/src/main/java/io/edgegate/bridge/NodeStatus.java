package io.edgegate.bridge;

/**
 * The node's status, retained on {@code .../status}; the offline form is also the node's MQTT
 * will, so the broker publishes it when the node vanishes. Ordered by {@code (epoch, session)};
 * within one session offline wins over online (the will of a session comes after its online).
 *
 * @param online whether the node is connected
 * @param epoch the node's epoch
 * @param index the node's index when the status was written (for a will: at connect time)
 * @param session increases with every connection of the node
 * @param since epoch milliseconds the state began; 0 in a will (the consumer uses arrival time)
 * @param address the node's advertised address, may be empty
 */
public record NodeStatus(boolean online, long epoch, long index, long session, long since, String address)
        implements SyncMessage {

    public NodeStatus {
        address = address == null ? "" : address;
    }

    /** Whether this status supersedes {@code other} (null: always). */
    public boolean supersedes(NodeStatus other) {
        if (other == null) {
            return true;
        }
        if (epoch != other.epoch) {
            return epoch > other.epoch;
        }
        if (session != other.session) {
            return session > other.session;
        }
        return !online && other.online;
    }
}
