package io.edgegate.tls;

import io.helidon.common.tls.Tls;
import io.helidon.common.tls.TlsClientAuth;

/**
 * Helidon's {@link Tls} for a listener of either service, over {@link ServerTlsFiles}: Helidon's
 * handshakes use the context of {@link ServerTlsFiles#sslContext()}, whose managers read rotated
 * files again, so the listener never needs Helidon's own TLS reload. Stateless.
 */
public final class ListenerTls {
    private ListenerTls() {}

    /**
     * The TLS of a listener: the files' context and client authentication, or TLS off when
     * {@code files} is null (what Helidon does for a listener without TLS).
     *
     * @throws TlsMaterialException when a file cannot be used now
     */
    public static Tls of(ServerTlsFiles files) {
        if (files == null) {
            return Tls.builder().enabled(false).build();
        }
        return Tls.builder()
                .sslContext(files.sslContext())
                .clientAuth(
                        switch (files.clientAuth()) {
                            case NONE -> TlsClientAuth.NONE;
                            case OPTIONAL -> TlsClientAuth.OPTIONAL;
                            case REQUIRED -> TlsClientAuth.REQUIRED;
                        })
                .build();
    }
}
