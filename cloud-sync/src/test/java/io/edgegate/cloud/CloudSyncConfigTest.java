package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CloudSyncConfigTest {
    @Test
    void defaultsNeedNoEnvironment() {
        CloudSyncConfig config = CloudSyncConfig.load(Map.of(), (Path) null);
        assertEquals(8600, config.port());
        assertEquals(8501, config.consulPort());
        assertEquals("tcp://127.0.0.1:1883", config.mqtt().url());
    }

    @Test
    void documentedEnvironmentVariablesOverride() {
        CloudSyncConfig config = CloudSyncConfig.load(
                Map.of(
                        "CLOUDSYNC_MQTT_URL",
                        "tcp://broker:1884",
                        "CLOUDSYNC_PORT",
                        "9600",
                        "CLOUDSYNC_CONSUL_PORT",
                        "9501"),
                (Path) null);
        assertEquals("tcp://broker:1884", config.mqtt().url());
        assertEquals(9600, config.port());
        assertEquals(9501, config.consulPort());
    }

    @Test
    void everyOptionOfTheDefaultsFileIsAKey() {
        assertTrue(CloudSyncConfig.KEYS.contains("cloudsync.port"), CloudSyncConfig.KEYS.toString());
        assertTrue(CloudSyncConfig.KEYS.contains("cloudsync.consul-port"));
        assertTrue(CloudSyncConfig.KEYS.stream()
                .allMatch(k -> CloudSyncConfig.envName(k).startsWith("CLOUDSYNC_")));
    }

    @Test
    void reconnectBackoffHasDocumentedDefaultsAndIsSetFromTheEnvironment() {
        CloudSyncConfig config = CloudSyncConfig.load(Map.of(), (Path) null);
        assertEquals(200, config.mqtt().backoffInitialMillis());
        assertEquals(5_000, config.mqtt().backoffMaxMillis());
        config = CloudSyncConfig.load(
                Map.of("CLOUDSYNC_MQTT_RECONNECT_BACKOFF_INITIAL", "1s", "CLOUDSYNC_MQTT_RECONNECT_BACKOFF_MAX", "1m"),
                (Path) null);
        assertEquals(1_000, config.mqtt().backoffInitialMillis());
        assertEquals(60_000, config.mqtt().backoffMaxMillis());
    }

    @Test
    void aReconnectBackoffCapBelowItsInitialValueStopsTheStartNamingBoth() {
        CloudSyncConfig.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                CloudSyncConfig.ConfigException.class,
                () -> CloudSyncConfig.load(
                        Map.of(
                                "CLOUDSYNC_MQTT_RECONNECT_BACKOFF_INITIAL",
                                "5s",
                                "CLOUDSYNC_MQTT_RECONNECT_BACKOFF_MAX",
                                "1s"),
                        (Path) null));
        assertTrue(
                e.getMessage()
                        .contains("cloudsync.mqtt.reconnect-backoff-max=1s (at least "
                                + "cloudsync.mqtt.reconnect-backoff-initial=5s)"),
                e.getMessage());
    }

    @Test
    void fileWithAnUnknownKeyIsRefusedNamingTheNearestKnownOne(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("cloudsync.yaml");
        java.nio.file.Files.writeString(file, "cloudsync:\n  consul-prot: 9501\n");
        CloudSyncConfig.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                CloudSyncConfig.ConfigException.class, () -> CloudSyncConfig.load(Map.of(), file));
        assertTrue(
                e.getMessage().contains("cloudsync.consul-prot (did you mean cloudsync.consul-port?)"), e.getMessage());
    }

    @Test
    void aDurationOutsideGosGrammarIsRefusedNamingTheKey() {
        CloudSyncConfig.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                CloudSyncConfig.ConfigException.class,
                () -> CloudSyncConfig.load(Map.of("CLOUDSYNC_BLOCKING_MAX_WAIT", "10"), (Path) null));
        assertTrue(e.getMessage().contains("cloudsync.blocking.max-wait=10"), e.getMessage());
    }

    @Test
    void everyBadValueIsNamedInOneMessage() {
        CloudSyncConfig.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                CloudSyncConfig.ConfigException.class,
                () -> CloudSyncConfig.load(
                        Map.of(
                                "CLOUDSYNC_PORT", "80a",
                                "CLOUDSYNC_LIMITS_MAX_CONNECTIONS", "0",
                                "CLOUDSYNC_ACL_DEFAULT_POLICY", "open",
                                "CLOUDSYNC_METRICS_ENABLED", "yes",
                                "CLOUDSYNC_MQTT_PROTOCOL", "4"),
                        (Path) null));
        for (String expected : new String[] {
            "cloudsync.port=80a (not an integer)",
            "cloudsync.limits.max-connections=0 (must be a positive integer)",
            "cloudsync.acl.default-policy=open (deny or allow)",
            "cloudsync.metrics.enabled=yes (true or false)",
            "cloudsync.mqtt: invalid mqtt protocol: protocol=4"
        }) {
            assertTrue(e.getMessage().contains(expected), "missing " + expected + " in: " + e.getMessage());
        }
    }

    @Test
    void anEmptyBrokerUrlIsRefusedNamingTheKey() {
        CloudSyncConfig.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                CloudSyncConfig.ConfigException.class,
                () -> CloudSyncConfig.load(Map.of("CLOUDSYNC_MQTT_URL", ""), (Path) null));
        assertTrue(e.getMessage().contains("cloudsync.mqtt-url= (a broker URL is needed"), e.getMessage());
    }

    @Test
    void aBuiltCopyChangesOnlyWhatItSets() {
        CloudSyncConfig config = CloudSyncConfig.load(Map.of(), (Path) null);
        CloudSyncConfig copy = config.toBuilder().ports(0, 0).build();
        assertEquals(0, copy.port());
        assertEquals(0, copy.consulPort());
        assertEquals(config.mqtt(), copy.mqtt());
        assertEquals(config.limits(), copy.limits());
        assertEquals(
                config,
                copy.toBuilder().ports(config.port(), config.consulPort()).build());
    }
}
