/**
 * TLS material both services share: PEM certificates and keys as Kubernetes TLS Secrets mount
 * them ({@code tls.crt}, {@code tls.key}, a CA bundle), key and trust managers that read their
 * files again when they change, and the SSL contexts built on them.
 *
 * <p>{@link io.edgegate.tls.PemFiles} reads the files; {@link io.edgegate.tls.ReloadingKeyManager}
 * and {@link io.edgegate.tls.ReloadingTrustManager} serve what they last read successfully and
 * specify when they read again; {@link io.edgegate.tls.TlsContexts} builds server and client
 * contexts, {@link io.edgegate.tls.ListenerTls} Helidon's {@code Tls} of a listener over one;
 * {@link io.edgegate.tls.ServerTlsFiles} and {@link io.edgegate.tls.ClientTlsFiles} are the
 * validated file settings of a listener and of a client.
 */
package io.edgegate.tls;
