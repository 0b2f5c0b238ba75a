package io.edgegate.bridge;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The state of one instance, retained on {@code .../instances/{id}}. Ordered by
 * {@code (epoch, index)} ({@link SyncOrder}); a consumer applies it only when newer than what it
 * holds. Immutable.
 *
 * @param service service name
 * @param id instance id, unique on its node; equals the topic's last level
 * @param address host or IP
 * @param port port, 0-65535
 * @param tags tags, order kept
 * @param meta metadata
 * @param health its health
 * @param epoch the node's epoch: changes whenever the node's index could restart
 * @param index the node-wide index of this instance's last change
 * @param timestamp the node's wall-clock time of the change, epoch milliseconds (informative)
 */
public record InstanceState(
        String service,
        String id,
        String address,
        int port,
        List<String> tags,
        Map<String, String> meta,
        SyncHealth health,
        long epoch,
        long index,
        long timestamp)
        implements SyncMessage {

    public InstanceState {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(health, "health");
        address = address == null ? "" : address;
        tags = tags == null ? List.of() : List.copyOf(tags);
        meta = meta == null ? Map.of() : Map.copyOf(meta);
    }
}
