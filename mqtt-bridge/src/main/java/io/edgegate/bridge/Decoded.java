package io.edgegate.bridge;

/** What {@link SyncCodec#decode(String, byte[])} made of a message: never an exception. */
public sealed interface Decoded {
    /**
     * A valid message of this protocol.
     *
     * @param topic the parsed topic
     * @param message its payload
     */
    record Accepted(TopicName topic, SyncMessage message) implements Decoded {}

    /**
     * A malformed or foreign message, to be counted and ignored.
     *
     * @param topic the raw topic
     * @param reason why, short and stable enough to count by (e.g. {@code bad-json})
     * @param detail what exactly, for a log line
     */
    record Rejected(String topic, String reason, String detail) implements Decoded {}
}
