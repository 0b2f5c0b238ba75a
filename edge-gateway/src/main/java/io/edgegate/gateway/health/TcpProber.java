package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;

/**
 * TCP checks: passing when a connection to {@code host:port} opens within the timeout (it is
 * closed at once), critical with the reason otherwise. Consul's output: {@code TCP connect
 * host:port: Success}. Name resolution is not timed here; {@link Probers} bounds the whole probe.
 * Stateless: thread-safe.
 */
final class TcpProber implements Prober {
    @Override
    public ProbeResult probe(CheckSpec check) {
        String target = check.target();
        String what = "TCP connect " + target;
        int colon = target.lastIndexOf(':');
        String host = target.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = Integer.parseInt(target.substring(colon + 1));
        try (Socket socket = new Socket()) {
            socket.setSoLinger(true, 0); // abortive close: no TIME_WAIT left per probe
            socket.connect(new InetSocketAddress(host, port), (int) Math.min(check.timeoutMillis(), Integer.MAX_VALUE));
            return new ProbeResult(Health.PASSING, what + ": Success");
        } catch (SocketTimeoutException e) {
            return Probers.timedOut(what, check.timeoutMillis());
        } catch (UnknownHostException e) {
            return Probers.critical(what + ": unknown host " + host);
        } catch (IOException e) {
            return Probers.critical(what + ": " + Probers.reason(e));
        }
    }
}
