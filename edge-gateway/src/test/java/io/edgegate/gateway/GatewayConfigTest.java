package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {
    @TempDir
    Path dir;

    @Test
    void defaultsComeFromTheBundledYaml() {
        GatewayConfig config = GatewayConfig.load(Map.of(), (Path) null);
        assertEquals(8080, config.server().port());
        assertEquals(8500, config.server().consulPort());
        assertEquals(Path.of("data"), config.server().dataDir());
        assertEquals("default", config.server().site());
        assertEquals(1 << 20, config.limits().maxBodyBytes());
        assertEquals(5_000, config.registry().writeTimeoutMillis());
        assertEquals(600_000, config.blocking().maxWaitMillis());
        assertTrue(!config.server().node().isEmpty(), "node defaults to the host name");
    }

    @Test
    void documentedEnvironmentVariablesOverride() {
        GatewayConfig config = GatewayConfig.load(
                Map.of(
                        "EDGEGATE_PORT",
                        "9080",
                        "EDGEGATE_CONSUL_PORT",
                        "9500",
                        "EDGEGATE_DATA_DIR",
                        "/var/lib/edgegate",
                        "EDGEGATE_NODE",
                        "node-7",
                        "EDGEGATE_SITE",
                        "plant-a",
                        "EDGEGATE_LIMITS_MAX_BODY_BYTES",
                        "4096",
                        "EDGEGATE_REGISTRY_WRITE_TIMEOUT",
                        "750ms"),
                (Path) null);
        assertEquals(9080, config.server().port());
        assertEquals(9500, config.server().consulPort());
        assertEquals(Path.of("/var/lib/edgegate"), config.server().dataDir());
        assertEquals("node-7", config.server().node());
        assertEquals("plant-a", config.server().site());
        assertEquals(4096, config.limits().maxBodyBytes());
        assertEquals(750, config.registry().writeTimeoutMillis());
    }

    @Test
    void everyKeyHasAnEnvironmentName() {
        for (String key : GatewayConfig.KEYS) {
            assertTrue(GatewayConfig.envName(key).matches("EDGEGATE_[A-Z0-9_]+"), key);
        }
        assertEquals(
                "EDGEGATE_LIMITS_MAX_META_KEY_LENGTH", GatewayConfig.envName("edgegate.limits.max-meta-key-length"));
        for (String key : new String[] {
            "edgegate.port",
            "edgegate.mqtt.url",
            "edgegate.registry.drain-timeout",
            "edgegate.health.enable-exec-checks",
            "edgegate.sync.publish-rate"
        }) {
            assertTrue(GatewayConfig.KEYS.contains(key), "every option of the defaults file is a key: " + key);
        }
    }

    @Test
    void newerOptionsAreSetFromTheEnvironmentToo() {
        GatewayConfig config = GatewayConfig.load(
                Map.of(
                        "EDGEGATE_REGISTRY_DRAIN_TIMEOUT",
                        "2s",
                        "EDGEGATE_HEALTH_ENABLE_EXEC_CHECKS",
                        "true",
                        "EDGEGATE_MQTT_URL",
                        "tcp://127.0.0.1:1883"),
                (Path) null);
        assertEquals(2_000, config.registry().drainTimeoutMillis());
        assertTrue(config.health().probes().execEnabled());
        assertEquals("tcp://127.0.0.1:1883", config.sync().link().url());
        assertEquals(null, GatewayConfig.load(Map.of(), (Path) null).sync(), "no broker: no sync");
    }

    @Test
    void fileOverridesDefaultsAndEnvironmentOverridesFile() throws Exception {
        Path file = dir.resolve("edgegate.yaml");
        Files.writeString(file, "edgegate:\n  port: 7000\n  site: from-file\n  limits:\n    max-tags: 3\n");
        GatewayConfig config = GatewayConfig.load(Map.of("EDGEGATE_SITE", "from-env"), file);
        assertEquals(7000, config.server().port());
        assertEquals("from-env", config.server().site());
        assertEquals(3, config.limits().maxTags());
        assertEquals(8500, config.server().consulPort(), "keys the file leaves out keep their default");
    }

    @Test
    void everyBadValueIsNamedInOneMessage() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_PORT",
                                "80a",
                                "EDGEGATE_CONSUL_PORT",
                                "70000",
                                "EDGEGATE_REGISTRY_WRITE_TIMEOUT",
                                "soon",
                                "EDGEGATE_SITE",
                                "a/b",
                                "EDGEGATE_LIMITS_MAX_TAGS",
                                "-1"),
                        (Path) null));
        String message = e.getMessage();
        for (String expected : new String[] {
            "edgegate.port=80a",
            "edgegate.consul-port=70000",
            "edgegate.registry.write-timeout=soon",
            "edgegate.site=a/b",
            "edgegate.limits.max-tags=-1"
        }) {
            assertTrue(message.contains(expected), "missing " + expected + " in: " + message);
        }
    }

    @Test
    void badInferenceSettingsStopTheStartNamingTheKey() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_INFERENCE_SCRAPE_INTERVAL", "often",
                                "EDGEGATE_INFERENCE_ENABLED", "yes"),
                        (Path) null));
        assertTrue(e.getMessage().contains("edgegate.inference.scrape-interval=often"), e.getMessage());
        assertTrue(e.getMessage().contains("edgegate.inference.enabled=yes"), e.getMessage());
        GatewayConfig.ConfigException stale = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of("EDGEGATE_INFERENCE_SCRAPE_INTERVAL", "5s", "EDGEGATE_INFERENCE_SIGNAL_MAX_AGE", "1s"),
                        (Path) null));
        assertTrue(stale.getMessage().contains("edgegate.inference.signal-max-age=1000ms"), stale.getMessage());
    }

    @Test
    void badProxyAndMqttSettingsStopTheStartNamingTheKey() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_PROXY_IDLE_TIMEOUT",
                                "never",
                                "EDGEGATE_MQTT_URL",
                                "tcp://h:1",
                                "EDGEGATE_MQTT_PROTOCOL",
                                "4"),
                        (Path) null));
        assertTrue(e.getMessage().contains("edgegate.proxy"), e.getMessage());
        assertTrue(e.getMessage().contains("protocol=4"), e.getMessage());
    }

    @Test
    void reconnectBackoffHasDocumentedDefaultsAndIsSetFromTheEnvironment() {
        var link = GatewayConfig.load(Map.of("EDGEGATE_MQTT_URL", "tcp://127.0.0.1:1883"), (Path) null)
                .sync()
                .link();
        assertEquals(1_000, link.backoffInitialMillis());
        assertEquals(30_000, link.backoffMaxMillis());
        link = GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_MQTT_URL",
                                "tcp://127.0.0.1:1883",
                                "EDGEGATE_MQTT_RECONNECT_BACKOFF_INITIAL",
                                "250ms",
                                "EDGEGATE_MQTT_RECONNECT_BACKOFF_MAX",
                                "2m"),
                        (Path) null)
                .sync()
                .link();
        assertEquals(250, link.backoffInitialMillis());
        assertEquals(120_000, link.backoffMaxMillis());
    }

    @Test
    void aReconnectBackoffCapBelowItsInitialValueStopsTheStartNamingBoth() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_MQTT_RECONNECT_BACKOFF_INITIAL",
                                "5s",
                                "EDGEGATE_MQTT_RECONNECT_BACKOFF_MAX",
                                "1s"),
                        (Path) null));
        assertTrue(
                e.getMessage()
                        .contains("edgegate.mqtt.reconnect-backoff-max=1s (at least "
                                + "edgegate.mqtt.reconnect-backoff-initial=5s)"),
                e.getMessage());
        e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_MQTT_RECONNECT_BACKOFF_INITIAL", "0"), (Path) null));
        assertTrue(e.getMessage().contains("edgegate.mqtt.reconnect-backoff-initial=0"), e.getMessage());
    }

    @Test
    void unknownKeysInTheFileStopTheStartNamingEachAndTheNearestKnownOne() throws Exception {
        Path file = dir.resolve("typo.yaml");
        Files.writeString(
                file,
                "edgegate:\n  port: 7000\n  proxy:\n    retires: 3\n  registry:\n    no-such-option: x\n"
                        + "other:\n  key: 1\n");
        GatewayConfig.ConfigException e =
                assertThrows(GatewayConfig.ConfigException.class, () -> GatewayConfig.load(Map.of(), file));
        assertTrue(
                e.getMessage().contains("edgegate.proxy.retires (did you mean edgegate.proxy.retries?)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("edgegate.registry.no-such-option"), e.getMessage());
        assertTrue(e.getMessage().contains("other"), e.getMessage());
    }

    @Test
    void routesInTheFileAreNotTakenForUnknownKeys() throws Exception {
        Path file = dir.resolve("routes.yaml");
        Files.writeString(
                file,
                "edgegate:\n  proxy:\n    routes:\n      - name: web\n        match:\n          path-prefix: /web\n"
                        + "        service: web\n");
        assertEquals(8080, GatewayConfig.load(Map.of(), file).server().port());
    }

    @Test
    void unreadableFileStopsTheStart() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of("EDGEGATE_CONFIG", dir.resolve("missing.yaml").toString()), new String[0]));
        assertTrue(e.getMessage().contains("missing.yaml"), e.getMessage());
    }

    @Test
    void unknownArgumentIsRefused() {
        assertThrows(
                GatewayConfig.ConfigException.class, () -> GatewayConfig.load(Map.of(), new String[] {"--port", "1"}));
    }

    @Test
    void theProxySectionAndItsRoutesAreReadAtLoad() throws Exception {
        Path file = dir.resolve("routes.yaml");
        Files.writeString(
                file,
                "edgegate:\n  proxy:\n    retries: 1\n    routes:\n      - name: web\n        match:\n"
                        + "          path-prefix: /web\n        service: web\n");
        GatewayConfig config = GatewayConfig.load(Map.of("EDGEGATE_PROXY_LEAN_CONNECTIONS", "false"), file);
        assertEquals(1, config.proxy().retries());
        assertEquals(1, config.proxy().routes().size());
        assertEquals(false, config.listeners().leanProxyConnections());
    }

    @Test
    void anotherDataDirectoryTakesTheManagementTokenWithIt() {
        GatewayConfig config = GatewayConfig.load(Map.of(), (Path) null);
        assertEquals(
                Path.of("data", GatewayConfig.MANAGEMENT_TOKEN_FILE),
                config.acl().managementTokenFile());
        GatewayConfig moved = config.toBuilder().dataDir(dir).build();
        assertEquals(dir, moved.server().dataDir());
        assertEquals(
                dir.resolve(GatewayConfig.MANAGEMENT_TOKEN_FILE), moved.acl().managementTokenFile());
        assertEquals(config.registry(), moved.registry());
        assertEquals(config.proxy(), moved.proxy());
    }

    @Test
    void badListenerLimitsAreNamedWithTheOthers() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of(
                                "EDGEGATE_LIMITS_MAX_CONNECTIONS", "many",
                                "EDGEGATE_LIMITS_KEEP_ALIVE_TIMEOUT", "0",
                                "EDGEGATE_PROXY_LEAN_CONNECTIONS", "yes"),
                        (Path) null));
        for (String expected : new String[] {
            "edgegate.limits.max-connections=many (not an integer)",
            "edgegate.limits.keep-alive-timeout=0 (must be positive)",
            "edgegate.proxy.lean-connections=yes (true or false)"
        }) {
            assertTrue(e.getMessage().contains(expected), "missing " + expected + " in: " + e.getMessage());
        }
    }

    /**
     * The options records' code defaults (for components built without a configuration: tests,
     * benchmarks) are the documented ones in edgegate.yaml, so the two cannot drift apart.
     */
    @Test
    void codeDefaultsOfTheOptionsRecordsAreTheDocumentedOnes() {
        GatewayConfig config = GatewayConfig.load(Map.of(), (Path) null);
        assertEquals(io.edgegate.gateway.api.Limits.defaults(), config.limits());
        assertEquals(io.edgegate.gateway.registry.RegistryOptions.defaults(), config.registry());
        assertEquals(
                io.edgegate.gateway.health.Probers.Options.defaults(),
                config.health().probes());
        assertEquals(
                io.edgegate.listener.GuardOptions.defaults(), config.listeners().guard());
        assertEquals(io.edgegate.gateway.proxy.ProxyOptions.defaults(), config.proxy());
    }
}
