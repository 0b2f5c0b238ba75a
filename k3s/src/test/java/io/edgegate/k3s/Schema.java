package io.edgegate.k3s;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1CronJob;
import io.kubernetes.client.openapi.models.V1DaemonSet;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1Job;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1PersistentVolumeClaim;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1PriorityClass;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Strict validation of one object against the Kubernetes 1.32 API schema, with the models of the
 * official Java client (io.kubernetes:client-java-api, generated from the OpenAPI spec): the kind
 * must exist at that apiVersion; every field must be one the schema defines (a misspelt or
 * misplaced field is an error, where kubectl apply without --validate=strict may drop it); required
 * fields must be present; values must have the schema's types (quantities, int-or-string ports,
 * enums checked by the API server are left to it).
 */
final class Schema {
    private static final Map<String, Class<?>> MODELS = Map.ofEntries(
            Map.entry("v1/Namespace", V1Namespace.class),
            Map.entry("v1/ConfigMap", V1ConfigMap.class),
            Map.entry("v1/Secret", V1Secret.class),
            Map.entry("v1/Service", V1Service.class),
            Map.entry("v1/ServiceAccount", V1ServiceAccount.class),
            Map.entry("v1/Pod", V1Pod.class),
            Map.entry("v1/PersistentVolumeClaim", V1PersistentVolumeClaim.class),
            Map.entry("apps/v1/Deployment", V1Deployment.class),
            Map.entry("apps/v1/DaemonSet", V1DaemonSet.class),
            Map.entry("apps/v1/StatefulSet", V1StatefulSet.class),
            Map.entry("batch/v1/Job", V1Job.class),
            Map.entry("batch/v1/CronJob", V1CronJob.class),
            Map.entry("policy/v1/PodDisruptionBudget", V1PodDisruptionBudget.class),
            Map.entry("networking.k8s.io/v1/NetworkPolicy", V1NetworkPolicy.class),
            Map.entry("networking.k8s.io/v1/Ingress", V1Ingress.class),
            Map.entry("rbac.authorization.k8s.io/v1/Role", V1Role.class),
            Map.entry("rbac.authorization.k8s.io/v1/RoleBinding", V1RoleBinding.class),
            Map.entry("rbac.authorization.k8s.io/v1/ClusterRole", V1ClusterRole.class),
            Map.entry("rbac.authorization.k8s.io/v1/ClusterRoleBinding", V1ClusterRoleBinding.class),
            Map.entry("scheduling.k8s.io/v1/PriorityClass", V1PriorityClass.class),
            Map.entry("autoscaling/v2/HorizontalPodAutoscaler", V2HorizontalPodAutoscaler.class));

    private static final Gson PLAIN = new Gson();

    private Schema() {}

    /** The schema violations of one object (empty when it is valid). */
    static List<String> validate(Map<String, Object> object) {
        List<String> errors = new ArrayList<>();
        String type = object.get("apiVersion") + "/" + object.get("kind");
        Class<?> model = MODELS.get(type);
        if (model == null) {
            errors.add("unknown kind " + object.get("kind") + " at apiVersion " + object.get("apiVersion") + " (known: "
                    + MODELS.keySet().stream().sorted().toList() + ")");
            return errors;
        }
        JsonElement json = PLAIN.toJsonTree(object);
        // unknown fields and required fields, recursively (the generated validateJsonElement)
        try {
            model.getMethod("validateJsonElement", JsonElement.class).invoke(null, json);
        } catch (InvocationTargetException e) {
            errors.add(String.valueOf(e.getCause().getMessage()).replace('\n', ' '));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        // types: numbers, booleans, quantities, int-or-string, maps and lists where the schema says
        if (errors.isEmpty()) {
            resources(object, errors); // first: its message names the quantity
        }
        if (errors.isEmpty()) {
            try {
                JSON.getGson().fromJson(json, model);
            } catch (RuntimeException e) {
                errors.add("type error: " + rootMessage(e));
            }
        }
        return errors;
    }

    /** Quantities: parsed by the client's formatter, which rejects what the API server rejects. */
    private static void resources(Map<String, Object> object, List<String> errors) {
        for (Map<String, Object> c : K8s.containers(object)) {
            if (c.get("resources") instanceof Map<?, ?> r) {
                for (String part : List.of("requests", "limits")) {
                    if (r.get(part) instanceof Map<?, ?> values) {
                        values.forEach((k, v) -> {
                            try {
                                new io.kubernetes.client.custom.Quantity(String.valueOf(v));
                            } catch (RuntimeException e) {
                                errors.add("container " + c.get("name") + ": resources." + part + "." + k + ": "
                                        + "invalid quantity '" + v + "' (" + rootMessage(e) + ")");
                            }
                        });
                    }
                }
            }
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": "
                + String.valueOf(t.getMessage()).replace('\n', ' ');
    }
}
