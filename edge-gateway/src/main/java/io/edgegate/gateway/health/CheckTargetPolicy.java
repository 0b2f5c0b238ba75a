package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.ForbiddenAddresses;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where an HTTP, TCP or gRPC check may connect: the instance's own address, or a network of
 * {@value #ALLOWED_NETWORKS_KEY}, and never a {@link ForbiddenAddresses forbidden address}
 * (link-local, cloud metadata, unspecified, multicast), whatever the allow-list says. Without
 * this rule a registration could make the gateway read any URL it can reach and hand back the
 * answer as the check's output (server-side request forgery).
 *
 * <p>Judged twice. At registration ({@link #refusal}), what needs no name lookup: an IP literal
 * target that is forbidden, or is neither the instance's address nor in an allowed network. A
 * host name cannot be judged without resolving it and is accepted there. At every connect
 * ({@link #vet}), the probe resolves the target itself, drops forbidden addresses and, unless the
 * target host is spelled as the instance's address, keeps only the instance's own addresses and
 * allowed networks; it then connects to one of those exact addresses, so a name that resolves
 * elsewhere by the time of the probe (DNS rebinding) reaches nothing. Immutable: thread-safe.
 */
public final class CheckTargetPolicy {
    /** The rule named in refusals, at registration (400) and in a probe's output. */
    public static final String RULE = "check-target";
    /** The configuration key of the allowed networks, named in refusals. */
    public static final String ALLOWED_NETWORKS_KEY = "edgegate.health.allowed-check-networks";

    private static final CheckTargetPolicy OWN_ADDRESS_ONLY = new CheckTargetPolicy(List.of());

    private final List<Network> allowed;

    private CheckTargetPolicy(List<Network> allowed) {
        this.allowed = List.copyOf(allowed);
    }

    /** Checks may target their instance's own address only (the default: no allowed networks). */
    public static CheckTargetPolicy ownAddressOnly() {
        return OWN_ADDRESS_ONLY;
    }

    /**
     * The policy of a comma-separated list of networks in CIDR notation ({@code 10.0.0.0/8,
     * fd00:1::/64}; a bare address is one host). Empty: own address only.
     *
     * @throws IllegalArgumentException naming the first bad entry and why
     */
    public static CheckTargetPolicy parse(String networks) {
        List<Network> parsed = new ArrayList<>();
        for (String entry : networks.split(",", -1)) {
            String e = entry.trim();
            if (e.isEmpty()) {
                if (networks.isBlank()) {
                    continue;
                }
                throw new IllegalArgumentException("empty entry in the list (value=" + networks + ")");
            }
            parsed.add(Network.parse(e));
        }
        return parsed.isEmpty() ? OWN_ADDRESS_ONLY : new CheckTargetPolicy(parsed);
    }

    /** The allowed networks as configured, for messages: {@code 10.0.0.0/8, fd00::/8}, or {@code none}. */
    public String allowedNetworks() {
        if (allowed.isEmpty()) {
            return "none";
        }
        StringBuilder out = new StringBuilder();
        for (Network n : allowed) {
            out.append(out.isEmpty() ? "" : ", ").append(n.text());
        }
        return out.toString();
    }

    /** What the rule allows, for the end of a refusal. */
    String allowedText() {
        return "checks may target the instance's own address, or the networks of " + ALLOWED_NETWORKS_KEY + " ("
                + allowedNetworks() + "); link-local, cloud metadata, unspecified and multicast addresses never";
    }

    /**
     * The registration-time judgment of a check on {@code targetHost} for an instance at
     * {@code instanceAddress}: why it is refused, or null when it is accepted (a host name is
     * accepted here and judged at each connect).
     */
    public String refusal(String targetHost, String instanceAddress) {
        InetAddress target;
        try {
            target = ForbiddenAddresses.literal(targetHost);
        } catch (IllegalArgumentException e) {
            return "host " + targetHost + " is not a valid IP address; " + allowedText();
        }
        if (target == null) {
            return null;
        }
        String why = ForbiddenAddresses.why(target);
        if (why != null) {
            return "host " + targetHost + " is " + why + "; " + allowedText();
        }
        InetAddress instance;
        try {
            instance = ForbiddenAddresses.literal(instanceAddress);
        } catch (IllegalArgumentException e) {
            instance = null;
        }
        if (target.equals(instance) || allowed(target)) {
            return null;
        }
        if (instance == null) {
            return null; // the instance's name may resolve to it: judged at connect time
        }
        return "host " + targetHost + " is not the instance's address (" + instanceAddress + "); " + allowedText();
    }

    /** Whether {@code address} lies in an allowed network. */
    boolean allowed(InetAddress address) {
        for (Network n : allowed) {
            if (n.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Resolves {@code host} with {@code resolver} and keeps the addresses a probe of a check on an
     * instance at {@code instanceAddress} may connect to, in the resolver's order.
     *
     * @param deadlineNanos when the probe's timeout ends ({@link System#nanoTime()})
     * @throws UnknownHostException when the name has no address
     * @throws SocketTimeoutException when resolving outlasts the deadline
     */
    Vetted vet(String host, String instanceAddress, HostResolver resolver, long deadlineNanos) throws IOException {
        String bare = ForbiddenAddresses.unbracket(host);
        InetAddress[] found = resolver.resolve(bare, remainingMillis(deadlineNanos));
        boolean own = !instanceAddress.isEmpty() && ForbiddenAddresses.sameHost(bare, instanceAddress);
        InetAddress[] instanceAddresses = null;
        List<InetAddress> usable = new ArrayList<>(found.length);
        String refusal = null;
        for (InetAddress a : found) {
            String ip = a.getHostAddress();
            String from = ip.equalsIgnoreCase(bare) ? "" : " (resolved from " + bare + ")";
            String why = ForbiddenAddresses.why(a);
            if (why != null) {
                refusal = refusal != null ? refusal : ip + from + " is " + why;
                continue;
            }
            if (own || allowed(a)) {
                usable.add(a);
                continue;
            }
            if (instanceAddresses == null) {
                instanceAddresses = instanceAddresses(instanceAddress, resolver, deadlineNanos);
            }
            if (contains(instanceAddresses, a)) {
                usable.add(a);
            } else if (refusal == null) {
                refusal = ip + from + " is neither the instance's address (" + instanceAddress + ") nor in "
                        + ALLOWED_NETWORKS_KEY + " (" + allowedNetworks() + ")";
            }
        }
        return new Vetted(List.copyOf(usable), refusal);
    }

    private static InetAddress[] instanceAddresses(String instanceAddress, HostResolver resolver, long deadlineNanos)
            throws IOException {
        if (instanceAddress == null || instanceAddress.isBlank()) {
            return new InetAddress[0]; // the JDK would read "" as the loopback address
        }
        try {
            return resolver.resolve(ForbiddenAddresses.unbracket(instanceAddress), remainingMillis(deadlineNanos));
        } catch (UnknownHostException e) {
            return new InetAddress[0];
        }
    }

    private static boolean contains(InetAddress[] addresses, InetAddress a) {
        for (InetAddress x : addresses) {
            if (x.equals(a)) {
                return true;
            }
        }
        return false;
    }

    static long remainingMillis(long deadlineNanos) throws SocketTimeoutException {
        long millis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (millis <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        return millis;
    }

    /**
     * What {@link #vet} found.
     *
     * @param addresses where the probe may connect, in the resolver's order; empty when none
     * @param refusal why the first refused address was refused, or null when none was
     */
    record Vetted(List<InetAddress> addresses, String refusal) {
        /** The critical output of a probe that found nowhere to connect. */
        String refusedOutput() {
            return "refused by " + RULE + ": " + refusal;
        }
    }

    /** One allowed network: an address and a prefix length. */
    private record Network(byte[] address, int prefix, String text) {
        static Network parse(String entry) {
            int slash = entry.indexOf('/');
            String host = slash < 0 ? entry : entry.substring(0, slash);
            InetAddress address;
            try {
                address = ForbiddenAddresses.literal(host);
            } catch (IllegalArgumentException e) {
                address = null;
            }
            if (address == null) {
                throw new IllegalArgumentException(
                        "not a network in CIDR notation such as 10.0.0.0/8 or fd00::/8 (entry=" + entry + ")");
            }
            byte[] bytes = address.getAddress();
            int bits = bytes.length * 8;
            int prefix = bits;
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(entry.substring(slash + 1));
                } catch (NumberFormatException e) {
                    prefix = -1;
                }
                if (prefix < 0 || prefix > bits) {
                    throw new IllegalArgumentException("prefix length must be 0-" + bits + " (entry=" + entry + ")");
                }
            }
            byte[] network = mask(bytes, prefix);
            if (!java.util.Arrays.equals(network, bytes)) {
                String suggestion;
                try {
                    suggestion = InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
                } catch (UnknownHostException e) {
                    suggestion = "";
                }
                throw new IllegalArgumentException(
                        "address has bits set past the prefix (entry=" + entry + "); did you mean " + suggestion + "?");
            }
            return new Network(network, prefix, entry);
        }

        boolean contains(InetAddress a) {
            byte[] b = a.getAddress();
            return b.length == address.length && java.util.Arrays.equals(mask(b, prefix), address);
        }

        private static byte[] mask(byte[] bytes, int prefix) {
            byte[] out = bytes.clone();
            for (int i = 0; i < out.length; i++) {
                int keep = Math.max(0, Math.min(8, prefix - 8 * i));
                out[i] = (byte) (out[i] & (0xFF00 >>> keep));
            }
            return out;
        }
    }
}
