package io.edgegate.k3s;

import io.kubernetes.client.custom.Quantity;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the schema cannot say and the API server would accept, but is still a broken deployment:
 * checks across the objects of one rendered kustomization. Every namespaced object has a namespace
 * that is rendered too; selectors select their own pod templates; services and disruption budgets
 * select a workload and name ports it has; volumes, ConfigMaps, Secrets and their keys exist;
 * probes name ports the container has; downward API fields exist; an environment variable's
 * {@code $(NAME)} names a variable set before it. And the house rules: images
 * with a pinned tag, every container with resource requests and a memory limit, read-only root,
 * no privilege escalation, all capabilities dropped, non-root (an init container may run as root
 * to hand a host directory to the app's user, with nothing but the capabilities that needs).
 */
final class Lint {
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
    private static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Set<String> FIELD_REFS = Set.of(
            "metadata.name",
            "metadata.namespace",
            "metadata.uid",
            "spec.nodeName",
            "spec.serviceAccountName",
            "status.hostIP",
            "status.hostIPs",
            "status.podIP",
            "status.podIPs");
    private static final Set<String> ROOT_INIT_CAPABILITIES = Set.of("CHOWN", "FOWNER", "DAC_OVERRIDE");
    /** A dependent environment variable's reference ({@code $$(NAME)} is an escaped, literal one). */
    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$(\\$?)\\(([-._a-zA-Z][-._a-zA-Z0-9]*)\\)");

    private final List<Map<String, Object>> objects;
    /** Objects that exist in the cluster without being rendered here ("Kind/namespace/name"). */
    private final Set<String> external;

    private final List<String> errors = new ArrayList<>();

    private Lint(List<Map<String, Object>> objects, Set<String> external) {
        this.objects = objects;
        this.external = external;
    }

    static List<String> check(List<Map<String, Object>> objects, Set<String> external) {
        Lint lint = new Lint(objects, external);
        lint.run();
        return lint.errors;
    }

    private void error(Map<String, Object> o, String message) {
        errors.add(K8s.id(o) + ": " + message);
    }

    private void run() {
        Set<String> ids = new HashSet<>();
        Set<String> namespaces = new HashSet<>();
        for (Map<String, Object> o : objects) {
            if ("Namespace".equals(K8s.kind(o))) {
                namespaces.add(K8s.name(o));
            }
        }
        for (Map<String, Object> o : objects) {
            if (!ids.add(K8s.id(o))) {
                error(o, "defined twice");
            }
            String name = K8s.name(o);
            if (name == null
                    || name.length() > 253
                    || !DNS_SUBDOMAIN.matcher(name).matches()) {
                error(o, "metadata.name '" + name + "' is not a DNS subdomain");
            }
            String ns = K8s.namespace(o);
            if (K8s.CLUSTER_SCOPED.contains(K8s.kind(o))) {
                if (ns != null) {
                    error(o, "a cluster-scoped object with a namespace");
                }
            } else if (ns == null) {
                error(o, "no namespace (kubectl would put it in the current context's namespace)");
            } else if (!namespaces.contains(ns) && !external.contains("Namespace//" + ns)) {
                error(o, "namespace " + ns + " is not created by these manifests");
            }
            labels(o, K8s.metadataOf(o).get("labels"));
            switch (String.valueOf(K8s.kind(o))) {
                case "Service" -> service(o);
                case "PodDisruptionBudget" -> disruptionBudget(o);
                case "ConfigMap" -> configMap(o);
                default -> {}
            }
            if (K8s.podSpec(o) != null) {
                workload(o);
            }
        }
    }

    private void labels(Map<String, Object> o, Object labels) {
        if (labels instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                String value = String.valueOf(v);
                if (!(v instanceof String)
                        || value.length() > 63
                        || !LABEL_VALUE.matcher(value).matches()) {
                    error(o, "label " + k + "=" + v + " is not a valid label value (a string, 63 characters at most)");
                }
            });
        }
    }

    // --- workloads ------------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private void workload(Map<String, Object> o) {
        Map<String, Object> podSpec = K8s.podSpec(o);
        Map<String, Object> template = K8s.template(o);
        if (template != null) {
            Map<String, Object> spec = (Map<String, Object>) o.get("spec");
            Map<String, Object> selector = spec.get("selector") instanceof Map<?, ?> s ? (Map<String, Object>) s : null;
            Map<String, Object> templateLabels = templateLabels(template);
            if (!"Job".equals(K8s.kind(o)) && !"CronJob".equals(K8s.kind(o))) {
                if (selector == null || !(selector.get("matchLabels") instanceof Map<?, ?> ml) || ml.isEmpty()) {
                    error(o, "spec.selector.matchLabels is missing or empty");
                } else if (!subset((Map<String, Object>) ml, templateLabels)) {
                    error(
                            o,
                            "spec.selector.matchLabels " + ml + " does not select its own pod template (labels "
                                    + templateLabels + ")");
                }
            }
        }
        Map<String, Object> podSecurity =
                podSpec.get("securityContext") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        Set<String> volumes = new HashSet<>();
        Map<String, Map<String, Object>> volumeSpecs = new HashMap<>();
        if (podSpec.get("volumes") instanceof List<?> vs) {
            for (Object v : vs) {
                Map<String, Object> vol = (Map<String, Object>) v;
                String vname = String.valueOf(vol.get("name"));
                if (!volumes.add(vname)) {
                    error(o, "volume " + vname + " is defined twice");
                }
                volumeSpecs.put(vname, vol);
                volumeReferences(o, vol);
            }
        }
        Set<String> mounted = new HashSet<>();
        Set<String> portNames = new HashSet<>();
        Set<String> containerNames = new HashSet<>();
        List<Map<String, Object>> inits =
                podSpec.get("initContainers") instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
        for (Map<String, Object> c : K8s.containers(o)) {
            String cname = String.valueOf(c.get("name"));
            if (!containerNames.add(cname)) {
                error(o, "container name " + cname + " is used twice");
            }
            boolean init = inits.contains(c) && !"Always".equals(c.get("restartPolicy"));
            container(o, c, cname, init, podSecurity, portNames);
            if (c.get("volumeMounts") instanceof List<?> mounts) {
                Set<String> paths = new HashSet<>();
                for (Object m : mounts) {
                    Map<String, Object> mount = (Map<String, Object>) m;
                    String vname = String.valueOf(mount.get("name"));
                    mounted.add(vname);
                    if (!volumes.contains(vname)) {
                        error(o, "container " + cname + " mounts volume " + vname + ", which the pod does not define");
                    } else if (mount.get("subPath") != null) {
                        subPath(o, cname, volumeSpecs.get(vname), String.valueOf(mount.get("subPath")));
                    }
                    if (!paths.add(String.valueOf(mount.get("mountPath")))) {
                        error(o, "container " + cname + " mounts two volumes at " + mount.get("mountPath"));
                    }
                }
            }
        }
        for (String v : volumes) {
            if (!mounted.contains(v)) {
                error(o, "volume " + v + " is mounted by no container");
            }
        }
    }

    private static Map<String, Object> templateLabels(Map<String, Object> template) {
        Map<String, Object> md = K8s.metadataOf(template);
        @SuppressWarnings("unchecked")
        Map<String, Object> labels = md.get("labels") instanceof Map<?, ?> l ? (Map<String, Object>) l : Map.of();
        return labels;
    }

    @SuppressWarnings("unchecked")
    private void container(
            Map<String, Object> o,
            Map<String, Object> c,
            String cname,
            boolean init,
            Map<String, Object> podSecurity,
            Set<String> podPortNames) {
        String where = "container " + cname + ": ";
        String image = String.valueOf(c.get("image"));
        String last = image.substring(image.lastIndexOf('/') + 1);
        if (c.get("image") == null || (!last.contains(":") && !image.contains("@")) || image.endsWith(":latest")) {
            error(o, where + "image " + image + " has no pinned tag or digest");
        }
        // resources
        Map<String, Object> resources = c.get("resources") instanceof Map<?, ?> r ? (Map<String, Object>) r : Map.of();
        Map<String, Object> requests =
                resources.get("requests") instanceof Map<?, ?> r ? (Map<String, Object>) r : Map.of();
        Map<String, Object> limits =
                resources.get("limits") instanceof Map<?, ?> r ? (Map<String, Object>) r : Map.of();
        if (requests.get("cpu") == null || requests.get("memory") == null) {
            error(o, where + "resources.requests needs cpu and memory");
        }
        if (limits.get("memory") == null) {
            error(o, where + "resources.limits needs memory");
        }
        for (String r : List.of("cpu", "memory")) {
            if (requests.get(r) != null && limits.get(r) != null) {
                try {
                    if (new Quantity(String.valueOf(requests.get(r)))
                                    .getNumber()
                                    .compareTo(new Quantity(String.valueOf(limits.get(r))).getNumber())
                            > 0) {
                        error(o, where + "resources.requests." + r + " is above resources.limits." + r);
                    }
                } catch (RuntimeException e) {
                    // the schema check reports the bad quantity
                }
            }
        }
        // security
        Map<String, Object> sc = c.get("securityContext") instanceof Map<?, ?> s ? (Map<String, Object>) s : Map.of();
        if (!Boolean.TRUE.equals(sc.get("readOnlyRootFilesystem"))) {
            error(o, where + "securityContext.readOnlyRootFilesystem must be true");
        }
        if (!Boolean.FALSE.equals(sc.get("allowPrivilegeEscalation"))) {
            error(o, where + "securityContext.allowPrivilegeEscalation must be false");
        }
        if (Boolean.TRUE.equals(sc.get("privileged"))) {
            error(o, where + "privileged");
        }
        Map<String, Object> caps = sc.get("capabilities") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        List<Object> drop = caps.get("drop") instanceof List<?> d ? (List<Object>) d : List.of();
        List<Object> add = caps.get("add") instanceof List<?> a ? (List<Object>) a : List.of();
        if (!drop.contains("ALL")) {
            error(o, where + "securityContext.capabilities.drop must contain ALL");
        }
        Object runAsUser = sc.containsKey("runAsUser") ? sc.get("runAsUser") : podSecurity.get("runAsUser");
        Object nonRoot = sc.containsKey("runAsNonRoot") ? sc.get("runAsNonRoot") : podSecurity.get("runAsNonRoot");
        boolean root = Objects.equals(runAsUser, 0) || !Boolean.TRUE.equals(nonRoot);
        if (root) {
            if (!init) {
                error(o, where + "runs as root (set runAsNonRoot: true and a runAsUser)");
            } else if (!ROOT_INIT_CAPABILITIES.containsAll(
                    add.stream().map(String::valueOf).toList())) {
                error(o, where + "an init container running as root may add only " + ROOT_INIT_CAPABILITIES);
            }
        } else if (!add.isEmpty()) {
            error(o, where + "a non-root container adds capabilities " + add);
        }
        // ports and probes
        Set<String> names = new HashSet<>();
        Set<Object> numbers = new HashSet<>();
        if (c.get("ports") instanceof List<?> ports) {
            for (Object p : ports) {
                Map<String, Object> port = (Map<String, Object>) p;
                numbers.add(port.get("containerPort"));
                if (port.get("name") != null) {
                    String pn = String.valueOf(port.get("name"));
                    if (pn.length() > 15 || !PORT_NAME.matcher(pn).matches()) {
                        error(o, where + "port name " + pn + " is not an IANA service name (15 characters at most)");
                    }
                    if (!podPortNames.add(pn)) {
                        error(o, where + "port name " + pn + " is used twice in the pod");
                    }
                    names.add(pn);
                }
                if (port.get("hostPort") != null && !"DaemonSet".equals(K8s.kind(o))) {
                    error(o, where + "hostPort outside a DaemonSet (replicas on one node would collide)");
                }
            }
        }
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            if (c.get(probe) instanceof Map<?, ?> p) {
                Object port = null;
                if (p.get("httpGet") instanceof Map<?, ?> h) {
                    port = h.get("port");
                } else if (p.get("tcpSocket") instanceof Map<?, ?> t) {
                    port = t.get("port");
                } else if (p.get("grpc") instanceof Map<?, ?> g) {
                    port = g.get("port");
                }
                if (port instanceof String s && !names.contains(s)) {
                    error(o, where + probe + " uses port " + s + ", which the container does not name");
                } else if (port instanceof Integer n && !numbers.contains(n)) {
                    error(o, where + probe + " uses port " + n + ", which the container does not declare");
                }
            }
        }
        // environment references
        if (c.get("env") instanceof List<?> env) {
            Set<String> envNames = new HashSet<>();
            for (Object e : env) {
                Map<String, Object> var = (Map<String, Object>) e;
                if (var.get("value") instanceof String value) {
                    // Kubernetes expands $(NAME) only when NAME is set earlier in the list; otherwise
                    // the text stays as it is, and the process gets "$(NAME)" as its value
                    java.util.regex.Matcher m = ENV_REFERENCE.matcher(value);
                    while (m.find()) {
                        if (m.group(1).isEmpty() && !envNames.contains(m.group(2))) {
                            error(
                                    o,
                                    where + "env " + var.get("name") + " refers to $(" + m.group(2)
                                            + "), which is not set before it in the list (it would stay"
                                            + " unexpanded)");
                        }
                    }
                }
                if (!envNames.add(String.valueOf(var.get("name")))) {
                    error(o, where + "env " + var.get("name") + " is set twice");
                }
                if (var.get("valueFrom") instanceof Map<?, ?> from) {
                    if (from.get("fieldRef") instanceof Map<?, ?> f) {
                        String path = String.valueOf(f.get("fieldPath"));
                        if (!FIELD_REFS.contains(path)
                                && !path.matches("metadata\\.(labels|annotations)\\['[^']+'\\]")) {
                            error(
                                    o,
                                    where + "env " + var.get("name") + ": fieldPath " + path
                                            + " is not a downward API field");
                        }
                    }
                    if (from.get("configMapKeyRef") instanceof Map<?, ?> ref) {
                        keyRef(o, where, "ConfigMap", ref);
                    }
                    if (from.get("secretKeyRef") instanceof Map<?, ?> ref) {
                        keyRef(o, where, "Secret", ref);
                    }
                }
            }
        }
        if (c.get("envFrom") instanceof List<?> envFrom) {
            for (Object e : envFrom) {
                Map<String, Object> src = (Map<String, Object>) e;
                if (src.get("configMapRef") instanceof Map<?, ?> ref) {
                    reference(o, where + "envFrom", "ConfigMap", String.valueOf(ref.get("name")), ref.get("optional"));
                }
                if (src.get("secretRef") instanceof Map<?, ?> ref) {
                    reference(o, where + "envFrom", "Secret", String.valueOf(ref.get("name")), ref.get("optional"));
                }
            }
        }
    }

    private void keyRef(Map<String, Object> o, String where, String kind, Map<?, ?> ref) {
        Map<String, Object> target =
                reference(o, where + kind + " key ref", kind, String.valueOf(ref.get("name")), ref.get("optional"));
        if (target != null && !keys(target).contains(String.valueOf(ref.get("key")))) {
            error(o, where + kind + " " + ref.get("name") + " has no key " + ref.get("key"));
        }
    }

    @SuppressWarnings("unchecked")
    private void volumeReferences(Map<String, Object> o, Map<String, Object> vol) {
        String where = "volume " + vol.get("name");
        if (vol.get("configMap") instanceof Map<?, ?> cm) {
            Map<String, Object> target =
                    reference(o, where, "ConfigMap", String.valueOf(cm.get("name")), cm.get("optional"));
            items(o, where, target, cm);
        }
        if (vol.get("secret") instanceof Map<?, ?> s) {
            Map<String, Object> target =
                    reference(o, where, "Secret", String.valueOf(s.get("secretName")), s.get("optional"));
            items(o, where, target, s);
        }
        if (vol.get("persistentVolumeClaim") instanceof Map<?, ?> pvc) {
            reference(o, where, "PersistentVolumeClaim", String.valueOf(pvc.get("claimName")), null);
        }
        if (vol.get("hostPath") instanceof Map<?, ?> hp && !"DaemonSet".equals(K8s.kind(o))) {
            error(o, where + ": hostPath outside a DaemonSet " + hp.get("path"));
        }
    }

    private void items(Map<String, Object> o, String where, Map<String, Object> target, Map<?, ?> source) {
        if (target != null && source.get("items") instanceof List<?> items) {
            for (Object i : items) {
                Object key = ((Map<?, ?>) i).get("key");
                if (!keys(target).contains(String.valueOf(key))) {
                    error(o, where + ": " + K8s.kind(target) + " " + K8s.name(target) + " has no key " + key);
                }
            }
        }
    }

    private void subPath(Map<String, Object> o, String cname, Map<String, Object> vol, String subPath) {
        Map<String, Object> target = null;
        if (vol.get("configMap") instanceof Map<?, ?> cm) {
            target = find("ConfigMap", K8s.namespace(o), String.valueOf(cm.get("name")));
        } else if (vol.get("secret") instanceof Map<?, ?> s) {
            target = find("Secret", K8s.namespace(o), String.valueOf(s.get("secretName")));
        }
        if (target != null && !keys(target).contains(subPath)) {
            error(
                    o,
                    "container " + cname + " mounts subPath " + subPath + " of " + K8s.kind(target) + " "
                            + K8s.name(target) + ", which has no such key");
        }
    }

    /** The object a workload refers to in its own namespace; an error when it is neither rendered nor external. */
    private Map<String, Object> reference(
            Map<String, Object> o, String where, String kind, String name, Object optional) {
        Map<String, Object> target = find(kind, K8s.namespace(o), name);
        if (target == null
                && !Boolean.TRUE.equals(optional)
                && !external.contains(kind + "/" + K8s.namespace(o) + "/" + name)) {
            error(o, where + " refers to " + kind + " " + name + ", which is not in these manifests");
        }
        return target;
    }

    private Map<String, Object> find(String kind, String namespace, String name) {
        for (Map<String, Object> t : objects) {
            if (kind.equals(K8s.kind(t)) && Objects.equals(namespace, K8s.namespace(t)) && name.equals(K8s.name(t))) {
                return t;
            }
        }
        return null;
    }

    private static Set<String> keys(Map<String, Object> configMapOrSecret) {
        Set<String> keys = new HashSet<>();
        for (String field : List.of("data", "stringData", "binaryData")) {
            if (configMapOrSecret.get(field) instanceof Map<?, ?> m) {
                m.keySet().forEach(k -> keys.add(String.valueOf(k)));
            }
        }
        return keys;
    }

    // --- services and budgets -----------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private void service(Map<String, Object> o) {
        Map<String, Object> spec = (Map<String, Object>) o.get("spec");
        if (spec == null || !(spec.get("selector") instanceof Map<?, ?> sel) || sel.isEmpty()) {
            if (!"ExternalName".equals(spec == null ? null : spec.get("type"))) {
                error(o, "a Service without a selector");
            }
            return;
        }
        List<Map<String, Object>> selected = selected(K8s.namespace(o), (Map<String, Object>) sel);
        if (selected.isEmpty()) {
            error(o, "selector " + sel + " selects no workload in namespace " + K8s.namespace(o));
            return;
        }
        if (spec.get("ports") instanceof List<?> ports) {
            for (Object p : ports) {
                Map<String, Object> port = (Map<String, Object>) p;
                Object target = port.get("targetPort") == null ? port.get("port") : port.get("targetPort");
                for (Map<String, Object> w : selected) {
                    if (!hasPort(w, target)) {
                        error(
                                o,
                                "port " + port.get("name") + ": targetPort " + target + " is not a port of "
                                        + K8s.id(w));
                    }
                }
                if (port.get("name") != null
                        && !DNS_LABEL.matcher(String.valueOf(port.get("name"))).matches()) {
                    error(o, "port name " + port.get("name") + " is not a DNS label");
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void disruptionBudget(Map<String, Object> o) {
        Map<String, Object> spec = (Map<String, Object>) o.get("spec");
        Map<String, Object> selector = spec == null ? null : (Map<String, Object>) spec.get("selector");
        if (selector == null || !(selector.get("matchLabels") instanceof Map<?, ?> ml)) {
            error(o, "a PodDisruptionBudget without spec.selector.matchLabels");
            return;
        }
        if (selected(K8s.namespace(o), (Map<String, Object>) ml).isEmpty()) {
            error(o, "selector " + ml + " selects no workload in namespace " + K8s.namespace(o));
        }
    }

    private List<Map<String, Object>> selected(String namespace, Map<String, Object> selector) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> w : objects) {
            Map<String, Object> t = K8s.template(w);
            if (t != null && Objects.equals(namespace, K8s.namespace(w)) && subset(selector, templateLabels(t))) {
                out.add(w);
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static boolean hasPort(Map<String, Object> workload, Object target) {
        for (Map<String, Object> c : K8s.containers(workload)) {
            if (c.get("ports") instanceof List<?> ports) {
                for (Object p : ports) {
                    Map<String, Object> port = (Map<String, Object>) p;
                    if (Objects.equals(port.get("name"), target) || Objects.equals(port.get("containerPort"), target)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private void configMap(Map<String, Object> o) {
        if (o.get("data") instanceof Map<?, ?> data) {
            data.forEach((k, v) -> {
                String key = String.valueOf(k);
                if (!(v instanceof String)) {
                    error(o, "data." + key + " is not a string (quote numbers and booleans)");
                } else if (key.endsWith(".yaml") || key.endsWith(".yml")) {
                    try {
                        Yamls.loadAll((String) v, K8s.id(o) + " data." + key);
                    } catch (ManifestException e) {
                        error(o, e.getMessage());
                    }
                }
            });
        }
    }

    private static boolean subset(Map<String, Object> small, Map<String, Object> big) {
        for (Map.Entry<String, Object> e : small.entrySet()) {
            if (!Objects.equals(String.valueOf(e.getValue()), String.valueOf(big.get(e.getKey())))) {
                return false;
            }
        }
        return true;
    }
}
