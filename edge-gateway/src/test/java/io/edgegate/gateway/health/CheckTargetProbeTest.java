package io.edgegate.gateway.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.health.ScriptedHttpServer.Reply;
import io.edgegate.gateway.registry.Health;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The check-target rule at connect time: every probe resolves its target itself (here with a
 * scripted resolver, so that a name can change its answer between two probes as DNS rebinding
 * would), drops forbidden addresses, keeps the instance's own and the allowed networks' ones, and
 * connects to exactly that address. A refused probe is critical, names the rule and the address,
 * and its would-be target sees no connection at all.
 */
class CheckTargetProbeTest {
    private static final long TIMEOUT_MILLIS = 2_000;
    private static final InetAddress IPV4_LOOPBACK = address("127.0.0.1");
    private static final InetAddress IPV6_LOOPBACK = address("::1");

    /** Answers per name, in turn (the last one repeats); any other host goes to the system resolver. */
    private final Map<String, List<InetAddress>> answers = new ConcurrentHashMap<>();

    private final Map<String, AtomicInteger> asked = new ConcurrentHashMap<>();
    private final HostResolver resolver = (host, timeoutMillis) -> {
        List<InetAddress> turns = answers.get(host);
        if (turns == null) {
            return HostResolver.system().resolve(host, timeoutMillis);
        }
        int turn = asked.computeIfAbsent(host, h -> new AtomicInteger()).getAndIncrement();
        return new InetAddress[] {turns.get(Math.min(turn, turns.size() - 1))};
    };

    private final List<AutoCloseable> closing = new ArrayList<>();
    private Probers probers;

