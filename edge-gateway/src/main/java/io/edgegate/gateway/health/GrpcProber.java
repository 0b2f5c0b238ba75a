package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.Health;
import io.edgegate.tls.TrustAnyCertificate;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * gRPC checks: one unary call of the standard health service, {@code grpc.health.v1.Health/Check},
 * without a gRPC library: the request and the answer are tiny, fixed protobuf messages, encoded
 * and decoded here, carried by an {@link Http2Exchange} (in clear text with prior knowledge, or
 * TLS with ALPN {@code h2} when {@code grpcUseTls}). Target {@code host:port} asks about the
 * server as a whole (service {@code ""}), {@code host:port/svc} about {@code svc}. SERVING is
 * passing; NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, a gRPC error status or no answer is critical.
 * A connection per probe, as Consul's agent does, to an address vetted by {@link TargetSockets}
 * and closed abortively after it (no TIME_WAIT left). Thread-safe.
 */
final class GrpcProber implements Prober {
    static final String CHECK_PATH = "/grpc.health.v1.Health/Check";

    private static final HeaderName GRPC_STATUS = HeaderNames.create("grpc-status");
    private static final HeaderName GRPC_MESSAGE = HeaderNames.create("grpc-message");
    /** grpc-timeout takes at most 8 digits. */
    private static final long MAX_GRPC_TIMEOUT_MILLIS = 99_999_999;
    /** A HealthCheckResponse is a few bytes; anything much longer is not one. */
    private static final int MAX_RESPONSE_BYTES = 5 + 1024;

