package io.edgegate.tls;

import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The certificate chain and private key of a server or a client, read from two PEM files
 * ({@code tls.crt}, {@code tls.key}) and read again when they change, so that a rotated
 * certificate is presented on new connections without a restart.
 *
 * <h2>Reload behaviour</h2>
 *
 * <ul>
 *   <li>The files are read once when the manager is made; a failure then is thrown (a process
 *       must not start without its certificate).
 *   <li>After that, each handshake that asks for the certificate looks at the files if the check
 *       interval (1 s by default) has passed since the last look: a stat of each file, following
 *       symbolic links, no read. A file whose identity (inode), size or modification time
 *       changed, including a Kubernetes Secret update (the {@code ..data} symbolic link swapped to
 *       a new directory), makes it read and parse both files.
 *   <li>Both files must parse, and the key must belong to the first certificate: otherwise (a
 *       file half written, the certificate replaced before its key, a bad key) the certificate in
 *       force stays, the problem is logged once at WARNING (logger {@code io.edgegate.tls}),
 *       counted in {@link #failures()} and kept in {@link #lastError()}, and the same files are
 *       not read again until one of them changes once more.
 *   <li>A handshake in progress keeps the certificate it chose: aliases name a generation, and
 *       the key of the previous generation remains available.
 *   <li>Connections already open keep their certificate; a client that resumes a TLS session
 *       keeps the session's certificate (that is TLS), a full handshake gets the new one.
 * </ul>
 *
 * <p>Alias choice and key types are those of the JDK's {@code SunX509} key manager over the
 * material in force. Thread-safe: any handshake thread may call any method; a reload runs on the
 * handshake thread that found the change, the others go on with the material in force meanwhile.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
    private static final char[] IN_MEMORY = "edgegate".toCharArray();
    private static final String ALIAS_PREFIX = "edgegate-";

    /** The material of one generation: chain, key, and a key manager over them alone. */
    private record Material(
            PemFiles.CertifiedKey key, long generation, String alias, X509ExtendedKeyManager delegate) {}

    private final WatchedFiles<PemFiles.CertifiedKey> files;
    private volatile Material material;
    private volatile Material previousMaterial;

    private ReloadingKeyManager(Path certFile, Path keyFile, long checkIntervalMillis) {
        this.files = new WatchedFiles<>(
                "certificate and key",
                List.of(certFile, keyFile),
                contents -> PemFiles.certifiedKey(
                        certFile.toString(), contents.get(0), keyFile.toString(), contents.get(1)),
                checkIntervalMillis,
                true);
        this.material = build(files.peek());
    }

    /**
     * Reads the certificate chain and key now and watches them.
     *
     * @throws TlsMaterialException naming the file that cannot be used
     */
    public static ReloadingKeyManager load(Path certFile, Path keyFile) {
        return load(certFile, keyFile, WatchedFiles.DEFAULT_CHECK_INTERVAL_MILLIS);
    }

    /** As {@link #load(Path, Path)}, with another check interval (0: look at every handshake). */
    public static ReloadingKeyManager load(Path certFile, Path keyFile, long checkIntervalMillis) {
        return new ReloadingKeyManager(certFile, keyFile, checkIntervalMillis);
    }

    /** The leaf certificate in force, after looking at the files if the check interval has passed. */
    public X509Certificate certificate() {
        return material().key.certificate();
    }

    /** Successful reloads since start. */
    public long reloads() {
        return files.reloads();
    }

    /** Reads that failed since start (each distinct bad state once). */
    public long failures() {
        return files.failures();
    }

    /** Why the last read failed; empty when none did. */
    public String lastError() {
        return files.lastError();
    }

    // ---------------------------------------------------------------- X509ExtendedKeyManager

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return material().delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return material().delegate.chooseEngineServerAlias(keyType, issuers, engine);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return material().delegate.chooseClientAlias(keyTypes, issuers, socket);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return material().delegate.chooseEngineClientAlias(keyTypes, issuers, engine);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return material().delegate.getServerAliases(keyType, issuers);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return material().delegate.getClientAliases(keyType, issuers);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Material m = alias == null ? null : byAlias(alias);
        return m == null ? null : m.key.chain().toArray(new X509Certificate[0]);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Material m = alias == null ? null : byAlias(alias);
        return m == null ? null : m.key.key();
    }

    // ---------------------------------------------------------------- material

    /** The material in force, rebuilt when the files gave a new generation. */
    private Material material() {
        WatchedFiles.Loaded<PemFiles.CertifiedKey> loaded = files.current();
        Material m = material;
        if (m.generation == loaded.generation()) {
            return m;
        }
        return rebuild(loaded);
    }

    /** Under this object's lock (once per reload), so that the generation before stays reachable. */
    private synchronized Material rebuild(WatchedFiles.Loaded<PemFiles.CertifiedKey> loaded) {
        Material m = material;
        if (m.generation >= loaded.generation()) {
            return m; // another thread built it, or a newer one
        }
        Material next = build(loaded);
        // previous before current: a reader that finds its alias in neither would have slept
        // through two reloads, one check interval apart at least.
        previousMaterial = m;
        material = next;
        return next;
    }

    /** The material an alias handed out by {@link #material()} names: this generation's or the one before. */
    private Material byAlias(String alias) {
        Material m = material;
        if (m.alias.equals(alias)) {
            return m;
        }
        Material p = previousMaterial;
        return p != null && p.alias.equals(alias) ? p : null;
    }

    private static Material build(WatchedFiles.Loaded<PemFiles.CertifiedKey> loaded) {
        String alias = ALIAS_PREFIX + loaded.generation();
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(
                    alias,
                    loaded.value().key(),
                    IN_MEMORY,
                    loaded.value().chain().toArray(new X509Certificate[0]));
            KeyManagerFactory factory = KeyManagerFactory.getInstance("SunX509");
            factory.init(store, IN_MEMORY);
            for (KeyManager km : factory.getKeyManagers()) {
                if (km instanceof X509ExtendedKeyManager x509) {
                    return new Material(loaded.value(), loaded.generation(), alias, x509);
                }
            }
            throw new IllegalStateException("SunX509 gave no X509ExtendedKeyManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot hold the certificate of generation " + loaded.generation(), e);
        }
    }
}
