package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which addresses are never connected to on a registration's behalf, and how hosts are read as literals. */
class ForbiddenAddressesTest {
    @ParameterizedTest
    @ValueSource(
            strings = {
                "169.254.169.254",
                "169.254.170.2",
                "fe80::1",
                "fd00:ec2::254",
                "fd00:ec2::253",
                "fd20:ce::254",
                "100.100.100.200",
                "168.63.129.16",
                "192.0.0.192",
                "0.0.0.0",
                "0.1.2.3",
                "::",
                "224.0.0.1",
                "239.255.255.250",
                "ff02::1",
                "255.255.255.255",
                "::ffff:169.254.169.254",
                "::a9fe:a9fe",
                "64:ff9b::a9fe:a9fe",
                "[::ffff:a9fe:a9fe]"
            })
    void forbiddenAddressIsNamed(String literal) {
        assertNotNull(ForbiddenAddresses.why(ForbiddenAddresses.literal(literal)), literal);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"10.1.2.3", "127.0.0.1", "::1", "192.168.1.10", "fd00::1", "2001:db8::1", "::ffff:10.0.0.1"})
    void serviceAddressIsAllowed(String literal) {
        assertNull(ForbiddenAddresses.why(ForbiddenAddresses.literal(literal)), literal);
    }

    @Test
    void linkLocalIsSaidToBeWhereCloudMetadataAnswers() {
        assertEquals(
                "link-local (169.254.0.0/16, where cloud metadata services answer)",
                ForbiddenAddresses.why(ForbiddenAddresses.literal("169.254.169.254")));
    }

    @Test
    void shortAndNumericIpv4FormsAreReadAsTheResolverReadsThem() throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");

        assertEquals(loopback, ForbiddenAddresses.literal("127.1"));
        assertEquals(loopback, ForbiddenAddresses.literal("2130706433"));
        assertEquals(InetAddress.getByName("2130706433"), ForbiddenAddresses.literal("2130706433"));
        assertEquals(InetAddress.getByName("0177.0.0.1"), ForbiddenAddresses.literal("0177.0.0.1"));
    }

    @Test
    void hostNameIsNoLiteral() {
        assertNull(ForbiddenAddresses.literal("metadata.google.internal"));
        assertNull(ForbiddenAddresses.literal("0x7f000001"));
    }

    @Test
    void numericHostThatIsNoIpv4AddressIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ForbiddenAddresses.literal("300.1.1.1"));
        assertThrows(IllegalArgumentException.class, () -> ForbiddenAddresses.literal("1.2.3.4.5"));
    }

    @Test
    void zoneOfALinkLocalAddressIsDropped() {
        assertTrue(ForbiddenAddresses.why(ForbiddenAddresses.literal("fe80::1%eth0"))
                .startsWith("link-local"));
    }

    @Test
    void sameHostComparesAddressesNotSpellings() {
        assertTrue(ForbiddenAddresses.sameHost("[::1]", "0:0:0:0:0:0:0:1"));
        assertTrue(ForbiddenAddresses.sameHost("LLM.local", "llm.local"));
        assertTrue(!ForbiddenAddresses.sameHost("127.0.0.1", "127.0.0.2"));
    }
}
