package io.edgegate.acl;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/**
 * One immutable generation of the access rules: every known token by the SHA-256 digest of its
 * secret, the rights of requests without a token, and the default policy. {@link AclStore}
 * replaces the whole object when the token file changes; readers take it through one volatile
 * read.
 *
 * <p>Secrets are never kept, logged or shown: only their digests. A presented secret is digested
 * and looked up by digest, and the match is confirmed with a constant-time comparison, so the
 * time an answer takes says nothing about how much of a secret was right.
 */
public final class Acl {
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(Acl::sha256);

    /** A token as issued: its identity and what it may do; the secret only as a digest. */
    record Token(byte[] digest, Authorizer authorizer) {}

    private final boolean enforced;
    private final Map<ByteBuffer, Token> tokens;
    private final Authorizer anonymous;

    Acl(boolean enforced, Map<ByteBuffer, Token> tokens, Authorizer anonymous) {
        this.enforced = enforced;
        this.tokens = Map.copyOf(tokens);
        this.anonymous = anonymous;
    }

    /** Whether the default policy is deny (the default); false only for {@code default-policy: allow}. */
    public boolean enforced() {
        return enforced;
    }

    /**
     * The rights of a request that presented {@code secret}; the anonymous rights for a null or
     * empty one (an empty token is no token, as Spring Cloud Consul sends it when none is set).
     *
     * @throws AclException ({@link AclException#tokenNotFound()}) for a secret nobody issued
     */
    public Authorizer authorize(String secret) {
        if (secret == null || secret.isEmpty()) {
            return anonymous;
        }
        // A kept-alive connection sends the same token with every request, on the same (virtual)
        // thread: the last one this thread resolved, under these rules, is compared in constant
        // time instead of digested again. The entry is the thread's own: no other caller's
        // secret is ever compared against it.
        LastToken last = LAST.get();
        if (last != null && last.acl == this && constantTimeEquals(last.secret, secret)) {
            return last.authorizer;
        }
        byte[] digest = digest(secret);
        Token token = tokens.get(ByteBuffer.wrap(digest));
        if (token == null || !MessageDigest.isEqual(token.digest(), digest)) {
            throw AclException.notFound();
        }
        LAST.set(new LastToken(this, secret, token.authorizer()));
        return token.authorizer();
    }

    /** The last token a thread resolved, and under which rules (a reload makes it stale). */
    private record LastToken(Acl acl, String secret, Authorizer authorizer) {}

    private static final ThreadLocal<LastToken> LAST = new ThreadLocal<>();

    /** Whether two strings are equal, in time that depends on their lengths only. */
    static boolean constantTimeEquals(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        int diff = 0;
        for (int i = 0; i < a.length(); i++) {
            diff |= a.charAt(i) ^ b.charAt(i);
        }
        return diff == 0;
    }

    /** The identities of every issued token, for listings (no secrets). */
    public List<Authorizer> tokens() {
        return tokens.values().stream()
                .map(Token::authorizer)
                .sorted(java.util.Comparator.comparing(Authorizer::accessorId))
                .toList();
    }

    public Authorizer anonymous() {
        return anonymous;
    }

    static byte[] digest(String secret) {
        MessageDigest sha = SHA_256.get();
        sha.reset();
        return sha.digest(secret.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The accessor id of a token without one in the file: a UUID-shaped value derived from the
     * secret's digest under a separate label, stable across reloads and replicas, from which the
     * secret cannot be recovered.
     */
    static String derivedAccessor(String secret) {
        byte[] d = digest("edgegate-accessor:" + secret);
        StringBuilder hex = new StringBuilder(36);
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                hex.append('-');
            }
            hex.append(Character.forDigit((d[i] >> 4) & 0xf, 16)).append(Character.forDigit(d[i] & 0xf, 16));
        }
        return hex.toString();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