    private static final String[] SERVING_STATUS = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
    private static final String[] GRPC_CODES = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED"
    };

    private final int maxOutputBytes;
    private final String userAgent;
    private final TargetSockets sockets;
    private final SSLSocketFactory trustingAll = TrustAnyCertificate.context().getSocketFactory();

    GrpcProber(int maxOutputBytes, String userAgent, TargetSockets sockets) {
        this.maxOutputBytes = maxOutputBytes;
        this.userAgent = userAgent;
        this.sockets = sockets;
    }

    /** How outputs name the check: {@code gRPC check host:port/service}. */
    static String describe(CheckSpec check) {
        return "gRPC check " + check.target();
    }

    @Override
    public ProbeResult probe(CheckSpec check, String instanceAddress) {
        String what = describe(check);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(check.timeoutMillis());
        String target = check.target();
        int slash = target.indexOf('/');
        String authority = slash < 0 ? target : target.substring(0, slash);
        String service = slash < 0 ? "" : target.substring(slash + 1);
        int colon = authority.lastIndexOf(':');
        String host = authority.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = Integer.parseInt(authority.substring(colon + 1));
        List<String[]> headers = List.of(
                new String[] {"content-type", "application/grpc"},
                new String[] {"te", "trailers"},
                new String[] {"grpc-timeout", Math.min(check.timeoutMillis(), MAX_GRPC_TIMEOUT_MILLIS) + "m"},
                new String[] {"user-agent", userAgent});
        try (Socket socket = connect(check, host, port, instanceAddress, deadline)) {
            Http2Exchange.Answer answer = Http2Exchange.post(
                    socket,
                    check.grpcUseTls() ? "https" : "http",
                    authority,
                    CHECK_PATH,
                    headers,
                    requestFrame(service),
                    MAX_RESPONSE_BYTES,
                    deadline);
            return result(what, answer);
        } catch (TargetSockets.Refused e) {
            return Probers.critical(what + ": " + e.getMessage());
        } catch (SocketTimeoutException e) {
            return Probers.timedOut(what, check.timeoutMillis());
        } catch (UnknownHostException e) {
            return Probers.critical(what + ": unknown host " + host);
        } catch (IOException | RuntimeException e) {
            return Probers.critical(what + ": " + Probers.reason(e));
        }
    }

    private ProbeResult result(String what, Http2Exchange.Answer answer) {
        int code = answer.headers().status() == null
                ? 0
                : answer.headers().status().code();
        if (code != 200) {
            return Probers.critical(what + ": HTTP status " + code + ", not a gRPC answer");
        }
        // A call that fails at once answers headers only ("trailers-only"), grpc-status among them.
        Headers trailers = answer.trailers() == null
                ? answer.headers().httpHeaders()
                : answer.trailers().httpHeaders();
        Optional<ProbeResult> failed = grpcError(what, trailers);
        if (failed.isPresent()) {
            return failed.get();
        }
        if (!trailers.contains(GRPC_STATUS)) {
            return Probers.critical(what + ": no grpc-status in the answer");
        }
        int status = servingStatus(answer.body());
        if (status < 0) {
            return Probers.critical(what + ": not a HealthCheckResponse (" + answer.body().length + " bytes)");
        }
        String name = status < SERVING_STATUS.length ? SERVING_STATUS[status] : "status " + status;
        return new ProbeResult(status == 1 ? Health.PASSING : Health.CRITICAL, what + ": " + name);
    }

    /**
     * A connected socket to a vetted address of {@code host}, TLS negotiated (ALPN h2, the
     * certificate checked against {@code host}) when the check asks for it; reads are timed by
     * the exchange.
     */
    private Socket connect(CheckSpec check, String host, int port, String instanceAddress, long deadline)
            throws IOException {
        Socket socket = sockets.connect(host, port, instanceAddress, deadline);
        try {
            if (!check.grpcUseTls()) {
                return socket;
            }
            SSLSocketFactory factory =
                    check.tlsSkipVerify() ? trustingAll : (SSLSocketFactory) SSLSocketFactory.getDefault();
            SSLSocket tls = (SSLSocket) factory.createSocket(socket, host, port, true);
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            if (!check.tlsSkipVerify()) {
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
            }
            tls.setSSLParameters(parameters);
            tls.setSoTimeout(remainingMillis(deadline));
            tls.startHandshake();
            if (!"h2".equals(tls.getApplicationProtocol())) {
                tls.close();
                throw new IOException("the server did not agree to HTTP/2 (ALPN h2) over TLS");
            }
            return tls;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static int remainingMillis(long deadline) throws SocketTimeoutException {
        long millis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (millis <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        return (int) Math.min(millis, Integer.MAX_VALUE);
    }

    /** A critical result when {@code headers} carry a grpc-status other than OK. */
    private Optional<ProbeResult> grpcError(String what, Headers headers) {
        Optional<String> code = headers.first(GRPC_STATUS);
        if (code.isEmpty() || code.get().equals("0")) {
            return Optional.empty();
        }
        String name;
        try {
            int n = Integer.parseInt(code.get());
            name = n >= 0 && n < GRPC_CODES.length ? GRPC_CODES[n] : "code " + n;
        } catch (NumberFormatException e) {
            name = "code " + code.get();
        }
        String message =
                headers.first(GRPC_MESSAGE).map(GrpcProber::percentDecode).orElse("");
        String output = what + ": grpc-status " + code.get() + " " + name + (message.isEmpty() ? "" : ": " + message);
        if (output.length() > maxOutputBytes) {
            output = output.substring(0, maxOutputBytes);
        }
        return Optional.of(Probers.critical(output));
    }

    /**
     * The length-prefixed message of {@code HealthCheckRequest{string service = 1}}: flag 0 (not
     * compressed), 4-byte big-endian length, then the field (tag 0x0A, varint length, UTF-8),
     * left out when the service is "" as protobuf does for defaults.
     */
    static byte[] requestFrame(String service) {
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        int varintBytes = name.length < 0x80 ? 1 : name.length < 0x4000 ? 2 : 3;
        int messageLength = name.length == 0 ? 0 : 1 + varintBytes + name.length;
        byte[] frame = new byte[5 + messageLength];
        frame[1] = (byte) (messageLength >>> 24);
        frame[2] = (byte) (messageLength >>> 16);
        frame[3] = (byte) (messageLength >>> 8);
        frame[4] = (byte) messageLength;
        if (messageLength > 0) {
            int at = 5;
            frame[at++] = 0x0A;
            for (int v = name.length; ; v >>>= 7) {
                if (v < 0x80) {
                    frame[at++] = (byte) v;
                    break;
                }
                frame[at++] = (byte) ((v & 0x7F) | 0x80);
            }
            System.arraycopy(name, 0, frame, at, name.length);
        }
        return frame;
    }

    /**
     * The {@code status} (field 1, varint) of the one length-prefixed {@code HealthCheckResponse}
     * in {@code body}: 0 when absent (protobuf's default, UNKNOWN); -1 when the body is not such
     * a message (short, compressed, malformed). Other fields are skipped by wire type.
     */
    static int servingStatus(byte[] body) {
        if (body.length < 5 || body[0] != 0) {
            return -1;
        }
        long length = ((body[1] & 0xFFL) << 24) | ((body[2] & 0xFF) << 16) | ((body[3] & 0xFF) << 8) | (body[4] & 0xFF);
        if (length != body.length - 5) {
            return -1;
        }
        int status = 0;
        int[] at = {5};
        while (at[0] < body.length) {
            long key = varint(body, at);
            if (key < 0) {
                return -1;
            }
            int wireType = (int) (key & 7);
            long value;
            switch (wireType) {
                case 0 -> {
                    value = varint(body, at);
                    if (value < 0) {
                        return -1;
                    }
                    if (key >>> 3 == 1) {
                        status = (int) Math.min(value, Integer.MAX_VALUE);
                    }
                }
                case 1 -> at[0] += 8;
                case 2 -> {
                    value = varint(body, at);
                    if (value < 0 || value > body.length - at[0]) {
                        return -1;
                    }
                    at[0] += (int) value;
                }
                case 5 -> at[0] += 4;
                default -> {
                    return -1;
                }
            }
        }
        return at[0] == body.length ? status : -1;
    }

    /** A varint at {@code at[0]}, advancing it; -1 when truncated or longer than 64 bits. */
    private static long varint(byte[] b, int[] at) {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at[0] >= b.length) {
                return -1;
            }
            byte next = b[at[0]++];
            value |= (long) (next & 0x7F) << shift;
            if (next >= 0) {
                return value & Long.MAX_VALUE;
            }
        }
        return -1;
    }

    /** grpc-message is percent-encoded (RFC 3986 style); anything malformed is kept as is. */
    static String percentDecode(String value) {
        if (value.indexOf('%') < 0) {
            return value;
        }
        byte[] out = new byte[value.length()];
        int n = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%' && i + 2 < value.length()) {
                int hi = Character.digit(value.charAt(i + 1), 16);
                int lo = Character.digit(value.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out[n++] = (byte) (hi << 4 | lo);
                    i += 2;
                    continue;
                }
            }
            out[n++] = c < 0x80 ? (byte) c : (byte) '?';
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }
}
