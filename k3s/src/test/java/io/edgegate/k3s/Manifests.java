package io.edgegate.k3s;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Renders a kustomization and validates every object: the schema, then the cross-object checks. */
final class Manifests {
    /**
     * Objects a kustomization expects to exist already (created by the operator, not applied): the
     * broker's credentials and ACL and cloud-sync's broker password everywhere
     * (k3s/mosquitto/broker-auth.sh makes them), every Secret in prod.
     */
    static final Map<String, Set<String>> EXTERNAL = Map.of(
            "base", Set.of("Secret/edgegate/cloud-sync-mqtt"),
            "overlays/dev", Set.of("Secret/edgegate/cloud-sync-mqtt", "Secret/edgegate/mosquitto-auth"),
            "overlays/prod",
                    Set.of(
                            "Secret/edgegate/edge-gateway-secrets",
                            "Secret/edgegate/cloud-sync-acl",
                            "Secret/edgegate/cloud-sync-mqtt"),
            "mosquitto", Set.of("Namespace//edgegate", "Secret/edgegate/mosquitto-auth"));

    private Manifests() {}

    /** The k3s directory (the module's base directory). */
    static Path root() {
        String dir = System.getProperty("k3s.dir");
        Path p = dir != null ? Path.of(dir) : Path.of("").toAbsolutePath();
        if (!Files.isDirectory(p.resolve("base"))) {
            p = p.resolve("k3s");
        }
        return p.toAbsolutePath().normalize();
    }

    record Result(List<Map<String, Object>> objects, List<String> errors) {
        String report() {
            return errors.isEmpty() ? "valid" : String.join("\n  ", errors);
        }
    }

    /** Renders {@code dir} (relative to the k3s directory, or absolute) and validates it. */
    static Result check(Path dir, Set<String> external) {
        List<Map<String, Object>> objects;
        try {
            objects = Kubectl.kustomize(dir);
        } catch (ManifestException e) {
            return new Result(List.of(), List.of("render: " + e.getMessage()));
        }
        List<String> errors = new ArrayList<>();
        for (Map<String, Object> o : objects) {
            for (String e : Schema.validate(o)) {
                errors.add(K8s.id(o) + ": schema: " + e);
            }
        }
        errors.addAll(Lint.check(objects, external));
        return new Result(objects, errors);
    }

    static Result check(String overlay) {
        return check(root().resolve(overlay), EXTERNAL.getOrDefault(overlay, Set.of()));
    }
}
