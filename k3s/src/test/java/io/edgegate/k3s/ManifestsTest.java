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
    static final List<String> KUSTOMIZATIONS =
            List.of("base", "overlays/dev", "overlays/prod", "examples/inference", "mosquitto");

    @ParameterizedTest
    @ValueSource(strings = {"base", "overlays/dev", "overlays/prod", "examples/inference", "mosquitto"})
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
                "ConfigMap/edgegate/mosquitto-config",
                "Deployment/inference/llm-infer")) {
            assertTrue(ids.contains(id), "dev lacks " + id + ": " + ids);
        }
        assertEquals(1, spec(find(dev, "Deployment/edgegate/cloud-sync")).get("replicas"));
    }

    @Test
    void devNamesTheImagesByTheTagArmImagesBuildGivesThem() {
        // arm-images/build.sh tags each tarball <repo>/<image>:<Maven version> on every architecture
        // (and <version>-<arch>); an import on a node must give the name dev runs
        String version = System.getProperty("k3s.project-version");
        assertNotNull(version, "the surefire configuration passes the Maven version");
        List<Map<String, Object>> dev = Manifests.check("overlays/dev").objects();
        assertEquals(
                "edgegate/edge-gateway:" + version,
                container(find(dev, "DaemonSet/edgegate/edge-gateway"), "gateway")
                        .get("image"));
        assertEquals(
                "edgegate/cloud-sync:" + version,
                container(find(dev, "Deployment/edgegate/cloud-sync"), "cloud-sync")
                        .get("image"));
    }

    @Test
    void prodAppliesNoSecretAndPinsImagesFromItsRegistry() {
        List<Map<String, Object>> prod = Manifests.check("overlays/prod").objects();
        assertTrue(prod.stream().noneMatch(o -> "Secret".equals(K8s.kind(o))), "prod must not apply Secrets");
        assertTrue(ids(prod).stream().noneMatch(id -> id.contains("mosquitto") || id.contains("llm-infer")));
        for (Map<String, Object> o : prod) {
            for (Map<String, Object> c : K8s.containers(o)) {
                assertTrue(
                        String.valueOf(c.get("image")).startsWith("registry.example.com/"),
                        K8s.id(o) + " " + c.get("image"));
            }
            if (!"Namespace".equals(K8s.kind(o))) {
                assertEquals("edgegate", K8s.namespace(o), K8s.id(o));
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
        Map<String, Object> pod = K8s.podSpec(ds);
        String affinity = String.valueOf(pod.get("affinity"));
        assertTrue(
                affinity.contains("kubernetes.io/arch") && affinity.contains("arm64") && affinity.contains("amd64"),
                affinity);
        Map<String, Object> gw = container(ds, "gateway");
        // local pods reach it at the node's address
        List<Map<String, Object>> ports = (List<Map<String, Object>>) gw.get("ports");
        assertTrue(ports.stream().anyMatch(p -> Integer.valueOf(8080).equals(p.get("hostPort"))), "hostPort 8080");
        assertTrue(ports.stream().anyMatch(p -> Integer.valueOf(8500).equals(p.get("hostPort"))), "hostPort 8500");
        // probes on the health endpoints that need no token (the API needs one by default)
        Map<String, String> paths =
                Map.of("startupProbe", "/readyz", "readinessProbe", "/readyz", "livenessProbe", "/livez");
        paths.forEach((probe, path) -> assertEquals(
                path, ((Map<String, Object>) ((Map<String, Object>) gw.get(probe)).get("httpGet")).get("path")));
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
        Object grace = K8s.podSpec(infer).get("terminationGracePeriodSeconds");
        assertTrue(((Integer) grace) > drain, "terminationGracePeriodSeconds " + grace + " <= drain-timeout " + drain);
    }

    // --- the broker's access control ----------------------------------------------------------

    @Test
    void theBrokerRefusesAnonymousClientsOnEveryListener() {
        Map<String, Map<String, String>> listeners =
                brokerListeners(Manifests.check("mosquitto").objects());
        assertEquals(Set.of("1883", "1884"), listeners.keySet());
        listeners.forEach((port, options) -> {
            assertEquals("false", options.get("allow_anonymous"), "listener " + port);
            assertNotNull(options.get("password_file"), "listener " + port + " has no password_file");
            assertNotNull(options.get("acl_file"), "listener " + port + " has no acl_file");
        });
        // the edge listener: the username is the client id, so no node takes over another's session
        assertEquals("true", listeners.get("1883").get("use_username_as_clientid"));
        // the cloud listener: its own password file, so no node's credentials work there
        assertTrue(!listeners
                .get("1883")
                .get("password_file")
                .equals(listeners.get("1884").get("password_file")));
        assertEquals(
                listeners.get("1883").get("acl_file"), listeners.get("1884").get("acl_file"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theBrokerMountsItsPasswordAndAclFilesFromTheSecretAndRunsTheReloader() {
        List<Map<String, Object>> objects = Manifests.check("mosquitto").objects();
        Map<String, Object> deployment = find(objects, "Deployment/edgegate/mosquitto");
        Map<String, Object> broker = container(deployment, "mosquitto");
        Map<String, Object> auth =
                (Map<String, Object>) volume(deployment, "auth").get("secret");
        assertEquals("mosquitto-auth", auth.get("secretName"));
        assertTrue(isReadOnly(broker, "auth"), "the auth mount must be read-only");
        Set<String> files = new TreeSet<>();
        for (Map<String, Object> item : (List<Map<String, Object>>) auth.get("items")) {
            files.add(mountPath(broker, "auth") + "/" + item.get("path"));
        }
        Set<String> named = new TreeSet<>();
        brokerListeners(objects).values().forEach(l -> {
            named.add(l.get("password_file"));
            named.add(l.get("acl_file"));
        });
        assertEquals(files, named, "the files mosquitto.conf names are the Secret's files where it is mounted");
        // run.sh starts mosquitto with the mounted configuration and watches the mounted files
        String configMount = mountPath(broker, "config");
        assertEquals(List.of("/bin/sh", configMount + "/run.sh"), broker.get("command"));
        String run = brokerConfig(objects).get("run.sh");
        assertTrue(run.contains("${MOSQUITTO_CONF:-" + configMount + "/mosquitto.conf}"), run);
        assertTrue(run.contains("${MOSQUITTO_AUTH_DIR:-" + mountPath(broker, "auth") + "}"), run);
        for (String file : files) {
            String name = file.substring(file.lastIndexOf('/') + 1);
            assertTrue(run.contains("\"$auth/" + name + "\""), "run.sh does not watch " + name);
        }
        // both listeners are ports of the container and of the Service
        List<Map<String, Object>> ports = (List<Map<String, Object>>) broker.get("ports");
        Set<String> containerPorts = new TreeSet<>();
        ports.forEach(p -> containerPorts.add(String.valueOf(p.get("containerPort"))));
        assertEquals(brokerListeners(objects).keySet(), containerPorts);
        Set<String> servicePorts = new TreeSet<>();
        ((List<Map<String, Object>>)
                        spec(find(objects, "Service/edgegate/mosquitto")).get("ports"))
                .forEach(p -> servicePorts.add(String.valueOf(p.get("port"))));
        assertEquals(containerPorts, servicePorts);
    }

    @ParameterizedTest
    @ValueSource(strings = {"overlays/dev", "overlays/prod"})
    @SuppressWarnings("unchecked")
    void everyGatewayIsItsNodesOwnBrokerUserWithThePasswordFromItsNode(String overlay) {
        List<Map<String, Object>> objects = Manifests.check(overlay).objects();
        Map<String, Object> ds = find(objects, "DaemonSet/edgegate/edge-gateway");
        Map<String, Object> gw = container(ds, "gateway");
        // <site>/<node>: the user k3s/mosquitto/broker-auth.sh add-node SITE NODE makes
        assertEquals("$(EDGEGATE_SITE)/$(EDGEGATE_NODE)", env(gw).get("EDGEGATE_MQTT_USERNAME"));
        assertTrue(env(gw).get("EDGEGATE_SITE") instanceof String site && !site.isEmpty());
        assertEquals("spec.nodeName", fieldRef(gw, "EDGEGATE_NODE"));
        // the password file is on the node (a hostPath), read-only: no node holds another's
        String passwordFile =
                String.valueOf(((Map<String, Object>) gatewayConfig(objects).get("mqtt")).get("password-file"));
        String mount = mountPath(gw, "mqtt-credentials");
        assertEquals(mount + "/password", passwordFile);
        assertTrue(isReadOnly(gw, "mqtt-credentials"));
        assertEquals(
                "/etc/edgegate/mqtt",
                ((Map<String, Object>) volume(ds, "mqtt-credentials").get("hostPath")).get("path"));
        assertFalse(
                ((Map<String, Object>) gatewayConfig(objects).get("mqtt")).containsKey("username"),
                "the username comes from the environment, per node");
        for (Map<String, Object> o : objects) {
            if ("Secret".equals(K8s.kind(o))) {
                assertFalse(String.valueOf(o.get("stringData")).contains("mqtt-password"), K8s.id(o));
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theNodesAndCloudSyncUseTheirOwnListeners() {
        List<Map<String, Object>> dev = Manifests.check("overlays/dev").objects();
        Map<String, Map<String, String>> listeners = brokerListeners(dev);
        String gatewayUrl =
                String.valueOf(((Map<String, Object>) gatewayConfig(dev).get("mqtt")).get("url"));
        assertEquals("tcp://mosquitto.edgegate.svc.cluster.local:1883", gatewayUrl);
        assertEquals("true", listeners.get("1883").get("use_username_as_clientid"));
        Map<String, Object> cloud = cloudSyncConfig(dev);
        assertEquals("tcp://mosquitto.edgegate.svc.cluster.local:1884", cloud.get("mqtt-url"));
        assertTrue(listeners.get("1884").get("password_file").endsWith("/passwd-cloud"));
        // cloud-sync's password: the Secret broker-auth.sh makes, mounted where the config says
        Map<String, Object> mqtt = (Map<String, Object>) cloud.get("mqtt");
        assertEquals("cloud-sync", mqtt.get("username"));
        Map<String, Object> deployment = find(dev, "Deployment/edgegate/cloud-sync");
        Map<String, Object> secret =
                (Map<String, Object>) volume(deployment, "mqtt").get("secret");
        assertEquals("cloud-sync-mqtt", secret.get("secretName"));
        String path = String.valueOf(
                ((List<Map<String, Object>>) secret.get("items")).get(0).get("path"));
        assertEquals(mountPath(container(deployment, "cloud-sync"), "mqtt") + "/" + path, mqtt.get("password-file"));
    }

    /** mosquitto.conf's listeners, by port, each with its options (per_listener_settings true). */
    static Map<String, Map<String, String>> brokerListeners(List<Map<String, Object>> objects) {
        String conf = brokerConfig(objects).get("mosquitto.conf");
        Map<String, Map<String, String>> listeners = new java.util.TreeMap<>();
        Map<String, String> global = new java.util.HashMap<>();
        Map<String, String> current = global;
        for (String line : conf.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String[] words = l.split("\\s+", 2);
            if (words[0].equals("listener")) {
                current = new java.util.HashMap<>();
                listeners.put(words[1].split("\\s+")[0], current);
            } else {
                assertTrue(
                        current.put(words[0], words.length > 1 ? words[1] : "") == null || words[0].equals("log_type"),
                        "mosquitto.conf sets " + words[0] + " twice in one section");
            }
        }
        assertEquals("true", global.get("per_listener_settings"), "each listener has its own password file");
        assertFalse(conf.contains("allow_anonymous true"), conf);
        return listeners;
    }

    @SuppressWarnings("unchecked")
    static Map<String, String> brokerConfig(List<Map<String, Object>> objects) {
        return (Map<String, String>)
                find(objects, "ConfigMap/edgegate/mosquitto-config").get("data");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> cloudSyncConfig(List<Map<String, Object>> objects) {
        String text = (String) ((Map<String, Object>)
                        find(objects, "ConfigMap/edgegate/cloud-sync-config").get("data"))
                .get("cloudsync.yaml");
        return (Map<String, Object>)
                Yamls.loadAll(text, "cloudsync.yaml").get(0).get("cloudsync");
    }

    @SuppressWarnings("unchecked")
    static boolean isReadOnly(Map<String, Object> container, String volume) {
        return ((List<Map<String, Object>>) container.get("volumeMounts"))
                .stream().anyMatch(m -> volume.equals(m.get("name")) && Boolean.TRUE.equals(m.get("readOnly")));
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
        objects.forEach(o -> ids.add(K8s.id(o)));
        return ids;
    }

    static Map<String, Object> find(List<Map<String, Object>> objects, String id) {
        return objects.stream()
                .filter(o -> K8s.id(o).equals(id))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + id + " in " + ids(objects)));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> spec(Map<String, Object> o) {
        return (Map<String, Object>) o.get("spec");
    }

    static Map<String, Object> container(Map<String, Object> workload, String name) {
        return K8s.containers(workload).stream()
                .filter(c -> name.equals(c.get("name")))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> volume(Map<String, Object> workload, String name) {
        return ((List<Map<String, Object>>) K8s.podSpec(workload).get("volumes"))
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

    /**
     * The dev Secrets' token files are read by the product's own ACL code, as the services would
     * read them where they are mounted, and grant what the manifests' users need: the registrar
     * writes services, the reader reads them, an unknown token is refused.
     */
    @Test
    @SuppressWarnings("unchecked")
    void shippedTokenFilesGrantWhatTheirUsersNeed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        List<Map<String, Object>> dev = Manifests.check("overlays/dev").objects();
        for (String name : List.of("Secret/edgegate/edge-gateway-secrets", "Secret/edgegate/cloud-sync-acl")) {
            java.nio.file.Path mount = java.nio.file.Files.createDirectories(dir.resolve(name.replace('/', '_')));
            Map<String, Object> data = (Map<String, Object>) find(dev, name).get("stringData");
            for (Map.Entry<String, Object> file : data.entrySet()) {
                java.nio.file.Files.writeString(mount.resolve(file.getKey()), String.valueOf(file.getValue()));
            }
            try (io.edgegate.acl.AclStore acl = io.edgegate.acl.AclStore.open(
                    new io.edgegate.acl.AclOptions(true, mount.resolve("acl-tokens.yaml"), null, 60_000))) {
                String reader = String.valueOf(data.get("reader-token"));
                assertTrue(acl.authorize(reader).canReadService("llm-infer"), name);
                assertFalse(acl.authorize(reader).canWriteService("llm-infer"), name);
                assertTrue(
                        acl.authorize(String.valueOf(data.get("management-token")))
                                .allows(io.edgegate.acl.Right.operatorWrite()),
                        name);
                if (data.containsKey("registrar-token")) {
                    assertTrue(acl.authorize(String.valueOf(data.get("registrar-token")))
                            .canWriteService("llm-infer"));
                }
                assertFalse(acl.authorize(null).canReadService("llm-infer"), "default deny");
            }
        }
        // the gateway reads the file where the Secret is mounted
        String config = String.valueOf(((Map<String, Object>)
                        find(dev, "ConfigMap/edgegate/edge-gateway-config").get("data"))
                .get("edgegate.yaml"));
        assertTrue(config.contains("tokens-file: /etc/edgegate/secrets/acl-tokens.yaml"), config);
        assertEquals(
                "/etc/edgegate/secrets", mountPath(find(dev, "DaemonSet/edgegate/edge-gateway"), "gateway", "secrets"));
        assertEquals(
                "/etc/cloud-sync/acl", mountPath(find(dev, "Deployment/edgegate/cloud-sync"), "cloud-sync", "acl"));
        // the registrar of the example presents the gateway's registrar token
        assertEquals(
                ((Map<String, Object>) find(dev, "Secret/edgegate/edge-gateway-secrets")
                                .get("stringData"))
                        .get("registrar-token"),
                ((Map<String, Object>)
                                find(dev, "Secret/inference/edgegate-registrar").get("stringData"))
                        .get("token"));
    }

    @SuppressWarnings("unchecked")
    private static String mountPath(Map<String, Object> workload, String container, String volume) {
        List<Map<String, Object>> mounts =
                (List<Map<String, Object>>) container(workload, container).get("volumeMounts");
        return mounts.stream()
                .filter(m -> volume.equals(m.get("name")))
                .map(m -> String.valueOf(m.get("mountPath")))
                .findFirst()
                .orElse(null);
    }
}
