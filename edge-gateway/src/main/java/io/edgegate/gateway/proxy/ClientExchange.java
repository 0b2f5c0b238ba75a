package io.edgegate.gateway.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.Method;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One client request and its answer as the proxy handles them, whichever HTTP/1.1 server read the
 * request: the proxy's lean connection handler ({@link LeanExchange}, the data path) or Helidon's
 * routing ({@link HelidonExchange}). The proxy routes on the request's target and fields, forwards
 * its fields ({@link #forwardHeaders}) and body, and answers through it: an upstream's answer
 * relayed (status, the fields {@link Forwarder#relayed} keeps, body), or an answer of its own.
 *
 * <p>Not thread-safe: owned by the request's thread.
 */
interface ClientExchange extends RouteTable.Fields {
    // ---------------------------------------------------------------- the request

    Method method();

    /** The target's path as it came (percent-encoded, not normalised). */
    String rawPath();

    /**
     * {@link #rawPath} from index {@code from} on (the path a route forwards, its prefix cut). The
     * lean handler's exchange keeps the last one it made, for a client that repeats its path.
     */
    default String rawPathFrom(int from) {
        return rawPath().substring(from);
    }

    /** The target's query as it came; empty for none. */
    String rawQuery();

    /** The {@code Host} field, or null. */
    String authority();

    /** The first value of a request field, or null when the request has none. */
    @Override
    String header(HeaderName name);

    /** Whether the request has a body (a positive {@code Content-Length}, or chunked). */
    boolean hasEntity();

    /** The request's {@code Content-Length}, or -1 when the body is chunked (or absent). */
    long contentLength();

    /** The request body, decoded from its framing; read at most once. */
    InputStream body();

    /**
     * Writes the request fields to forward into an upstream request head: every field but the
     * hop-by-hop ones (RFC 9110 7.6.1, {@code Proxy-*}, those {@code Connection} names), those this
     * hop sets itself ({@link Forwarder#REQUEST_OWN}) and the gateway's own token
     * ({@code X-Consul-Token} always, {@code Authorization} when {@code dropAuthorization}); then
     * {@code X-Forwarded-For} (appended to), {@code X-Forwarded-Proto} and {@code X-Forwarded-Host}.
     */
    void forwardHeaders(UpstreamConnection out, boolean dropAuthorization);

    // ---------------------------------------------------------------- the answer

    /** Whether the answer's head has gone to the client: nothing else can be answered. */
    boolean isSent();

    /** The answer's status code: the one sent or being sent, 200 before any is set (as Helidon's). */
    int status();

    /**
     * Answers with the upstream's status and relayed fields and no body (a HEAD, 1xx, 204 or 304
     * answer).
     *
     * @param headLength the {@code Content-Length} to declare for a HEAD answer, or -1 for none
     */
    void relay(UpstreamConnection c, long headLength);

    /** Answers with the upstream's status and relayed fields and this whole body: {@code body[0, length)}. */
    void relay(UpstreamConnection c, byte[] body, int length);

    /**
     * An array of at least {@code length} bytes to read a small answer's whole body into before
     * {@link #relay(UpstreamConnection, byte[], int)}: a new one, or the lean exchange's own, reused
     * request after request (it is free again once that answer is out).
     */
    default byte[] bodyBuffer(int length) {
        return new byte[length];
    }

    /**
     * Starts an answer with the upstream's status and relayed fields whose body is written to the
     * stream returned; closing the stream ends the answer. A flush sends what was written.
     *
     * @param length the body's length, or -1 when unknown (chunked)
     */
    OutputStream relayStream(UpstreamConnection c, long length);

    /**
     * Takes a decided call to forward it later, elsewhere (an event loop forwards its own
     * connections' calls once the proxy returned), or leaves it to {@link Forwarder#forward} now.
     *
     * @return whether the call was taken: the answer is then {@link #deferred}
     */
    default boolean defer(Forwarder forwarder, Forwarder.Call call) {
        return false;
    }

    /**
     * Whether the request's answer was deferred by {@link Forwarder#forward}: to an event loop,
     * which forwards it after the proxy returned, or to the connection's own thread.
     */
    default boolean deferred() {
        return false;
    }

    /** For a {@link #deferred} answer: the route's recorder, told of the status where the answer ends. */
    default void deferRecorder(ProxyObserver.RouteRecorder recorder) {
        throw new IllegalStateException("the answer was not deferred");
    }

    /** Answers with a JSON body of the proxy's own (and {@code Retry-After: 1} when asked). */
    void sendJson(int status, byte[] json, boolean retryAfter);
}
