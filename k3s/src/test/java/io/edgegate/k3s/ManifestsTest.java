package io.edgegate.k3s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every kustomization renders, and every object it renders is valid (see {@link Manifests}). */
class ManifestsTest {
    static final List<String> KUSTOMIZATIONS = List.of("base", "overlays/dev", "overlays/prod", "examples/inference");

    @ParameterizedTest
    @ValueSource(strings = {"base", "overlays/dev", "overlays/prod", "examples/inference"})
    void rendersAndEveryObjectIsValid(String dir) {
        Manifests.Result result = Manifests.check(dir);
        assertTrue(result.errors().isEmpty(), dir + ":\n  " + result.report());
        assertFalse(result.objects().isEmpty(), dir + " renders nothing");
    }

    @Test
    void everyKustomizationIsChecked() throws IOException {
        Path root = Manifests.root();
        Set<String> found = new TreeSet<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(p -> p.getFileName().toString().equals("kustomization.yaml"))
                    .map(p -> root.relativize(p.getParent()).toString().replace('\\', '/'))
                    .filter(p -> !p.startsWith("src/") && !p.startsWith("target/"))
                    .forEach(found::add);
        }
        assertEquals(new TreeSet<>(KUSTOMIZATIONS), found, "add new kustomizations to KUSTOMIZATIONS");
    }

    @Test
    void devHasTheBrokerTheExampleAndOneCloudSync() {
        List<Map<String, Object>> dev = Manifests.check("overlays/dev").objects();
        Set<String> ids = ids(dev);
        for (String id : List.of(
                "Namespace/edgegate",
                "Namespace/inference",
                "DaemonSet/edgegate/edge-gateway",
                "ConfigMap/edgegate/edge-gateway-config",
                "Secret/edgegate/edge-gateway-secrets",
                "Deployment/edgegate/cloud-sync",
                "Service/edgegate/cloud-sync",
                "Deployment/edgegate/mosquitto",
                "Service/edgegate/mosquitto",
                "Deployment/inference/llm-infer")) {
            assertTrue(ids.contains(id), "dev lacks " + id + ": " + ids);
        }
        assertEquals(1, spec(find(dev, "Deployment/edgegate/cloud-sync")).get("replicas"));
        assertEquals(
                "edgegate/edge-gateway:0.1.0-SNAPSHOT",
                container(find(dev, "DaemonSet/edgegate/edge-gateway"), "gateway")
                        .get("image"));
    }

    @Test
    void prodAppliesNoSecretAndPinsImagesFromItsRegistry() {
        List<Map<String, Object>> prod = Manifests.check("overlays/prod").objects();
        assertTrue(prod.stream().noneMatch(o -> "Secret".equals(Kustomize.kind(o))), "prod must not apply Secrets");
        assertTrue(ids(prod).stream().noneMatch(id -> id.contains("mosquitto") || id.contains("llm-infer")));
        for (Map<String, Object> o : prod) {
            for (Map<String, Object> c : Kustomize.containers(o)) {
                assertTrue(
                        String.valueOf(c.get("image")).startsWith("registry.example.com/"),
                        Kustomize.id(o) + " " + c.get("image"));
            }
            if (!"Namespace".equals(Kustomize.kind(o))) {
                assertEquals("edgegate", Kustomize.namespace(o), Kustomize.id(o));
            }
        }
        assertEquals(2, spec(find(prod, "Deployment/edgegate/cloud-sync")).get("replicas"));
        assertNotNull(find(prod, "PodDisruptionBudget/edgegate/cloud-sync"));
        Map<String, Object> gateway = container(find(prod, "DaemonSet/edgegate/edge-gateway"), "gateway");
        assertTrue(env(gateway).containsKey("EDGEGATE_MQTT_URL"));
        assertTrue(env(gateway).containsKey("EDGEGATE_CONFIG"), "the patch merges env by name, it does not replace it");
    }

    @ParameterizedTest
    @ValueSource(strings = {"overlays/dev", "overlays/prod"})
    @SuppressWarnings("unchecked")
    void theGatewayRunsOnEveryArm64AndAmd64NodeAsTheIssueAsks(String overlay) {
        Map<String, Object> ds = find(Manifests.check(overlay).objects(), "DaemonSet/edgegate/edge-gateway");
        Map<String, Object> pod = Kustomize.podSpec(ds);
        String affinity = String.valueOf(pod.get("affinity"));
        assertTrue(
                affinity.contains("kubernetes.io/arch") && affinity.contains("arm64") && affinity.contains("amd64"),
                affinity);
        Map<String, Object> gw = container(ds, "gateway");
        // local pods reach it at the node's address
        List<Map<String, Object>> ports = (List<Map<String, Object>>) gw.get("ports");
        assertTrue(ports.stream().anyMatch(p -> Integer.valueOf(8080).equals(p.get("hostPort"))), "hostPort 8080");
        assertTrue(ports.stream().anyMatch(p -> Integer.valueOf(8500).equals(p.get("hostPort"))), "hostPort 8500");
        // probes on GET /v1/status
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertEquals(
                    "/v1/status",
                    ((Map<String, Object>) ((Map<String, Object>) gw.get(probe)).get("httpGet")).get("path"));
        }
        // the journal on the node, where the config puts it
        Map<String, Object> data = volume(ds, "data");
        assertEquals("/var/lib/edgegate", ((Map<String, Object>) data.get("hostPath")).get("path"));
        assertEquals("/var/lib/edgegate", mountPath(gw, "data"));
        Map<String, Object> config = gatewayConfig(Manifests.check(overlay).objects());
        assertEquals("/var/lib/edgegate", config.get("data-dir"));
        assertEquals(8080, config.get("port"));
        assertEquals(8500, config.get("consul-port"));
        // per-node values from the downward API
        assertEquals("spec.nodeName", fieldRef(gw, "EDGEGATE_NODE"));
        assertEquals("status.hostIP", fieldRef(gw, "EDGEGATE_ADVERTISE_ADDRESS"));
        assertEquals("/etc/edgegate/edgegate.yaml", env(gw).get("EDGEGATE_CONFIG"));
        // sized from the footprint measurement (k3s/README.md): the limit leaves room above the
        // measured peak, and the heap (50% of the limit, the image's MaxRAMPercentage) holds 10,000
        Map<String, Object> resources = (Map<String, Object>) gw.get("resources");
        long limit = bytes(((Map<String, Object>) resources.get("limits")).get("memory"));
        long request = bytes(((Map<String, Object>) resources.get("requests")).get("memory"));
        assertTrue(request <= limit);
        assertTrue(limit >= 128L << 20 && limit <= 256L << 20, "memory limit " + limit);
    }

    @Test
    @SuppressWarnings("unchecked")
    void configMapsOnlyUseKeysTheServicesDocument() throws IOException {
        Path repo = Manifests.root().getParent();
        List<Map<String, Object>> dev = Manifests.check("overlays/dev").objects();
        Path gatewayDefaults = repo.resolve("edge-gateway/src/main/resources/edgegate.yaml");
        assertTrue(Files.isRegularFile(gatewayDefaults), "missing " + gatewayDefaults);
        {
            Set<String> known = keys(
                    (Map<String, Object>) Yamls.loadAll(gatewayDefaults).get(0).get("edgegate"), "");
            Set<String> used = keys(gatewayConfig(dev), "");
            used.removeAll(known);
            assertTrue(used.isEmpty(), "edge-gateway-config uses keys edgegate.yaml does not define: " + used);
        }
        Path cloudDefaults = repo.resolve("cloud-sync/src/main/resources/cloudsync.yaml");
        assertTrue(Files.isRegularFile(cloudDefaults), "missing " + cloudDefaults);
        {
            Set<String> known = keys(
                    (Map<String, Object>) Yamls.loadAll(cloudDefaults).get(0).get("cloudsync"), "");
            String text = (String) ((Map<String, Object>)
                            find(dev, "ConfigMap/edgegate/cloud-sync-config").get("data"))
                    .get("cloudsync.yaml");
            Set<String> used = keys(
                    (Map<String, Object>)
                            Yamls.loadAll(text, "cloudsync.yaml").get(0).get("cloudsync"),
                    "");
            used.removeAll(known);
            assertTrue(used.isEmpty(), "cloud-sync-config uses keys cloudsync.yaml does not define: " + used);
        }
        // the files the configuration names are where the Secrets are mounted, with those keys
        Map<String, Object> secret = find(dev, "Secret/edgegate/edge-gateway-secrets");
        Map<String, Object> mqtt = (Map<String, Object>) gatewayConfig(dev).get("mqtt");
        String passwordFile = String.valueOf(mqtt.get("password-file"));
        String mount = mountPath(container(find(dev, "DaemonSet/edgegate/edge-gateway"), "gateway"), "secrets");
        assertTrue(passwordFile.startsWith(mount + "/"), passwordFile);
        assertTrue(((Map<String, Object>) secret.get("stringData"))
                .containsKey(passwordFile.substring(mount.length() + 1)));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theInferenceExampleRegistersAtItsNodeAndDeregistersBeforeItStops() {
        List<Map<String, Object>> dev = Manifests.check("overlays/dev").objects();
        Map<String, Object> infer = find(dev, "Deployment/inference/llm-infer");
        Map<String, Object> registrar = container(infer, "registrar");
        assertEquals("status.hostIP", fieldRef(registrar, "HOST_IP"));
        assertEquals("status.podIP", fieldRef(registrar, "POD_IP"));
        String script = String.join(" ", (List<String>) registrar.get("command"));
        assertTrue(script.contains("http://${HOST_IP}:8080") && script.contains("/v1/instances"), script);
        String preStop = String.valueOf(((Map<String, Object>) registrar.get("lifecycle")).get("preStop"));
        assertTrue(preStop.contains("-XDELETE") && preStop.contains("/v1/instances/"), preStop);
        String serverPreStop =
                String.valueOf(((Map<String, Object>) container(infer, "server").get("lifecycle")).get("preStop"));
        assertTrue(serverPreStop.contains("/run/lifecycle/deregistered"), serverPreStop);
        // the pod waits for the gateway's drain
        long drain = seconds(
                String.valueOf(((Map<String, Object>) gatewayConfig(dev).get("registry")).get("drain-timeout")));
        Object grace = Kustomize.podSpec(infer).get("terminationGracePeriodSeconds");
        assertTrue(((Integer) grace) > drain, "terminationGracePeriodSeconds " + grace + " <= drain-timeout " + drain);
    }

    // --- helpers ----------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    static Object sorted(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new java.util.TreeMap<>();
            m.forEach((k, v) -> out.put(String.valueOf(k), sorted(v)));
            return out;
        }
        if (o instanceof List<?> l) {
            return l.stream().map(ManifestsTest::sorted).toList();
        }
        return o;
    }

    static Set<String> ids(List<Map<String, Object>> objects) {
        Set<String> ids = new TreeSet<>();
        objects.forEach(o -> ids.add(Kustomize.id(o)));
        return ids;
    }

    static Map<String, Object> find(List<Map<String, Object>> objects, String id) {
        return objects.stream()
                .filter(o -> Kustomize.id(o).equals(id))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + id + " in " + ids(objects)));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> spec(Map<String, Object> o) {
        return (Map<String, Object>) o.get("spec");
    }

    static Map<String, Object> container(Map<String, Object> workload, String name) {
        return Kustomize.containers(workload).stream()
                .filter(c -> name.equals(c.get("name")))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> volume(Map<String, Object> workload, String name) {
        return ((List<Map<String, Object>>) Kustomize.podSpec(workload).get("volumes"))
                .stream().filter(v -> name.equals(v.get("name"))).findFirst().orElseThrow();
    }

    @SuppressWarnings("unchecked")
    static String mountPath(Map<String, Object> container, String volume) {
        return ((List<Map<String, Object>>) container.get("volumeMounts"))
                .stream()
                        .filter(m -> volume.equals(m.get("name")))
                        .map(m -> String.valueOf(m.get("mountPath")))
                        .findFirst()
                        .orElseThrow();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> env(Map<String, Object> container) {
        Map<String, Object> env = new java.util.LinkedHashMap<>();
        for (Map<String, Object> e : (List<Map<String, Object>>) container.get("env")) {
            env.put(String.valueOf(e.get("name")), e.get("value"));
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    static String fieldRef(Map<String, Object> container, String name) {
        for (Map<String, Object> e : (List<Map<String, Object>>) container.get("env")) {
            if (name.equals(e.get("name"))) {
                return String.valueOf(((Map<String, Object>) ((Map<String, Object>) e.get("valueFrom")).get("fieldRef"))
                        .get("fieldPath"));
            }
        }
        throw new AssertionError("no env " + name);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> gatewayConfig(List<Map<String, Object>> objects) {
        String text = (String) ((Map<String, Object>)
                        find(objects, "ConfigMap/edgegate/edge-gateway-config").get("data"))
                .get("edgegate.yaml");
        return (Map<String, Object>) Yamls.loadAll(text, "edgegate.yaml").get(0).get("edgegate");
    }

    @SuppressWarnings("unchecked")
    static Set<String> keys(Map<String, Object> map, String prefix) {
        Set<String> out = new TreeSet<>();
        if (map == null) {
            return out;
        }
        map.forEach((k, v) -> {
            if (v instanceof Map<?, ?> m && !m.isEmpty()) {
                out.addAll(keys((Map<String, Object>) m, prefix + k + "."));
            } else {
                out.add(prefix + k);
            }
        });
        return out;
    }

    static long bytes(Object quantity) {
        return new io.kubernetes.client.custom.Quantity(String.valueOf(quantity))
                .getNumber()
                .longValue();
    }

    static long seconds(String duration) {
        if (duration.endsWith("ms")) {
            return Long.parseLong(duration.substring(0, duration.length() - 2)) / 1000;
        }
        long n = Long.parseLong(duration.substring(0, duration.length() - 1));
        return switch (duration.charAt(duration.length() - 1)) {
            case 's' -> n;
            case 'm' -> n * 60;
            case 'h' -> n * 3600;
            default -> throw new IllegalArgumentException(duration);
        };
    }
}
