package io.edgegate.k3s;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Read access to one rendered Kubernetes object, a YAML mapping as {@link Yamls} loads it: its id,
 * its pod template, pod spec and containers. Stateless; the maps are the caller's.
 */
final class K8s {
    /** Kinds without a namespace. */
    static final Set<String> CLUSTER_SCOPED = Set.of(
            "Namespace",
            "ClusterRole",
            "ClusterRoleBinding",
            "PriorityClass",
            "StorageClass",
            "PersistentVolume",
            "CustomResourceDefinition",
            "RuntimeClass",
            "IngressClass",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration");

    private K8s() {}

    static String kind(Map<String, Object> o) {
        return o.get("kind") == null ? null : String.valueOf(o.get("kind"));
    }

    static String name(Map<String, Object> o) {
        Object n = metadataOf(o).get("name");
        return n == null ? null : String.valueOf(n);
    }

    static String namespace(Map<String, Object> o) {
        Object n = metadataOf(o).get("namespace");
        return n == null ? null : String.valueOf(n);
    }

    /** {@code Kind/namespace/name}, or {@code Kind/name} without a namespace. */
    static String id(Map<String, Object> o) {
        return kind(o) + "/" + (namespace(o) == null ? "" : namespace(o) + "/") + name(o);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> metadataOf(Map<String, Object> o) {
        return o.get("metadata") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    /** The pod template of a workload, or null. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> template(Map<String, Object> o) {
        if (!(o.get("spec") instanceof Map<?, ?> spec)) {
            return null;
        }
        if ("CronJob".equals(kind(o))
                && spec.get("jobTemplate") instanceof Map<?, ?> jt
                && jt.get("spec") instanceof Map<?, ?> js
                && js.get("template") instanceof Map<?, ?> t) {
            return (Map<String, Object>) t;
        }
        return spec.get("template") instanceof Map<?, ?> t ? (Map<String, Object>) t : null;
    }

    /** The containers and init containers of a workload's pod template (or of a Pod). */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> containers(Map<String, Object> o) {
        Map<String, Object> podSpec = podSpec(o);
        List<Map<String, Object>> out = new ArrayList<>();
        if (podSpec == null) {
            return out;
        }
        for (String field : List.of("initContainers", "containers")) {
            if (podSpec.get(field) instanceof List<?> l) {
                for (Object c : l) {
                    if (c instanceof Map<?, ?> m) {
                        out.add((Map<String, Object>) m);
                    }
                }
            }
        }
        return out;
    }

    /** The pod spec of a Pod or of a workload's pod template, or null. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> podSpec(Map<String, Object> o) {
        if ("Pod".equals(kind(o))) {
            return o.get("spec") instanceof Map<?, ?> s ? (Map<String, Object>) s : null;
        }
        Map<String, Object> t = template(o);
        return t != null && t.get("spec") instanceof Map<?, ?> s ? (Map<String, Object>) s : null;
    }
}
