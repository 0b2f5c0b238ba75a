package io.edgegate.gateway.registry;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One service instance as registered: what the service says about itself. Validated at the API
 * boundary; immutable.
 *
 * @param service service name
 * @param id instance id, unique on the node; re-registering it updates in place
 * @param address host or IP the instance listens on
 * @param port its port, 1-65535 (0 for an instance that takes no traffic)
 * @param tags free tags, order kept (by convention {@code version:v2}, {@code region:line-3})
 * @param meta metadata such as version, model, weight
 * @param checks its checks; none means passing from registration on
 * @param weightPassing balancing weight while passing (Consul {@code Weights.Passing})
 * @param weightWarning balancing weight while warning (Consul {@code Weights.Warning})
 */
public record InstanceSpec(
        String service,
        String id,
        String address,
        int port,
        List<String> tags,
        Map<String, String> meta,
        List<CheckSpec> checks,
        int weightPassing,
        int weightWarning) {

    public InstanceSpec {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(id, "id");
        address = address == null ? "" : address;
        tags = tags == null ? List.of() : List.copyOf(tags);
        meta = meta == null ? Map.of() : Map.copyOf(meta);
        checks = checks == null ? List.of() : List.copyOf(checks);
    }

    /** The default instance id: {@code service-address-port}. */
    public static String defaultId(String service, String address, int port) {
        return service + '-' + address + '-' + port;
    }
}
