package io.edgegate.gateway.proxy;

import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.Method;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.Set;

/**
 * A request Helidon's routing read, and its answer through Helidon's response: the proxy's client
 * side where the lean handler does not serve the connection ({@code edgegate.proxy.lean-connections:
 * false}, or a connection handed over to Helidon for an API request). Not thread-safe: owned by the
 * request's thread.
 */
final class HelidonExchange implements ClientExchange {
    private final ServerRequest req;
    private final ServerResponse res;

    HelidonExchange(ServerRequest req, ServerResponse res) {
        this.req = req;
        this.res = res;
    }

    @Override
    public Method method() {
        return req.prologue().method();
    }

    @Override
    public String rawPath() {
        return req.path().rawPath();
    }

    @Override
    public String rawQuery() {
        return req.query().rawValue();
    }

    @Override
    public String authority() {
        return req.authority();
    }

    @Override
    public String header(HeaderName name) {
        Headers headers = req.headers();
        return headers.contains(name) ? headers.get(name).get() : null;
    }

    @Override
    public boolean hasEntity() {
        return req.content().hasEntity();
    }

    @Override
    public long contentLength() {
        return req.headers().contentLength().orElse(-1);
    }

    @Override
    public InputStream body() {
        return req.content().inputStream();
    }

    @Override
    public void forwardHeaders(UpstreamConnection out, boolean dropAuthorization) {
        Headers in = req.headers();
        Set<String> named = Forwarder.connectionTokens(in);
        for (Header h : in) {
            String name = h.headerName().lowerCase();
            if (Forwarder.HOP_BY_HOP.contains(name)
                    || Forwarder.REQUEST_OWN.contains(name)
                    || name.startsWith("proxy-")
                    || named != null && named.contains(name)
                    || dropAuthorization && name.equals("authorization")) {
                continue;
            }
            String wire = h.name();
            if (h.valueCount() == 1) {
                out.header(wire, h.get());
            } else {
                for (String value : h.allValues()) {
                    out.header(wire, value);
                }
            }
        }
        String client = clientAddress(req.remotePeer().address());
        if (in.contains(Forwarder.X_FORWARDED_FOR)) {
            out.header(
                    "X-Forwarded-For",
                    String.join(", ", in.get(Forwarder.X_FORWARDED_FOR).allValues()) + ", " + client);
        } else {
            out.header("X-Forwarded-For", client);
        }
        out.header("X-Forwarded-Proto", req.isSecure() ? "https" : "http");
        String authority = req.authority();
        if (authority != null && !authority.isEmpty()) {
            out.header("X-Forwarded-Host", authority);
        }
    }

    @Override
    public boolean isSent() {
        return res.isSent();
    }

    @Override
    public int status() {
        return res.status().code();
    }

    @Override
    public void relay(UpstreamConnection c, long headLength) {
        head(c);
        if (headLength >= 0) {
            res.headers().set(HeaderValues.create(HeaderNames.CONTENT_LENGTH, headLength));
        }
        res.send();
    }

    @Override
    public void relay(UpstreamConnection c, byte[] body, int length) {
        head(c);
        res.send(length == body.length ? body : Arrays.copyOf(body, length));
    }

    @Override
    public OutputStream relayStream(UpstreamConnection c, long length) {
        head(c);
        if (length >= 0) {
            res.headers().set(HeaderValues.create(HeaderNames.CONTENT_LENGTH, length));
        }
        return res.outputStream();
    }

    private void head(UpstreamConnection c) {
        res.status(Forwarder.status(c));
        ServerResponseHeaders out = res.headers();
        Set<String> named = Forwarder.classifyResponseFields(c);
        for (int i = 0; i < c.headerCount; i++) {
            if (Forwarder.relayed(c, i, named)) {
                out.add(c.field(i));
            }
        }
    }

    @Override
    public void sendJson(int status, byte[] json, boolean retryAfter) {
        if (retryAfter) {
            res.header(HeaderNames.RETRY_AFTER, "1");
        }
        res.status(Status.create(status));
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(json);
    }

    /** The last client address a thread formatted: a server thread serves one connection, one peer. */
    private record ClientAddress(SocketAddress address, String text) {}

    private static final ThreadLocal<ClientAddress> LAST_CLIENT = new ThreadLocal<>();

    private static String clientAddress(SocketAddress address) {
        ClientAddress last = LAST_CLIENT.get();
        if (last != null && last.address == address) {
            return last.text;
        }
        String text = Forwarder.formatAddress(address);
        LAST_CLIENT.set(new ClientAddress(address, text));
        return text;
    }
}
