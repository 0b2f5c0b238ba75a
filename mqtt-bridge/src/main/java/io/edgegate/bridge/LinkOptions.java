package io.edgegate.bridge;

import io.edgegate.tls.ClientTlsFiles;
import java.nio.file.Path;

/**
 * How an {@link MqttLink} connects. Immutable; validated on construction with a message naming
 * the field and value.
 *
 * @param url broker URL, {@code tcp://host:port} or {@code ssl://host:port}
 * @param clientId MQTT client id, unique per broker
 * @param protocol MQTT 5, or 3.1.1 for brokers that need it
 * @param username null for none
 * @param passwordFile file holding the password (a mounted secret), read at every connect; null
 *     for none
 * @param trustStore PKCS12 or JKS trust store for {@code ssl://}; null uses the JVM's
 * @param trustStorePasswordFile file holding the trust store password; null for none
 * @param cleanStart start a fresh session on every connect. True by default: state is retained
 *     on the broker and every (re)subscribe replays it, so persistent sessions add nothing
 * @param sessionExpirySeconds MQTT 5 session expiry when {@code cleanStart} is false
 * @param keepAliveSeconds keep-alive interval; the broker detects a dead node (and publishes its
 *     will) after 1.5 times this
 * @param connectTimeoutMillis connect (and subscribe) timeout
 * @param backoffInitialMillis first reconnect delay cap; each failure doubles it
 * @param backoffMaxMillis the largest reconnect delay cap
 * @param maxInFlight QoS 1 publishes awaiting their PUBACK; more are refused ({@link
 *     MqttLink.Send#WINDOW_FULL})
 * @param tls for {@code ssl://}: a PEM CA bundle for the broker's certificate (instead of
 *     {@code trustStore}) and the client's own certificate and key for brokers that require one
 *     (mTLS); read again when they change (see {@link io.edgegate.tls.ReloadingKeyManager}); null
 *     for none
 */
public record LinkOptions(
        String url,
        String clientId,
        Protocol protocol,
        String username,
        Path passwordFile,
        Path trustStore,
        Path trustStorePasswordFile,
        boolean cleanStart,
        long sessionExpirySeconds,
        int keepAliveSeconds,
        long connectTimeoutMillis,
        long backoffInitialMillis,
        long backoffMaxMillis,
        int maxInFlight,
        ClientTlsFiles tls) {

    /** The MQTT protocol version spoken. */
    public enum Protocol {
        MQTT_5,
        MQTT_3_1_1;

        /** Parses {@code 5}, {@code 3.1.1} (or the enum names). */
        public static Protocol parse(String text) {
            return switch (text.trim()) {
                case "5", "5.0", "MQTT_5" -> MQTT_5;
                case "3.1.1", "3", "MQTT_3_1_1" -> MQTT_3_1_1;
                default ->
                    throw new IllegalArgumentException("invalid mqtt protocol: protocol=" + text + " (5 or 3.1.1)");
            };
        }
    }

    public LinkOptions {
        if (url == null || !(url.startsWith("tcp://") || url.startsWith("ssl://"))) {
            throw new IllegalArgumentException(
                    "invalid link options: url=" + url + " (tcp://host:port or ssl://host:port)");
        }
        if (clientId == null || clientId.isEmpty() || clientId.length() > 128) {
            throw new IllegalArgumentException("invalid link options: clientId=" + clientId + " (1-128 characters)");
        }
        if (protocol == null) {
            throw new IllegalArgumentException("invalid link options: protocol=null");
        }
        if (keepAliveSeconds < 1
                || connectTimeoutMillis < 100
                || backoffInitialMillis < 1
                || backoffMaxMillis < backoffInitialMillis) {
            throw new IllegalArgumentException("invalid link options: keepAliveSeconds=" + keepAliveSeconds
                    + ", connectTimeoutMillis=" + connectTimeoutMillis + ", backoffInitialMillis="
                    + backoffInitialMillis
                    + ", backoffMaxMillis=" + backoffMaxMillis);
        }
        if (maxInFlight < 1 || maxInFlight > 65_535) {
            throw new IllegalArgumentException("invalid link options: maxInFlight=" + maxInFlight + " (1-65535)");
        }
        if (tls != null && !url.startsWith("ssl://")) {
            throw new IllegalArgumentException("invalid link options: url=" + url + ", tls=" + tls
                    + " (certificate files need an ssl:// broker URL)");
        }
        if (tls != null && tls.caFile() != null && trustStore != null) {
            throw new IllegalArgumentException("invalid link options: caFile=" + tls.caFile() + ", trustStore="
                    + trustStore + " (one source of trust in the broker: a PEM CA bundle or a trust store)");
        }
    }

    /**
     * Defaults: MQTT 5, no credentials, clean start, keep-alive 10 s, connect timeout 5 s,
     * backoff 100 ms doubling to 30 s with full jitter, 16 publishes in flight.
     */
    public static LinkOptions of(String url, String clientId) {
        return new LinkOptions(
                url, clientId, Protocol.MQTT_5, null, null, null, null, true, 0, 10, 5_000, 100, 30_000, 16, null);
    }

    public LinkOptions withProtocol(Protocol p) {
        return new LinkOptions(
                url,
                clientId,
                p,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                tls);
    }

    public LinkOptions withCredentials(String user, Path passwordFileOfUser) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                user,
                passwordFileOfUser,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                tls);
    }

    public LinkOptions withTrustStore(Path store, Path storePasswordFile) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                username,
                passwordFile,
                store,
                storePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                tls);
    }

    /** With PEM files for TLS: the broker's CA bundle and this client's certificate and key. */
    public LinkOptions withTls(ClientTlsFiles files) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                files);
    }

    public LinkOptions withSession(boolean clean, long expirySeconds) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                clean,
                expirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                tls);
    }

    public LinkOptions withKeepAlive(int seconds) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                seconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                tls);
    }

    public LinkOptions withBackoff(long initialMillis, long maxMillis) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                initialMillis,
                maxMillis,
                maxInFlight,
                tls);
    }

    public LinkOptions withMaxInFlight(int n) {
        return new LinkOptions(
                url,
                clientId,
                protocol,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                n,
                tls);
    }

    public LinkOptions withClientId(String id) {
        return new LinkOptions(
                url,
                id,
                protocol,
                username,
                passwordFile,
                trustStore,
                trustStorePasswordFile,
                cleanStart,
                sessionExpirySeconds,
                keepAliveSeconds,
                connectTimeoutMillis,
                backoffInitialMillis,
                backoffMaxMillis,
                maxInFlight,
                tls);
    }
}
