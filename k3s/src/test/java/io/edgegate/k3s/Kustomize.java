package io.edgegate.k3s;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The part of kustomize (v5) the Edgegate kustomizations use, in Java, so that CI renders every
 * overlay without a kustomize binary: {@code resources} (files and directories), {@code namespace},
 * {@code labels} and {@code commonLabels}, {@code commonAnnotations}, {@code patches} (strategic
 * merge patches, with {@code $patch: delete}, on the known kinds, by the patch's own id or by a
 * {@code target}), {@code images}, {@code replicas} and {@code configMapGenerator} (from files,
 * with a fixed name: {@code disableNameSuffixHash}). Any other field is refused: a kustomization
 * that needs more fails here instead of being rendered wrong. Checked by hand against
 * {@code kubectl kustomize} (identical output for every overlay); kubectl is not installable on the
 * CI machines, so that comparison is not part of the suite.
 */
final class Kustomize {
    private static final Set<String> SUPPORTED = Set.of(
            "apiVersion",
            "kind",
            "resources",
            "namespace",
            "labels",
            "commonLabels",
            "commonAnnotations",
            "patches",
            "images",
            "replicas",
            "configMapGenerator");

    /** Kinds without a namespace (the namespace transformer leaves them alone). */
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

    static final Set<String> WORKLOADS = Set.of("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job");

    private Kustomize() {}

