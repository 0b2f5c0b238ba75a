package io.edgegate.gateway.api;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Closes the connection after the answer to a request that carries {@code Connection: close}, as
 * RFC 9112 (9.6) requires of a server. The web server writes {@code Connection: close} on such an
 * answer but then waits for another request on the connection until its idle timeout; a client
 * that reads until the end of the stream would hang, and every such client would hold a socket.
 */
public final class ClientClose implements Filter {
    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        chain.proceed();
        if (res.isSent() && req.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
            // Raised after the answer is out: the server ends the connection's loop and closes it.
            throw new CloseConnectionException("the client asked for the connection to close after the answer");
        }
    }
}
