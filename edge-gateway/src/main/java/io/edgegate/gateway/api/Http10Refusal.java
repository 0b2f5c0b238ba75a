package io.edgegate.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

/**
 * Answers an HTTP/1.0 request with a {@code 505 HTTP Version Not Supported} naming the version, then
 * closes the connection. The web server speaks HTTP/1.1 only and, left alone, closes such a
 * connection without a byte of answer: an old health checker or load tool (HTTP/1.0 by default)
 * would see an empty reply and nothing saying why.
 *
 * <p>Registered on a listener before its HTTP/1.1 protocol; it claims a connection only when the
 * first request line has arrived whole and ends in {@code HTTP/1.0}.
 */
public final class Http10Refusal implements ServerConnectionSelector {
    private static final byte[] REQUEST_LINE_END = " HTTP/1.0\r".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ANSWER;

    static {
        byte[] body;
        try {
            body = Json.MAPPER.writeValueAsBytes(
                    Json.errorBody("version", "HTTP/1.1", "HTTP/1.0 is not supported: send the request as HTTP/1.1"));
        } catch (JsonProcessingException e) {
            throw new ExceptionInInitializerError(e);
        }
        byte[] head = ("HTTP/1.1 505 HTTP Version Not Supported\r\n"
                        + "Content-Type: application/json\r\n"
                        + "Content-Length: " + body.length + "\r\n"
                        + "Connection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        ANSWER = new byte[head.length + body.length];
        System.arraycopy(head, 0, ANSWER, 0, head.length);
        System.arraycopy(body, 0, ANSWER, head.length, body.length);
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0; // the request line, however long
    }

    @Override
    public Support supports(BufferData data) {
        int lf = data.indexOf((byte) '\n');
        if (lf < REQUEST_LINE_END.length) {
            // No whole line yet (HTTP/1.1 takes the connection and answers its own errors), or one
            // too short to be a request line.
            return Support.UNSUPPORTED;
        }
        for (int i = 0; i < REQUEST_LINE_END.length; i++) {
            if (data.get(lf - REQUEST_LINE_END.length + i) != REQUEST_LINE_END[i]) {
                return Support.UNSUPPORTED;
            }
        }
        return Support.SUPPORTED;
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return Set.of();
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        return new ServerConnection() {
            @Override
            public void handle(Limit limit) {
                // What has arrived of the request is read first, so that closing does not reset the
                // connection before the client has read the answer; the rest is not waited for.
                DataReader reader = ctx.dataReader();
                reader.skip(reader.available());
                ctx.dataWriter().writeNow(BufferData.create(ANSWER));
            }

            @Override
            public Duration idleTime() {
                return Duration.ZERO;
            }

            @Override
            public void close(boolean interrupt) {
                // nothing held: handle returns at once and the server closes the socket
            }
        };
    }
}