    /** Renders the kustomization in {@code dir}, like {@code kubectl kustomize dir}. */
    static List<Map<String, Object>> build(Path dir) {
        return build(dir.toAbsolutePath().normalize(), new HashSet<>());
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> build(Path dir, Set<Path> visiting) {
        if (!visiting.add(dir)) {
            throw new ManifestException(dir + ": kustomization cycle");
        }
        Path file = kustomizationFile(dir);
        List<Map<String, Object>> docs = Yamls.loadAll(file);
        if (docs.size() != 1) {
            throw new ManifestException(file + ": expected one document");
        }
        Map<String, Object> k = docs.get(0);
        for (String key : k.keySet()) {
            if (!SUPPORTED.contains(key)) {
                throw new ManifestException(file + ": '" + key + "' is not supported by this renderer (supported: "
                        + SUPPORTED + "); extend Kustomize.java or use what it supports");
            }
        }
        List<Map<String, Object>> objects = new ArrayList<>();
        for (Object r : list(k, "resources", file)) {
            Path p = dir.resolve(String.valueOf(r)).normalize();
            if (Files.isDirectory(p)) {
                objects.addAll(build(p, visiting));
            } else if (Files.isRegularFile(p)) {
                requireInside(dir, p, file);
                for (Map<String, Object> doc : Yamls.loadAll(p)) {
                    requireId(doc, p);
                    objects.add(doc);
                }
            } else {
                throw new ManifestException(file + ": resource " + r + " does not exist");
            }
            requireUniqueIds(objects, file);
        }
        visiting.remove(dir);
        for (Object g : list(k, "configMapGenerator", file)) {
            objects.add(configMap((Map<String, Object>) map(g, file, "configMapGenerator[]"), dir, file));
            requireUniqueIds(objects, file);
        }

        // the order of kustomize's built-in transformers
        for (Object p : list(k, "patches", file)) {
            applyPatch(objects, (Map<String, Object>) map(p, file, "patches[]"), dir, file);
        }
        if (k.get("namespace") != null) {
            String ns = String.valueOf(k.get("namespace"));
            for (Map<String, Object> o : objects) {
                if (!CLUSTER_SCOPED.contains(kind(o))) {
                    metadata(o).put("namespace", ns);
                }
            }
        }
        if (k.get("commonLabels") != null) {
            addLabels(objects, (Map<String, Object>) map(k.get("commonLabels"), file, "commonLabels"), true, true);
        }
        for (Object l : list(k, "labels", file)) {
            Map<String, Object> entry = (Map<String, Object>) map(l, file, "labels[]");
            boolean selectors = Boolean.TRUE.equals(entry.get("includeSelectors"));
            boolean templates = selectors || Boolean.TRUE.equals(entry.get("includeTemplates"));
            addLabels(
                    objects,
                    (Map<String, Object>) map(entry.get("pairs"), file, "labels[].pairs"),
                    templates,
                    selectors);
        }
        if (k.get("commonAnnotations") != null) {
            Map<String, Object> annotations =
                    (Map<String, Object>) map(k.get("commonAnnotations"), file, "commonAnnotations");
            for (Map<String, Object> o : objects) {
                child(metadata(o), "annotations").putAll(annotations);
                Map<String, Object> template = template(o);
                if (template != null) {
                    child(child(template, "metadata"), "annotations").putAll(annotations);
                }
            }
        }
        for (Object r : list(k, "replicas", file)) {
            Map<String, Object> entry = (Map<String, Object>) map(r, file, "replicas[]");
            boolean found = false;
            for (Map<String, Object> o : objects) {
                if (Objects.equals(name(o), entry.get("name")) && WORKLOADS.contains(kind(o))) {
                    child(o, "spec").put("replicas", entry.get("count"));
                    found = true;
                }
            }
            if (!found) {
                throw new ManifestException(file + ": replicas: no workload named " + entry.get("name"));
            }
        }
        for (Object i : list(k, "images", file)) {
            Map<String, Object> entry = (Map<String, Object>) map(i, file, "images[]");
            for (Map<String, Object> o : objects) {
                for (Map<String, Object> c : containers(o)) {
                    if (c.get("image") instanceof String image) {
                        c.put("image", retag(image, entry));
                    }
                }
            }
        }
        return objects;
    }

    /**
     * A {@code configMapGenerator} entry: {@code name}, {@code files} ({@code path} or
     * {@code key=path}, inside the kustomization's tree) and {@code options.disableNameSuffixHash:
     * true}. A hashed name would need every reference rewritten, which this renderer does not do.
     */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> configMap(Map<String, Object> g, Path dir, Path file) {
        for (String key : g.keySet()) {
            if (!Set.of("name", "files", "options").contains(key)) {
                throw new ManifestException(file + ": configMapGenerator '" + key
                        + "' is not supported by this renderer (name, files, options)");
            }
        }
        Map<String, Object> options =
                g.get("options") == null ? Map.of() : (Map<String, Object>) map(g.get("options"), file, "options");
        if (!Boolean.TRUE.equals(options.get("disableNameSuffixHash")) || options.size() != 1) {
            throw new ManifestException(file + ": configMapGenerator " + g.get("name")
                    + " needs options: {disableNameSuffixHash: true} and nothing else (this renderer does not"
                    + " rewrite references to hashed names)");
        }
        Map<String, Object> data = new LinkedHashMap<>();
        for (Object f : list(g, "files", file)) {
            String entry = String.valueOf(f);
            int eq = entry.indexOf('=');
            Path p = dir.resolve(eq < 0 ? entry : entry.substring(eq + 1)).normalize();
            requireInside(dir, p, file);
            if (!Files.isRegularFile(p)) {
                throw new ManifestException(file + ": configMapGenerator file " + p + " does not exist");
            }
            String key = eq < 0 ? p.getFileName().toString() : entry.substring(0, eq);
            try {
                if (data.put(key, Files.readString(p)) != null) {
                    throw new ManifestException(file + ": configMapGenerator key " + key + " is given twice");
                }
            } catch (java.io.IOException e) {
                throw new ManifestException(file + ": " + p + ": " + e.getMessage());
            }
        }
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("name", g.get("name"));
        Map<String, Object> cm = new LinkedHashMap<>();
        cm.put("apiVersion", "v1");
        cm.put("kind", "ConfigMap");
        cm.put("metadata", metadata);
        cm.put("data", data);
        requireId(cm, file);
        return cm;
    }

    static Path kustomizationFile(Path dir) {
        for (String n : List.of("kustomization.yaml", "kustomization.yml", "Kustomization")) {
            if (Files.isRegularFile(dir.resolve(n))) {
                return dir.resolve(n);
            }
        }
        throw new ManifestException(dir + ": no kustomization.yaml");
    }

    // --- patches ---------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static void applyPatch(List<Map<String, Object>> objects, Map<String, Object> spec, Path dir, Path file) {
        String source;
        List<Object> bodies = new ArrayList<>();
        if (spec.get("path") != null) {
            Path p = dir.resolve(String.valueOf(spec.get("path"))).normalize();
            requireInside(dir, p, file);
            source = p.toString();
            if (!Files.isRegularFile(p)) {
                throw new ManifestException(file + ": patch " + p + " does not exist");
            }
            bodies.addAll(Yamls.loadAll(p));
        } else if (spec.get("patch") != null) {
            source = file + " (inline patch)";
            Object body = Yamls.loadOne(String.valueOf(spec.get("patch")), source);
            if (body instanceof List<?>) {
                throw new ManifestException(source + ": JSON 6902 patches are not supported by this renderer");
            }
            bodies.add(body);
        } else {
            throw new ManifestException(file + ": a patch needs 'path' or 'patch'");
        }
        Map<String, Object> target =
                spec.get("target") == null ? null : (Map<String, Object>) map(spec.get("target"), file, "target");
        for (Object b : bodies) {
            Map<String, Object> body = (Map<String, Object>) map(b, file, "patch");
            List<Map<String, Object>> matches = new ArrayList<>();
            for (Map<String, Object> o : objects) {
                if (target != null ? matchesTarget(o, target) : matchesPatchId(o, body)) {
                    matches.add(o);
                }
            }
            if (matches.isEmpty()) {
                throw new ManifestException(source + ": the patch matches no object (kind " + body.get("kind")
                        + ", name " + name(body) + (target == null ? "" : ", target " + target) + ")");
            }
            if (target == null && matches.size() > 1) {
                throw new ManifestException(source + ": the patch matches several objects: "
                        + matches.stream().map(Kustomize::id).toList());
            }
            for (Map<String, Object> o : matches) {
                if ("delete".equals(body.get("$patch"))) {
                    objects.remove(o);
                } else {
                    Map<String, Object> patch = Yamls.copy(body);
                    if (target != null) { // the target names the object; the patch's own id may be a placeholder
                        patch.remove("metadata");
                        Map<String, Object> md = (Map<String, Object>) body.get("metadata");
                        if (md != null) {
                            Map<String, Object> rest = Yamls.copy(md);
                            rest.remove("name");
                            rest.remove("namespace");
                            patch.put("metadata", rest);
                        }
                    }
                    StrategicMerge.merge(o, patch);
                }
            }
        }
    }

