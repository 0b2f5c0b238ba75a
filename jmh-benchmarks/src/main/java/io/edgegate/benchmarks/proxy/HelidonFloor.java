package io.edgegate.benchmarks.proxy;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import java.nio.charset.StandardCharsets;

/**
 * The web server the gateway runs on, answering a constant body itself: no routing table, no
 * upstream, no proxying. {@code proxy-compare.sh} measures it beside the backend it stands in for,
 * so the cost of Helidon's connection handling (a virtual thread per connection, the request
 * parse, the response write) is a figure of its own. A reverse proxy on this server pays it on the
 * client side and adds its upstream side; it cannot be cheaper than this.
 *
 * <p>Same HTTP/1 settings as the gateway's listeners (no second response-header check, no
 * keep-alive header). Usage: {@code HelidonFloor PORT BODY}; prints {@code LISTENING port} once
 * started, then runs until terminated.
 */
public final class HelidonFloor {
    private HelidonFloor() {}

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: HelidonFloor PORT BODY");
            System.exit(2);
        }
        byte[] body = args[1].getBytes(StandardCharsets.UTF_8);
        Header json = HeaderValues.createCached(HeaderNames.CONTENT_TYPE, "application/json");
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(Integer.parseInt(args[0]))
                .addProtocol(Http1Config.builder()
                        .validateResponseHeaders(false)
                        .sendKeepAliveHeader(false)
                        .build())
                .routing(routing -> routing.any((req, res) -> {
                    res.header(json);
                    res.send(body);
                }))
                .build()
                .start();
        System.out.println("LISTENING " + server.port());
    }
}
