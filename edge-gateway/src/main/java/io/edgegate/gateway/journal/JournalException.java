package io.edgegate.gateway.journal;

/**
 * A journal operation failed on I/O or found its files corrupt. {@link #usable()} carries the
 * decision the caller needs: whether the same {@link Journal} may be used again, or must be
 * closed and reopened (which re-reads the files and cuts any torn tail).
 *
 * <p>A usable failure of {@link Journal#force()} means the batch is not durable and never will
 * be. A failure that is not usable leaves the batch's outcome unknown: some of its records may
 * come back at recovery, so report it to clients as "unknown", not as "not written".
 */
public final class JournalException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final boolean usable;

    JournalException(String message, boolean usable, Throwable cause) {
        super(message, cause);
        this.usable = usable;
    }

    /**
     * Whether the journal still works after this failure: {@code true} when nothing durable
     * changed (e.g. a batch refused on a full disk was dropped and cut back), {@code false} when
     * the journal is broken, or was never opened, and must be reopened.
     */
    public boolean usable() {
        return usable;
    }
}