    private static boolean matchesPatchId(Map<String, Object> o, Map<String, Object> patch) {
        Object ns = metadataOf(patch).get("namespace");
        return Objects.equals(kind(o), kind(patch))
                && Objects.equals(name(o), name(patch))
                && (ns == null || ns.equals(metadataOf(o).get("namespace")));
    }

    private static boolean matchesTarget(Map<String, Object> o, Map<String, Object> t) {
        for (String key : t.keySet()) {
            if (!Set.of("kind", "name", "namespace", "group", "version").contains(key)) {
                throw new ManifestException("patch target field '" + key + "' is not supported by this renderer");
            }
        }
        String apiVersion = String.valueOf(o.get("apiVersion"));
        String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
        String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
        return (t.get("kind") == null || t.get("kind").equals(kind(o)))
                && (t.get("name") == null || String.valueOf(name(o)).matches(String.valueOf(t.get("name"))))
                && (t.get("namespace") == null
                        || t.get("namespace").equals(metadataOf(o).get("namespace")))
                && (t.get("group") == null || t.get("group").equals(group))
                && (t.get("version") == null || t.get("version").equals(version));
    }

    // --- labels and images --------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static void addLabels(
            List<Map<String, Object>> objects, Map<String, Object> pairs, boolean templates, boolean selectors) {
        for (Map<String, Object> o : objects) {
            child(metadata(o), "labels").putAll(pairs);
            Map<String, Object> template = template(o);
            if (templates && template != null) {
                child(child(template, "metadata"), "labels").putAll(pairs);
            }
            if (selectors) {
                Map<String, Object> spec = (Map<String, Object>) o.get("spec");
                if (spec == null) {
                    continue;
                }
                if ("Service".equals(kind(o))) {
                    child(spec, "selector").putAll(pairs);
                } else if (WORKLOADS.contains(kind(o)) || "PodDisruptionBudget".equals(kind(o))) {
                    child(child(spec, "selector"), "matchLabels").putAll(pairs);
                }
            }
        }
    }

    /** Applies one {@code images} entry to an image reference (name[:tag][@digest]). */
    static String retag(String image, Map<String, Object> entry) {
        String digest = null;
        String rest = image;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
        }
        String tag = null;
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
        }
        if (!rest.equals(entry.get("name"))) {
            return image;
        }
        String name = entry.get("newName") != null ? String.valueOf(entry.get("newName")) : rest;
        if (entry.get("digest") != null) {
            return name + "@" + entry.get("digest");
        }
        if (entry.get("newTag") != null) {
            return name + ":" + entry.get("newTag");
        }
        return name + (tag == null ? "" : ":" + tag) + (digest == null ? "" : "@" + digest);
    }

    // --- object access ------------------------------------------------------------------------

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

    static String id(Map<String, Object> o) {
        return kind(o) + "/" + (namespace(o) == null ? "" : namespace(o) + "/") + name(o);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> metadataOf(Map<String, Object> o) {
        return o.get("metadata") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    static Map<String, Object> metadata(Map<String, Object> o) {
        return child(o, "metadata");
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

    @SuppressWarnings("unchecked")
    static Map<String, Object> podSpec(Map<String, Object> o) {
        if ("Pod".equals(kind(o))) {
            return o.get("spec") instanceof Map<?, ?> s ? (Map<String, Object>) s : null;
        }
        Map<String, Object> t = template(o);
        return t != null && t.get("spec") instanceof Map<?, ?> s ? (Map<String, Object>) s : null;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> child(Map<String, Object> parent, String key) {
        Object v = parent.get(key);
        if (v instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        parent.put(key, m);
        return m;
    }

    private static List<?> list(Map<String, Object> k, String key, Path file) {
        Object v = k.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw new ManifestException(file + ": '" + key + "' must be a list");
        }
        return l;
    }

    private static Map<?, ?> map(Object v, Path file, String what) {
        if (!(v instanceof Map<?, ?> m)) {
            throw new ManifestException(file + ": " + what + " must be a mapping, not " + Yamls.kind(v));
        }
        return m;
    }

    /** kustomize's load restrictor: files come from the kustomization's own tree (directories may not). */
    private static void requireInside(Path dir, Path p, Path file) {
        if (!p.startsWith(dir)) {
            throw new ManifestException(file + ": " + p + " is not in or below " + dir
                    + " (kustomize refuses it: include the directory's kustomization instead)");
        }
    }

    private static void requireId(Map<String, Object> doc, Path file) {
        if (doc.get("apiVersion") == null || kind(doc) == null || name(doc) == null) {
            throw new ManifestException(file + ": an object without apiVersion, kind or metadata.name");
        }
    }

    private static void requireUniqueIds(List<Map<String, Object>> objects, Path file) {
        Set<String> ids = new HashSet<>();
        for (Iterator<Map<String, Object>> it = objects.iterator(); it.hasNext(); ) {
            Map<String, Object> o = it.next();
            if (!ids.add(id(o))) {
                throw new ManifestException(file + ": " + id(o) + " is defined twice");
            }
        }
    }
}
