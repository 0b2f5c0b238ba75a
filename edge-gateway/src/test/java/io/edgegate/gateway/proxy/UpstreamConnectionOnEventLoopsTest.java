package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * The proxy's upstream connections as an event loop keeps them ({@code edgegate.proxy.event-loops}
 * above 0): every behaviour of {@link UpstreamConnectionTest} again (keep-alive and framing, stale
 * connections, failures, the sweep), with the requests forwarded by the loops, and the race of a
 * dropped connection for a body the loop holds whole.
 */
class UpstreamConnectionOnEventLoopsTest extends UpstreamConnectionTest {
    @Override
    ProxyOptions options() {
        return ProxyOptions.builder().eventLoops(2).build();
    }

    /**
     * A body streamed as it comes is left to the connection's own thread, whose connections are not
     * the loop's: the POST does not meet the GET's connection, and opens its own.
     */
    @Override
    int connectionsForAStreamedPostAfterAGet() {
        return 2;
    }

    @Test
    void sameRaceForAPostWhoseBodyTheLoopHoldsIsNotResent() throws Exception {
        start((r, out) -> {
            if (r.method().equals("POST")) {
                return false; // the whole body read, then the close, no answer
            }
            write(out, ok("c" + r.connection()));
            return true;
        });

        assertEquals("c1", get("/svc/svc/x").body());
        awaitIdle(1);
        HttpResponse<String> res = ProxyTesting.send(request("/svc/svc/upload")
                .POST(HttpRequest.BodyPublishers.ofString("a-body-of-known-length"))
                .build());

        assertEquals(502, res.statusCode(), res.body());
        JsonNode body = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("upstream-reset", body.get("rule").asText(), res.body());
        long posts =
                backend.requests.stream().filter(r -> r.method().equals("POST")).count();
        assertEquals(1, posts, "the client's body reached the backend once");
        assertEquals(0L, stat("upstream-stale-resends"), stats());
        assertEquals(1, backend.connections.get(), "sent on the GET's connection, not again on another");
        assertTrue(stat("lean-event-loop-connections") >= 1, stats());
    }
}
