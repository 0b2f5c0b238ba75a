package io.edgegate.gateway.registry;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Addresses the gateway never connects to on a registration's behalf, whatever the
 * configuration: neither as an instance (the proxy's upstream) nor as a health check's target.
 * They are where a node's secrets and neighbours live, not services:
 * <ul>
 *   <li>link-local: {@code 169.254.0.0/16} and {@code fe80::/10}, where the cloud metadata
 *       services answer (AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle Cloud:
 *       {@code 169.254.169.254}; AWS ECS task metadata {@code 169.254.170.2});
 *   <li>other cloud metadata endpoints: AWS's IPv6 instance services {@code fd00:ec2::/32}
 *       (IMDS {@code fd00:ec2::254}, DNS {@code ::253}, time {@code ::123}), GCP's IPv6 metadata
 *       server {@code fd20:ce::254}, Alibaba Cloud's {@code 100.100.100.200}, Azure's WireServer
 *       {@code 168.63.129.16} (it serves the VM's extension settings), Oracle Cloud Classic's
 *       {@code 192.0.0.192};
 *   <li>unspecified ({@code 0.0.0.0/8}, {@code ::}: Linux connects them to the node itself),
 *       multicast ({@code 224.0.0.0/4}, {@code ff00::/8}) and the IPv4 broadcast address.
 * </ul>
 * An IPv6 address that carries an IPv4 address (IPv4-mapped {@code ::ffff:a.b.c.d},
 * IPv4-compatible {@code ::a.b.c.d}, NAT64 {@code 64:ff9b::a.b.c.d}) is judged by that IPv4
 * address too. Stateless: thread-safe.
 */
public final class ForbiddenAddresses {
    /** The rule named when an instance's address is refused (registration 400, proxy 502). */
    public static final String RULE = "forbidden-address";

    private static final byte[] AWS_PREFIX = {(byte) 0xfd, 0x00, 0x0e, (byte) 0xc2};
    private static final byte[] GCP_METADATA_V6 = ipv6("fd20:ce::254");
    private static final byte[] NAT64_PREFIX = {0x00, 0x64, (byte) 0xff, (byte) 0x9b};

    private ForbiddenAddresses() {}

    /**
     * Why {@code address} is never connected to, for a message ({@code "link-local
     * (169.254.0.0/16, where cloud metadata services answer)"}); null when it may be.
     */
    public static String why(InetAddress address) {
        if (address instanceof Inet4Address) {
            return whyIpv4(address.getAddress());
        }
        byte[] b = address.getAddress();
        if (b.length != 16) {
            return "not an IP address";
        }
        byte[] embedded = embeddedIpv4(b);
        if (embedded != null) {
            String why = whyIpv4(embedded);
            if (why != null) {
                return why + ", carried in an IPv6 address";
            }
        }
        if (address.isAnyLocalAddress()) {
            return "unspecified (::)";
        }
        if (address.isMulticastAddress()) {
            return "multicast (ff00::/8)";
        }
        if (address.isLinkLocalAddress()) {
            return "link-local (fe80::/10)";
        }
        if (startsWith(b, AWS_PREFIX)) {
            return "a cloud metadata address (fd00:ec2::/32, AWS instance services)";
        }
        if (java.util.Arrays.equals(b, GCP_METADATA_V6)) {
            return "a cloud metadata address (GCP metadata server)";
        }
        return null;
    }

    private static String whyIpv4(byte[] a) {
        int first = a[0] & 0xFF;
        int second = a[1] & 0xFF;
        if (first == 0) {
            return "unspecified (0.0.0.0/8)";
        }
        if (first == 169 && second == 254) {
            return "link-local (169.254.0.0/16, where cloud metadata services answer)";
        }
        if (first >= 224 && first <= 239) {
            return "multicast (224.0.0.0/4)";
        }
        if (is(a, 255, 255, 255, 255)) {
            return "the broadcast address";
        }
        if (is(a, 100, 100, 100, 200)) {
            return "a cloud metadata address (Alibaba Cloud)";
        }
        if (is(a, 168, 63, 129, 16)) {
            return "a cloud metadata address (Azure WireServer)";
        }
        if (is(a, 192, 0, 0, 192)) {
            return "a cloud metadata address (Oracle Cloud Classic)";
        }
        return null;
    }

    /** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64), or null. */
    static byte[] embeddedIpv4(byte[] b) {
        boolean zeroTen = true;
        for (int i = 0; i < 10; i++) {
            zeroTen &= b[i] == 0;
        }
        boolean mapped = zeroTen && b[10] == (byte) 0xff && b[11] == (byte) 0xff;
        boolean compatible = zeroTen && b[10] == 0 && b[11] == 0 && ((b[12] | b[13]) != 0);
        boolean nat64 = startsWith(b, NAT64_PREFIX);
        for (int i = 4; nat64 && i < 12; i++) {
            nat64 = b[i] == 0;
        }
        if (!mapped && !compatible && !nat64) {
            return null;
        }
        return new byte[] {b[12], b[13], b[14], b[15]};
    }

    /**
     * The address {@code host} spells, when it is an IP literal, or null when it is a host name:
     * never resolves. IPv6 with or without brackets (a zone such as {@code %eth0} is dropped; only
     * link-local addresses have one), IPv4 in every form the JDK's resolver reads as a literal
     * ({@code 127.0.0.1}, {@code 127.1}, {@code 2130706433}), so that what is judged here is what a
     * connection would reach.
     *
     * @throws IllegalArgumentException for a host made of digits and dots that is no IPv4
     *     address ({@code 300.1.1.1}), or a malformed IPv6 literal
     */
    public static InetAddress literal(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.indexOf(':') >= 0) {
            int zone = h.indexOf('%');
            byte[] b = ipv6Bytes(zone < 0 ? h : h.substring(0, zone));
            if (b == null) {
                throw new IllegalArgumentException("not an IPv6 address: " + host);
            }
            return address(b);
        }
        if (h.isEmpty() || !digitsAndDots(h)) {
            return null;
        }
        byte[] b = ipv4Bytes(h);
        if (b == null) {
            throw new IllegalArgumentException("not an IPv4 address: " + host);
        }
        return address(b);
    }

    /** Whether two spellings of a host are the same host: equal names (any case), or the same IP. */
    public static boolean sameHost(String a, String b) {
        String x = unbracket(a);
        String y = unbracket(b);
        if (x.equalsIgnoreCase(y)) {
            return true;
        }
        try {
            InetAddress ax = literal(x);
            InetAddress ay = literal(y);
            return ax != null && ax.equals(ay);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** {@code host} without the brackets of an IPv6 literal. */
    public static String unbracket(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static InetAddress address(byte[] b) {
        try {
            // No lookup: getByAddress only wraps the bytes (an IPv4-mapped IPv6 becomes IPv4).
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private static boolean digitsAndDots(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < '0' || c > '9') && c != '.') {
                return false;
            }
        }
        return true;
    }

    /**
     * The JDK's reading of an IPv4 literal (inet_aton's decimal forms): 1-4 decimal parts, the
     * last filling the remaining bytes; null when it is none.
     */
    static byte[] ipv4Bytes(String s) {
        // Scanned in place (no split, no parse of substrings): every registration's address passes here.
        long[] values = new long[4];
        int parts = 0;
        int from = 0;
        for (int i = 0; i <= s.length(); i++) {
            if (i < s.length() && s.charAt(i) != '.') {
                continue;
            }
            if (i == from || i - from > 10 || parts == 4) {
                return null;
            }
            long value = 0;
            for (int k = from; k < i; k++) {
                char c = s.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                value = value * 10 + (c - '0');
            }
            values[parts++] = value;
            from = i + 1;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < parts - 1; i++) {
            if (values[i] > 255) {
                return null;
            }
            out[i] = (byte) values[i];
        }
        int lastBytes = 5 - parts;
        long last = values[parts - 1];
        if (last >= 1L << (8 * lastBytes)) {
            return null;
        }
        for (int i = 3; i >= parts - 1; i--) {
            out[i] = (byte) last;
            last >>>= 8;
        }
        return out;
    }

    /** An IPv6 literal's 16 bytes (with an embedded dotted IPv4 tail), or null when malformed. Never resolves. */
    static byte[] ipv6Bytes(String s) {
        if (s.isEmpty() || s.length() > 45) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
                return null;
            }
        }
        try {
            // With a ':' in it, the JDK parses the string as a literal and never looks it up.
            byte[] b = InetAddress.getByName("[" + s + "]").getAddress();
            if (b.length == 16) {
                return b;
            }
            // An IPv4-mapped literal comes back as IPv4: put the mapping back.
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(b, 0, mapped, 12, 4);
            return mapped;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static byte[] ipv6(String literal) {
        return ipv6Bytes(literal);
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        for (int i = 0; i < prefix.length; i++) {
            if (b[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean is(byte[] a, int b0, int b1, int b2, int b3) {
        return (a[0] & 0xFF) == b0 && (a[1] & 0xFF) == b1 && (a[2] & 0xFF) == b2 && (a[3] & 0xFF) == b3;
    }
}