    @AfterEach
    void stop() throws Exception {
        if (probers != null) {
            probers.close();
        }
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private Probers probers(CheckTargetPolicy policy) {
        probers = new Probers(Probers.Options.defaults(), policy, resolver);
        return probers;
    }

    @Test
    void httpNameRebindingToAnotherAddressIsRefusedAndSendsNothing() throws IOException {
        // The same port on both loopbacks: the instance's (127.0.0.1) and another one (::1).
        ScriptedHttpServer elsewhere = new ScriptedHttpServer(IPV6_LOOPBACK, 0, line -> Reply.ok("secret"));
        closing.add(elsewhere);
        // Connection: close, so that the second probe opens a new connection and resolves again.
        ScriptedHttpServer instance = new ScriptedHttpServer(
                IPV4_LOOPBACK,
                elsewhere.port(),
                line -> new Reply("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nup", true));
        closing.add(instance);
        answers.put("rebind.test", List.of(IPV4_LOOPBACK, IPV6_LOOPBACK));
        String url = "http://rebind.test:" + instance.port() + "/health";
        Probers p = probers(CheckTargetPolicy.ownAddressOnly());

        ProbeResult first = p.probe(Checks.http(url, TIMEOUT_MILLIS), "127.0.0.1");
        ProbeResult second = p.probe(Checks.http(url, TIMEOUT_MILLIS), "127.0.0.1");

        assertEquals(Health.PASSING, first.status(), first.output());
        assertEquals(Health.CRITICAL, second.status(), second.output());
        assertEquals(
                "HTTP GET " + url + ": refused by check-target: 0:0:0:0:0:0:0:1 (resolved from rebind.test) is neither"
                        + " the instance's address (127.0.0.1) nor in edgegate.health.allowed-check-networks (none)",
                second.output());
        assertEquals(0, elsewhere.connections.get(), "the rebound address saw no connection");
        assertEquals(1, instance.requests.get());
    }

    @Test
    void tcpNameResolvingToAnotherAddressIsRefusedWithoutConnecting() throws IOException {
        AtomicInteger accepted = new AtomicInteger();
        ServerSocket elsewhere = listen(IPV6_LOOPBACK, accepted);
        answers.put("rebind.test", List.of(IPV6_LOOPBACK));
        String target = "rebind.test:" + elsewhere.getLocalPort();

        ProbeResult result =
                probers(CheckTargetPolicy.ownAddressOnly()).probe(Checks.tcp(target, TIMEOUT_MILLIS), "127.0.0.1");

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(
                result.output().startsWith("TCP connect " + target + ": refused by check-target: 0:0:0:0:0:0:0:1"),
                result.output());
        assertEquals(0, accepted.get(), "nothing connected");
    }

    @Test
    void grpcNameResolvingToCloudMetadataIsRefused() {
        answers.put("metadata.test", List.of(address("169.254.169.254")));

        ProbeResult result = probers(CheckTargetPolicy.ownAddressOnly())
                .probe(Checks.grpc("metadata.test:80", TIMEOUT_MILLIS), "metadata.test");

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(
                result.output()
                        .startsWith(
                                "gRPC check metadata.test:80: refused by check-target: 169.254.169.254 (resolved from"
                                        + " metadata.test) is link-local"),
                result.output());
    }

    @Test
    void metadataStaysRefusedInsideAnAllowedNetwork() {
        answers.put("metadata.test", List.of(address("169.254.169.254")));

        ProbeResult result = probers(CheckTargetPolicy.parse("0.0.0.0/0"))
                .probe(Checks.http("http://metadata.test/latest/meta-data/", TIMEOUT_MILLIS), "10.1.2.3");

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertTrue(result.output().contains("refused by check-target: 169.254.169.254"), result.output());
    }

    @Test
    void literalTargetOfAnotherHostIsRefusedAtProbeTime() throws IOException {
        // An instance restored from a journal written before the rule: its check is judged at each probe.
        ScriptedHttpServer server = new ScriptedHttpServer(line -> Reply.ok("{\"status\":\"secret\"}"));
        closing.add(server);
        String url = "http://127.0.0.1:" + server.port() + "/v1/status";

        ProbeResult result =
                probers(CheckTargetPolicy.ownAddressOnly()).probe(Checks.http(url, TIMEOUT_MILLIS), "10.1.2.3");

        assertEquals(Health.CRITICAL, result.status(), result.output());
        assertEquals(
                "HTTP GET " + url + ": refused by check-target: 127.0.0.1 is neither the instance's address (10.1.2.3)"
                        + " nor in edgegate.health.allowed-check-networks (none)",
                result.output());
        assertEquals(0, server.connections.get());
    }

    @Test
    void allowedNetworkLetsAProbeReachAnotherAddress() throws IOException {
        ScriptedHttpServer server = new ScriptedHttpServer(line -> Reply.ok("up"));
        closing.add(server);
        String url = "http://127.0.0.1:" + server.port() + "/health";

        ProbeResult result =
                probers(CheckTargetPolicy.parse("127.0.0.0/8")).probe(Checks.http(url, TIMEOUT_MILLIS), "10.1.2.3");

        assertEquals(Health.PASSING, result.status(), result.output());
        assertEquals(1, server.requests.get());
    }

    @Test
    void nameOfTheInstanceAddressIsProbedWhereItResolves() throws IOException {
        ScriptedHttpServer server = new ScriptedHttpServer(line -> Reply.ok("up"));
        closing.add(server);
        answers.put("llm.test", List.of(IPV4_LOOPBACK));
        String url = "http://llm.test:" + server.port() + "/health";

        ProbeResult result =
                probers(CheckTargetPolicy.ownAddressOnly()).probe(Checks.http(url, TIMEOUT_MILLIS), "llm.test");

        assertEquals(Health.PASSING, result.status(), result.output());
    }

    @Test
    void nameResolvingToTheInstancesAddressIsProbed() throws IOException {
        ScriptedHttpServer server = new ScriptedHttpServer(line -> Reply.ok("up"));
        closing.add(server);
        answers.put("health.test", List.of(IPV4_LOOPBACK));
        String url = "http://health.test:" + server.port() + "/health";

        ProbeResult result =
                probers(CheckTargetPolicy.ownAddressOnly()).probe(Checks.http(url, TIMEOUT_MILLIS), "127.0.0.1");

        assertEquals(Health.PASSING, result.status(), result.output());
        assertTrue(
                server.heads.getFirst().contains("\r\nHost: health.test:" + server.port() + "\r\n"),
                "the Host header is the URL's, not the address connected to: " + server.heads.getFirst());
    }

    private ServerSocket listen(InetAddress address, AtomicInteger accepted) throws IOException {
        ServerSocket socket = new ServerSocket(0, 50, address);
        closing.add(socket);
        Thread.ofVirtual().start(() -> {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    accepted.incrementAndGet();
                    s.close();
                } catch (IOException e) {
                    return;
                }
            }
        });
        return socket;
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
