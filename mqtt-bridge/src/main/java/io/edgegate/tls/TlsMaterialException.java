package io.edgegate.tls;

/**
 * A certificate, key or CA bundle that cannot be used: unreadable, not PEM, a key that does not
 * belong to its certificate. The message names the file and why, never the file's content.
 */
public final class TlsMaterialException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TlsMaterialException(String message) {
        super(message);
    }

    public TlsMaterialException(String message, Throwable cause) {
        super(message, cause);
    }
}
