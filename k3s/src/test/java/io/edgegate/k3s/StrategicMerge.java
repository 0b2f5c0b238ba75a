package io.edgegate.k3s;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Kubernetes strategic merge patch, for the fields of the core workload kinds: mappings merge
 * recursively, a null deletes a field, lists of named things merge by their merge key (containers,
 * volumes and env by name, volume mounts by mount path, container ports by containerPort, service
 * ports by port), elements with {@code $patch: delete} are removed, every other list is replaced.
 * Patch elements come first, in the patch's order, then the original's other elements (the order
 * Kubernetes produces).
 */
final class StrategicMerge {
    private StrategicMerge() {}

    static void merge(Map<String, Object> target, Map<String, Object> patch) {
        if ("replace".equals(patch.get("$patch"))) {
            target.clear();
        }
        for (Map.Entry<String, Object> e : patch.entrySet()) {
            String key = e.getKey();
            Object value = e.getValue();
            if (key.startsWith("$")) {
                continue;
            }
            Object current = target.get(key);
            if (value == null) {
                target.remove(key);
            } else if (value instanceof Map<?, ?> pm && current instanceof Map<?, ?> cm) {
                merge(cast(cm), cast(pm));
            } else if (value instanceof List<?> pl && current instanceof List<?> cl && mergeKey(key, pl, cl) != null) {
                target.put(key, mergeList(cl, pl, mergeKey(key, pl, cl)));
            } else {
                Object copy = Yamls.copy(value);
                if (copy instanceof Map<?, ?> m) {
                    strip(cast(m));
                }
                target.put(key, copy);
            }
        }
    }

    /** The merge key of a list field, or null when the list is replaced whole. */
    static String mergeKey(String field, List<?> patch, List<?> current) {
        return switch (field) {
            case "containers",
                    "initContainers",
                    "ephemeralContainers",
                    "volumes",
                    "env",
                    "imagePullSecrets",
                    "resourceClaims",
                    "readinessGates" -> field.equals("readinessGates") ? "conditionType" : "name";
            case "volumeMounts" -> "mountPath";
            case "volumeDevices" -> "devicePath";
            case "hostAliases" -> "ip";
            case "topologySpreadConstraints" -> "topologyKey";
            case "ports" ->
                hasKey(patch, "containerPort") || hasKey(current, "containerPort") ? "containerPort" : "port";
            default -> null;
        };
    }

    private static boolean hasKey(List<?> list, String key) {
        return list.stream().anyMatch(o -> o instanceof Map<?, ?> m && m.containsKey(key));
    }

    private static List<Object> mergeList(List<?> current, List<?> patch, String key) {
        List<Object> rest = new ArrayList<>(Yamls.copy(current));
        List<Object> head = new ArrayList<>();
        for (Object p : patch) {
            if (!(p instanceof Map<?, ?> pm)) {
                throw new ManifestException("a patch element of a list merged by '" + key + "' is not a mapping: " + p);
            }
            Object k = pm.get(key);
            Map<String, Object> existing = null;
            for (Iterator<Object> it = rest.iterator(); it.hasNext(); ) {
                Object c = it.next();
                if (c instanceof Map<?, ?> cm && Objects.equals(cm.get(key), k)) {
                    existing = cast(cm);
                    it.remove();
                    break;
                }
            }
            if ("delete".equals(pm.get("$patch"))) {
                continue;
            }
            if (existing == null) {
                Map<String, Object> added = Yamls.copy(cast(pm));
                strip(added);
                head.add(added);
            } else {
                merge(existing, cast(pm));
                head.add(existing);
            }
        }
        head.addAll(rest);
        return head;
    }

    /** Removes directives from a patch fragment that becomes content. */
    private static void strip(Map<String, Object> m) {
        m.keySet().removeIf(k -> k.startsWith("$"));
        for (Object v : m.values()) {
            if (v instanceof Map<?, ?> c) {
                strip(cast(c));
            } else if (v instanceof List<?> l) {
                for (Object o : l) {
                    if (o instanceof Map<?, ?> c) {
                        strip(cast(c));
                    }
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }
}
