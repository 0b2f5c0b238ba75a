package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeUnit;

/**
 * TCP checks: passing when a connection to {@code host:port} opens within the timeout (it is
 * closed at once, abortively: no TIME_WAIT left per probe), critical with the reason otherwise.
 * Consul's output: {@code TCP connect host:port: Success}. The host is resolved and vetted by
 * {@link TargetSockets}; a refused target is critical without a connection. Stateless:
 * thread-safe.
 */
final class TcpProber implements Prober {
    private final TargetSockets sockets;

    TcpProber(TargetSockets sockets) {
        this.sockets = sockets;
    }

    @Override
    public ProbeResult probe(CheckSpec check, String instanceAddress) {
        String target = check.target();
        String what = "TCP connect " + target;
        int colon = target.lastIndexOf(':');
        String host = target.substring(0, colon);
        int port = Integer.parseInt(target.substring(colon + 1));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(check.timeoutMillis());
        try {
            sockets.connect(host, port, instanceAddress, deadline).close();
            return new ProbeResult(Health.PASSING, what + ": Success");
        } catch (TargetSockets.Refused e) {
            return Probers.critical(what + ": " + e.getMessage());
        } catch (SocketTimeoutException e) {
            return Probers.timedOut(what, check.timeoutMillis());
        } catch (UnknownHostException e) {
            return Probers.critical(what + ": unknown host " + host);
        } catch (IOException e) {
            return Probers.critical(what + ": " + Probers.reason(e));
        }
    }
}
