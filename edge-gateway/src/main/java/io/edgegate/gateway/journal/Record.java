package io.edgegate.gateway.journal;

import java.util.Arrays;
import java.util.Objects;

/**
 * One log record read back at recovery: the registry's change index and its opaque payload.
 * Equality compares payload contents, not array identity.
 *
 * @param index the change index the record was appended with
 * @param payload the bytes appended, owned by the caller once returned
 */
public record Record(long index, byte[] payload) {

    /** Rejects a null payload. */
    public Record {
        Objects.requireNonNull(payload, "record: payload");
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Record that && index == that.index && Arrays.equals(payload, that.payload);
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(index) + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return "Record[index=" + index + ", payloadLength=" + payload.length + "]";
    }
}
