package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The health-check keys: where checks may connect and how much of an answer they keep; and the
 * advertise address, which instances registered without an address take.
 */
class HealthConfigTest {
    @Test
    void checksTargetTheirOwnAddressOnlyAndKeep512BytesByDefault() {
        GatewayConfig config = GatewayConfig.load(Map.of(), (Path) null);

        assertEquals("none", config.health().checkTargets().allowedNetworks());
        assertEquals(512, config.health().probes().maxOutputBytes());
    }

    @Test
    void allowedCheckNetworksAreReadFromTheEnvironment() {
        GatewayConfig config = GatewayConfig.load(
                Map.of("EDGEGATE_HEALTH_ALLOWED_CHECK_NETWORKS", " 10.0.0.0/8 , fd00:1::/64,192.168.1.7"), (Path) null);

        assertEquals(
                "10.0.0.0/8, fd00:1::/64, 192.168.1.7",
                config.health().checkTargets().allowedNetworks());
    }

    @Test
    void badAllowedCheckNetworkStopsTheStartNamingTheEntry() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(
                        Map.of("EDGEGATE_HEALTH_ALLOWED_CHECK_NETWORKS", "10.0.0.0/8, 10.1.0.0/33"), (Path) null));

        assertTrue(e.getMessage().contains("edgegate.health.allowed-check-networks="), e.getMessage());
        assertTrue(e.getMessage().contains("prefix length must be 0-32 (entry=10.1.0.0/33)"), e.getMessage());
    }

    @Test
    void allowedCheckNetworkThatIsNoAddressStopsTheStart() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_HEALTH_ALLOWED_CHECK_NETWORKS", "intranet/8"), (Path) null));

        assertTrue(e.getMessage().contains("(entry=intranet/8)"), e.getMessage());
    }

    @Test
    void allowedCheckNetworkWithHostBitsSetNamesTheNetworkMeant() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_HEALTH_ALLOWED_CHECK_NETWORKS", "10.1.2.3/8"), (Path) null));

        assertTrue(e.getMessage().contains("did you mean 10.0.0.0/8?"), e.getMessage());
    }

    @Test
    void linkLocalAdvertiseAddressStopsTheStart() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_ADVERTISE_ADDRESS", "169.254.1.1"), (Path) null));

        assertTrue(e.getMessage().contains("edgegate.advertise-address=169.254.1.1 (link-local"), e.getMessage());
    }

    @Test
    void maxOutputBytesIsReadFromTheEnvironment() {
        GatewayConfig config = GatewayConfig.load(Map.of("EDGEGATE_HEALTH_MAX_OUTPUT_BYTES", "100"), (Path) null);

        assertEquals(100, config.health().probes().maxOutputBytes());
    }

    @Test
    void maxOutputBytesOutOfRangeStopsTheStart() {
        GatewayConfig.ConfigException e = assertThrows(
                GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(Map.of("EDGEGATE_HEALTH_MAX_OUTPUT_BYTES", "0"), (Path) null));

        assertTrue(e.getMessage().contains("edgegate.health.max-output-bytes=0 (1-1048576)"), e.getMessage());
    }
}
