package io.edgegate.gateway.health;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * Opens probe connections to vetted addresses only: resolves the target host with the node's
 * {@link HostResolver}, keeps what the {@link CheckTargetPolicy} allows for the check's instance,
 * and connects to those exact addresses in order (the next one after a refused or unreachable
 * connect) until one answers or the deadline passes. No name reaches a socket, so nothing resolves
 * it again. Every socket is set to close abortively (SO_LINGER 0): a probe's close leaves no
 * TIME_WAIT behind on the node. Immutable: thread-safe.
 */
final class TargetSockets {
    private final CheckTargetPolicy policy;
    private final HostResolver resolver;

    TargetSockets(CheckTargetPolicy policy, HostResolver resolver) {
        this.policy = policy;
        this.resolver = resolver;
    }

    /**
     * A socket connected to an allowed address of {@code host}.
     *
     * @throws Refused when no address of {@code host} may be probed (its message names the rule
     *     and the address)
     * @throws IOException when resolving or connecting fails; {@link SocketTimeoutException} past
     *     the deadline
     */
    Socket connect(String host, int port, String instanceAddress, long deadlineNanos) throws IOException {
        CheckTargetPolicy.Vetted vetted = policy.vet(host, instanceAddress, resolver, deadlineNanos);
        if (vetted.addresses().isEmpty()) {
            throw new Refused(vetted.refusedOutput());
        }
        IOException last = null;
        for (InetAddress address : vetted.addresses()) {
            Socket socket = new Socket();
            try {
                socket.setSoLinger(true, 0);
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(address, port), (int)
                        Math.min(Integer.MAX_VALUE, CheckTargetPolicy.remainingMillis(deadlineNanos)));
                return socket;
            } catch (ConnectException | NoRouteToHostException e) {
                socket.close();
                last = e;
            } catch (IOException | RuntimeException e) {
                socket.close();
                throw e;
            }
        }
        throw last;
    }

    /** A target the policy refuses: the probe is critical with this message, and nothing was sent. */
    static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message, null);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this; // control flow, not a fault
        }
    }
}
