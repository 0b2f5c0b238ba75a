package io.edgegate.bridge;

import io.edgegate.config.ConfigReader;
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
        return builder(url, clientId).build();
    }

    /** A builder starting from the defaults of {@link #of}. */
    public static Builder builder(String url, String clientId) {
        return new Builder(new LinkOptions(
                url, clientId, Protocol.MQTT_5, null, null, null, null, true, 0, 10, 5_000, 100, 30_000, 16, null));
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * The broker link of a service's configuration: {@code mqtt.protocol}, {@code mqtt.username}
     * and {@code mqtt.password-file}, {@code mqtt.trust-store} and its password file, the PEM files
     * {@code mqtt.ca-file}, {@code mqtt.cert-file}, {@code mqtt.key-file}, and the reconnect
     * backoff {@code mqtt.reconnect-backoff-initial} (at most {@code mqtt.reconnect-backoff-max}).
     * Problems are collected by {@code r}; null after one, and null for an empty {@code url} (no
     * broker: the backoff keys are checked all the same).
     */
    public static Builder read(ConfigReader r, String url, String clientId) {
        long backoffInitial = r.duration("mqtt.reconnect-backoff-initial");
        long backoffMax = r.duration("mqtt.reconnect-backoff-max");
        if (backoffMax < backoffInitial) {
            r.problem(r.key("mqtt.reconnect-backoff-max") + "=" + r.text("mqtt.reconnect-backoff-max") + " (at least "
                    + r.key("mqtt.reconnect-backoff-initial") + "=" + r.text("mqtt.reconnect-backoff-initial") + ")");
            backoffMax = backoffInitial;
        }
        String user = r.text("mqtt.username");
        Path passwordFile = r.path("mqtt.password-file");
        Path trustStore = r.path("mqtt.trust-store");
        Path trustStorePasswordFile = r.path("mqtt.trust-store-password-file");
        if (url.isEmpty()) {
            return null;
        }
        long initial = backoffInitial;
        long max = backoffMax;
        return r.section(r.key("mqtt") + ": ", () -> {
            Builder b = builder(url, clientId)
                    .protocol(Protocol.parse(r.text("mqtt.protocol")))
                    .backoff(initial, max)
                    .tls(ClientTlsFiles.parse(
                            r.key("mqtt."), r.text("mqtt.ca-file"), r.text("mqtt.cert-file"), r.text("mqtt.key-file")));
            if (!user.isEmpty() || passwordFile != null) {
                b.credentials(user.isEmpty() ? null : user, passwordFile);
            }
            if (trustStore != null) {
                b.trustStore(trustStore, trustStorePasswordFile);
            }
            b.build(); // every field checked now, named by the section
            return b;
        });
    }

    /** Builds {@link LinkOptions}, checked when built. Not thread-safe. */
    public static final class Builder {
        private String url;
        private String clientId;
        private Protocol protocol;
        private String username;
        private Path passwordFile;
        private Path trustStore;
        private Path trustStorePasswordFile;
        private boolean cleanStart;
        private long sessionExpirySeconds;
        private int keepAliveSeconds;
        private long connectTimeoutMillis;
        private long backoffInitialMillis;
        private long backoffMaxMillis;
        private int maxInFlight;
        private ClientTlsFiles tls;

        private Builder(LinkOptions o) {
            url = o.url;
            clientId = o.clientId;
            protocol = o.protocol;
            username = o.username;
            passwordFile = o.passwordFile;
            trustStore = o.trustStore;
            trustStorePasswordFile = o.trustStorePasswordFile;
            cleanStart = o.cleanStart;
            sessionExpirySeconds = o.sessionExpirySeconds;
            keepAliveSeconds = o.keepAliveSeconds;
            connectTimeoutMillis = o.connectTimeoutMillis;
            backoffInitialMillis = o.backoffInitialMillis;
            backoffMaxMillis = o.backoffMaxMillis;
            maxInFlight = o.maxInFlight;
            tls = o.tls;
        }

        public Builder url(String value) {
            url = value;
            return this;
        }

        public Builder clientId(String value) {
            clientId = value;
            return this;
        }

        public Builder protocol(Protocol value) {
            protocol = value;
            return this;
        }

        /** A user and the file holding its password. */
        public Builder credentials(String user, Path passwordFileOfUser) {
            username = user;
            passwordFile = passwordFileOfUser;
            return this;
        }

        public Builder trustStore(Path store, Path storePasswordFile) {
            trustStore = store;
            trustStorePasswordFile = storePasswordFile;
            return this;
        }

        /** PEM files for TLS: the broker's CA bundle and this client's certificate and key; null for none. */
        public Builder tls(ClientTlsFiles files) {
            tls = files;
            return this;
        }

        public Builder session(boolean clean, long expirySeconds) {
            cleanStart = clean;
            sessionExpirySeconds = expirySeconds;
            return this;
        }

        public Builder keepAliveSeconds(int seconds) {
            keepAliveSeconds = seconds;
            return this;
        }

        public Builder connectTimeoutMillis(long millis) {
            connectTimeoutMillis = millis;
            return this;
        }

        public Builder backoff(long initialMillis, long maxMillis) {
            backoffInitialMillis = initialMillis;
            backoffMaxMillis = maxMillis;
            return this;
        }

        public Builder maxInFlight(int n) {
            maxInFlight = n;
            return this;
        }

        /** @throws IllegalArgumentException naming the field and value that are out of range */
        public LinkOptions build() {
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
                    tls);
        }
    }
}
